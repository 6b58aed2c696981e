"""Reads the config: one YAML file, `${ENV}` interpolation, defaults, env-only mode.

Every key is documented in `config.example.yaml` at the repository root. Resolution order for the
file and the data directory: command-line flag, then `AIGATEWAY_CONFIG` / `AIGATEWAY_DATA_DIR`,
then defaults (no file; `./data`). Without a file, each known provider whose standard key
variable is set (`ANTHROPIC_API_KEY`, ...) is enabled with its public base URL.

Each `providers:` block is checked against its kind's descriptor (providers/registry.py): its
own fields, how it authenticates, what its fields cannot say alone. Errors are `ConfigError`s
whose lines read `FILE:LINE: path.to.key: what is wrong`, and never echo a value.
`AIGATEWAY_DATABASE_URL`, `AIGATEWAY_REDIS_URL` and `AIGATEWAY_ADMIN_KEY`, when set, take the place
of `database_url`, `redis_url` and `admin_key` from the file (secrets can stay out of it).
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from aigateway.errors import InvalidRequest
from aigateway.providers.descriptor import Descriptor
from aigateway.providers.registry import DESCRIPTORS
from aigateway.routing.options import parse_options
from aigateway.settings import ProviderConfig, Settings

_ENV_OVERRIDES = {
    "database_url": "AIGATEWAY_DATABASE_URL",
    "redis_url": "AIGATEWAY_REDIS_URL",
    "admin_key": "AIGATEWAY_ADMIN_KEY",
}
_ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")
_NAME = re.compile(r"[a-z][a-z0-9_]*")
Lines = dict[tuple[Any, ...], int]


class ConfigError(Exception):
    """A config that cannot be used; `problems` are human-readable lines."""

    def __init__(self, problems: list[str]):
        super().__init__("\n".join(problems))
        self.problems = problems


def resolve_paths(config: str | None, data_dir: str | None) -> tuple[Path | None, Path]:
    cfg = config or os.environ.get("AIGATEWAY_CONFIG") or None
    data = data_dir or os.environ.get("AIGATEWAY_DATA_DIR") or "data"
    return (Path(cfg) if cfg else None), Path(data)


def load_settings(config: Path | None, data_dir: Path, env: Mapping[str, str] | None = None) -> Settings:
    env = os.environ if env is None else env
    if config is None:
        raw = _from_env(env)
        lines: Lines = {}
        label = "(environment)"
    else:
        try:
            text = config.read_text(encoding="utf-8")
        except OSError as exc:
            raise ConfigError([f"{config}: cannot read: {exc.strerror}"]) from None
        raw, lines = _parse_yaml(text, str(config))
        raw = _interpolate(raw, (), env, lines, str(config))
        label = str(config)
    if not isinstance(raw, dict):
        raise ConfigError([f"{label}:1: the top level must be a mapping"])
    if "data_dir" in raw:
        raise ConfigError([f"{label}:{lines.get(('data_dir',), 1)}: data_dir: set it with --data-dir"])
    for name, var in _ENV_OVERRIDES.items():
        if env.get(var):
            raw[name] = env[var]
    problems: list[str] = []
    if isinstance(raw.get("providers"), dict):
        raw["providers"] = _providers(raw["providers"], lines, label, problems)
    try:
        settings = Settings.model_validate({**raw, "data_dir": data_dir})
    except ValidationError as exc:
        raise ConfigError(problems + [_describe(err, lines, label) for err in exc.errors()]) from None
    problems += [f"{label}:{lines.get(path, 1)}: {problem}" for path, problem in _routing_problems(settings)]
    if problems:
        raise ConfigError(problems)
    return settings


def _providers(blocks: dict[str, Any], lines: Lines, label: str, problems: list[str]) -> dict[str, ProviderConfig]:
    """Each block validated by its kind's descriptor, with the kind's public URL as default."""
    out: dict[str, ProviderConfig] = {}
    for name, block in blocks.items():
        where = f"{label}:{lines.get(('providers', name), 1)}: providers.{name}"
        fields = block if isinstance(block, dict) else {}
        kind = fields.get("type") or name
        descriptor = DESCRIPTORS.get(kind) if isinstance(kind, str) else None
        if not isinstance(name, str) or not _NAME.fullmatch(name):
            problems.append(f"{where}: a provider name must be lower snake case (it is the prefix of model ids)")
        elif descriptor is None:
            known = ", ".join(sorted(DESCRIPTORS))
            problems.append(f"{where}: unknown provider type {kind!r} (known: {known}); set `type:` to one of them")
        elif not isinstance(block, dict):
            problems.append(f"{where}: must be a mapping")
        else:
            try:
                config = descriptor.config.model_validate(block)
            except ValidationError as exc:
                for err in exc.errors():
                    err["loc"] = ("providers", name, *err["loc"])
                    problems.append(_describe(err, lines, label))
                continue
            problems += [f"{where}: {problem}" for problem in _problems(descriptor, config)]
            out[name] = config if config.base_url else config.model_copy(update={"base_url": descriptor.base_url})
    return out


def _problems(descriptor: Descriptor, config: ProviderConfig) -> list[str]:
    problems = []
    if config.api_key is None and not config.api_keys and descriptor.auth == "key":
        problems.append("api_key: Field required")
    if config.api_key is not None and config.api_keys:
        problems.append("set api_key or api_keys, not both")
    return problems + descriptor.checks(config)


def _routing_problems(settings: Settings) -> list[tuple[tuple[Any, ...], str]]:
    """Routing defaults use the request's `providerOptions.gateway` vocabulary, checked the same way."""
    routing = settings.routing
    tables: list[tuple[tuple[str, ...], dict[str, Any]]] = [(("routing", "defaults"), routing.defaults)]
    tables += [(("routing", "models", m), v) for m, v in routing.models.items()]
    tables += [(("routing", "keys", k), v) for k, v in routing.keys.items()]
    problems = []
    for path, value in tables:
        try:
            parse_options(value, ".".join(path))
        except InvalidRequest as exc:
            problems.append((path, exc.message))
    return problems


def _from_env(env: Mapping[str, str]) -> dict[str, Any]:
    providers = {}
    for kind, descriptor in DESCRIPTORS.items():
        if descriptor.key_env and env.get(descriptor.key_env):
            providers[kind] = {"base_url": descriptor.base_url, "api_key": env[descriptor.key_env]}
    return {"providers": providers}


def _parse_yaml(text: str, label: str) -> tuple[Any, dict[tuple[Any, ...], int]]:
    try:
        loader = yaml.SafeLoader(text)
        try:
            node = loader.get_single_node()
            data = loader.construct_document(node) if node is not None else {}
        finally:
            loader.dispose()
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{label}:{mark.line + 1}" if mark else label
        raise ConfigError([f"{where}: not valid YAML: {getattr(exc, 'problem', exc)}"]) from None
    lines: dict[tuple[Any, ...], int] = {}
    if node is not None:
        _index_lines(node, (), lines)
    return data, lines


def _index_lines(node: yaml.Node, path: tuple[Any, ...], lines: dict[tuple[Any, ...], int]) -> None:
    lines[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            child = (*path, key.value)
            _index_lines(value, child, lines)
            lines[child] = key.start_mark.line + 1
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _index_lines(item, (*path, i), lines)


def _interpolate(
    value: Any, path: tuple[Any, ...], env: Mapping[str, str], lines: dict[tuple[Any, ...], int], label: str
) -> Any:
    if isinstance(value, str):

        def sub(m: re.Match[str]) -> str:
            name, default = m.group(1), m.group(2)
            if name in env and env[name] != "":
                return env[name]
            if default is not None:
                return default
            line = lines.get(path, 1)
            dotted = ".".join(str(p) for p in path)
            raise ConfigError([f"{label}:{line}: {dotted}: environment variable {name} is not set"])

        return _ENV_REF.sub(sub, value)
    if isinstance(value, dict):
        return {k: _interpolate(v, (*path, k), env, lines, label) for k, v in value.items()}
    if isinstance(value, list):
        return [_interpolate(v, (*path, i), env, lines, label) for i, v in enumerate(value)]
    return value


def _describe(err: Any, lines: dict[tuple[Any, ...], int], label: str) -> str:
    loc = tuple(p for p in err["loc"] if not (isinstance(p, str) and p.startswith("function-")))
    line = 1
    for n in range(len(loc), -1, -1):
        if loc[:n] in lines:
            line = lines[loc[:n]]
            break
    dotted = ".".join(str(p) for p in loc) or "(top level)"
    msg = err["msg"].removeprefix("Value error, ")
    if err["type"] == "extra_forbidden":
        msg = "unknown key"
    # Never echo values: they may be secrets.
    return f"{label}:{line}: {dotted}: {msg}"
