"""Config loading: YAML, ${ENV} interpolation, env-only mode, errors with their line."""

from __future__ import annotations

from pathlib import Path

import pytest

from aigateway.config import ConfigError, load_settings, resolve_paths

GOOD = """\
server:
  port: 9000
providers:
  anthropic:
    base_url: ${BASE:-https://api.anthropic.com}/
    api_key: ${MY_KEY}
  eu:
    type: anthropic
    base_url: https://eu.example.test
    api_key: literal-key
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.yaml"
    path.write_text(text)
    return path


def test_interpolation_and_defaults(tmp_path):
    s = load_settings(write(tmp_path, GOOD), tmp_path / "d", env={"MY_KEY": "sk-1"})
    assert s.server.port == 9000
    assert s.providers["anthropic"].base_url == "https://api.anthropic.com"
    assert s.providers["anthropic"].api_key == "sk-1"
    assert s.provider_kind("eu") == "anthropic"
    assert s.sqlalchemy_url.endswith(str(tmp_path / "d" / "aigateway.db"))


def test_missing_variable_names_it_and_the_line(tmp_path):
    with pytest.raises(ConfigError) as info:
        load_settings(write(tmp_path, GOOD), tmp_path, env={})
    assert info.value.problems == [
        f"{tmp_path / 'config.yaml'}:6: providers.anthropic.api_key: environment variable MY_KEY is not set"
    ]


@pytest.mark.parametrize(
    ("text", "line", "what"),
    [
        ("server:\n  port: 99999\n", 2, "server.port: Input should be less than or equal to 65535"),
        ("server:\n  prot: 1\n", 2, "server.prot: unknown key"),
        ("providers:\n  anthropic:\n    base_url: http://x\n", 2, "providers.anthropic: api_key: Field required"),
        (
            "providers:\n  anthropic:\n    base_url: ftp://x\n    api_key: k\n",
            3,
            "providers.anthropic.base_url: must start with http:// or https://",
        ),
        ("providers:\n  mystery:\n    base_url: http://x\n    api_key: k\n", 2, "providers.mystery: unknown provider"),
        (
            "providers:\n  anthropic: {base_url: http://x, api_key: k}\n  Bad-Name:\n    type: anthropic\n"
            "    base_url: http://x\n    api_key: k\n",
            3,
            "providers.Bad-Name: a provider name must be lower snake case",
        ),
        ("1: 2\n", 1, "Keys should be strings"),
        ("server: [1, 2\n", 2, "not valid YAML"),
        ("- 1\n", 1, "the top level must be a mapping"),
    ],
)
def test_errors_point_at_the_line(tmp_path, text, line, what):
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load_settings(path, tmp_path, env={})
    (problem,) = info.value.problems
    assert problem.startswith(f"{path}:{line}:"), problem
    assert what in problem


def test_secrets_are_not_echoed_in_errors(tmp_path):
    path = write(tmp_path, "providers:\n  anthropic:\n    base_url: nope\n    api_key: sk-ant-very-secret\n")
    with pytest.raises(ConfigError) as info:
        load_settings(path, tmp_path, env={})
    assert "sk-ant-very-secret" not in str(info.value)


def test_env_only_mode_enables_providers_from_standard_variables(tmp_path):
    s = load_settings(None, tmp_path, env={"ANTHROPIC_API_KEY": "sk-2"})
    assert s.providers["anthropic"].base_url == "https://api.anthropic.com"
    assert s.providers["anthropic"].api_key == "sk-2"
    assert load_settings(None, tmp_path, env={}).providers == {}


def test_env_only_mode_enables_the_openai_family(tmp_path):
    s = load_settings(None, tmp_path, env={"OPENAI_API_KEY": "sk-o", "DEEPSEEK_API_KEY": "sk-d"})
    assert s.providers["openai"].base_url == "https://api.openai.com/v1"
    assert s.providers["deepseek"].api_key == "sk-d"
    assert set(s.providers) == {"openai", "deepseek"}


def test_compatible_kinds_default_their_url_and_local_ones_need_no_key(tmp_path):
    text = (
        "providers:\n  groq:\n    api_key: k\n  ollama: {}\n  mine:\n    type: vllm\n    base_url: http://gpu:8000/v1\n"
    )
    s = load_settings(write(tmp_path, text), tmp_path, env={})
    assert s.providers["groq"].base_url == "https://api.groq.com/openai/v1"
    assert s.providers["ollama"].base_url == "http://127.0.0.1:11434/v1"
    assert s.providers["ollama"].api_key is None
    assert s.providers["mine"].base_url == "http://gpu:8000/v1"


def test_hosted_kinds_need_a_key_and_azure_its_endpoint(tmp_path):
    text = "providers:\n  openai: {}\n  azure:\n    api_key: k\n"
    with pytest.raises(ConfigError) as info:
        load_settings(write(tmp_path, text), tmp_path, env={})
    where = tmp_path / "config.yaml"
    assert info.value.problems == [
        f"{where}:2: providers.openai: api_key: Field required",
        f"{where}:3: providers.azure: azure needs base_url (https://RESOURCE.openai.azure.com) and api_version",
    ]


def test_paths_from_flags_then_env(monkeypatch):
    monkeypatch.setenv("AIGATEWAY_CONFIG", "/etc/a.yaml")
    monkeypatch.setenv("AIGATEWAY_DATA_DIR", "/var/a")
    assert resolve_paths(None, None) == (Path("/etc/a.yaml"), Path("/var/a"))
    assert resolve_paths("b.yaml", "d") == (Path("b.yaml"), Path("d"))


def test_example_config_is_valid(repo_root):
    s = load_settings(repo_root / "config.example.yaml", Path("data"), env={"ANTHROPIC_API_KEY": "sk"})
    assert "anthropic" in s.providers


def test_example_config_commented_google_providers_are_valid(repo_root, tmp_path):
    lines = (repo_root / "config.example.yaml").read_text().splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("  # gemini:"))
    end = next(i for i in range(start, len(lines)) if not lines[i].startswith("  #"))
    block = [line.replace("  # ", "  ", 1).split("  # ", 1)[0].rstrip() for line in lines[start:end]]
    s = load_settings(write(tmp_path, "providers:\n" + "\n".join(block) + "\n"), tmp_path, env={"GEMINI_API_KEY": "g"})
    assert s.providers["gemini"].base_url == "https://generativelanguage.googleapis.com/v1beta"
    vertex = s.providers["vertex"]
    assert (vertex.project, vertex.location, vertex.api_key) == ("my-project", "us-east5", None)
    assert vertex.credentials_file == "/etc/aigateway/vertex-sa.json"


def test_vertex_needs_project_and_location(tmp_path):
    with pytest.raises(ConfigError) as info:
        load_settings(write(tmp_path, "providers:\n  vertex:\n    project: p\n"), tmp_path, env={})
    assert info.value.problems == [
        f"{tmp_path / 'config.yaml'}:2: providers.vertex: vertex needs project and location (e.g. us-east5, or global)"
    ]


def test_example_config_commented_providers_are_valid(repo_root, tmp_path):
    """The commented-out provider examples, switched on, load as written."""
    lines = (repo_root / "config.example.yaml").read_text().splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("  # openai:"))
    end = next(i for i in range(start, len(lines)) if not lines[i].startswith("  #"))
    block = [line.replace("  # ", "  ", 1) for line in lines[start:end]]
    text = "providers:\n" + "\n".join(line.split("  # ", 1)[0].rstrip() for line in block) + "\n"
    env = {"OPENAI_API_KEY": "k1", "AZURE_OPENAI_API_KEY": "k2", "OPENROUTER_API_KEY": "k3"}
    s = load_settings(write(tmp_path, text), tmp_path, env=env)
    assert set(s.providers) == {"openai", "azure", "openrouter", "ollama", "gpu"}
    assert s.provider_kind("gpu") == "vllm" and s.providers["azure"].api_version == "2024-10-21"
    assert s.providers["openrouter"].headers == {"HTTP-Referer": "https://example.com"}


ACCOUNTING = """\
database_url: postgresql://gw:db-password@127.0.0.1/gw
redis_url: redis://:redis-password@127.0.0.1:6379/0
redis_prefix: "prod:"
admin_key: ${ADMIN}
keys:
  refresh_interval: 5
prices:
  - {model: anthropic/claude-sonnet-4, provider: anthropic, input: 2.5, output: 12, cache_write_5m: 3.125,
     cache_write_1h: 5, cache_read: 0.25, long_context: {above_input_tokens: 100000, input: 5, output: 24,
     cache_write_5m: 6.25, cache_write_1h: 10, cache_read: 0.5}}
"""


def test_accounting_keys(tmp_path):
    s = load_settings(write(tmp_path, ACCOUNTING), tmp_path, env={"ADMIN": "a" * 32})
    assert s.redis_prefix == "prod:" and s.keys.refresh_interval == 5 and s.admin_key == "a" * 32
    assert str(s.prices[0].input) == "2.5" and str(s.prices[0].cache_read) == "0.25"
    from aigateway.routing.prices import PriceTable

    price = PriceTable.load(p.model_dump() for p in s.prices).get("anthropic/claude-sonnet-4", "anthropic")
    assert price is not None and price.long_threshold == 100_000 and price.long is not None
    assert (price.input, price.long.output) == (2_500_000, 24_000_000)  # pico-dollars per token
    for secret in ("db-password", "redis-password", "a" * 32):
        assert secret not in repr(s)


def test_environment_takes_the_place_of_urls_and_admin_key(tmp_path):
    env = {
        "ADMIN": "a" * 32,
        "AIGATEWAY_DATABASE_URL": "postgresql://other/db",
        "AIGATEWAY_REDIS_URL": "redis://other:6379/1",
        "AIGATEWAY_ADMIN_KEY": "b" * 32,
    }
    s = load_settings(write(tmp_path, ACCOUNTING), tmp_path, env=env)
    assert (s.database_url, s.redis_url, s.admin_key) == ("postgresql://other/db", "redis://other:6379/1", "b" * 32)
    s = load_settings(None, tmp_path, env={"AIGATEWAY_DATABASE_URL": "postgresql://x/y"})
    assert s.sqlalchemy_url == "postgresql://x/y" and s.redis_url is None


@pytest.mark.parametrize(
    ("text", "what"),
    [
        ("admin_key: short\n", "admin_key: String should have at least 16 characters"),
        ("keys:\n  refresh_interval: 0\n", "keys.refresh_interval: Input should be greater than 0"),
        (
            "prices:\n  - {model: m, provider: p, input: 0.0000001, output: 1, cache_write_5m: 1, cache_write_1h: 1,"
            " cache_read: 1}\n",
            "prices.0.input: Decimal input should have no more than 6 decimal places",
        ),
        ("prices:\n  - {model: m, provider: p, input: 1}\n", "prices.0.output: Field required"),
    ],
)
def test_accounting_errors(tmp_path, text, what):
    with pytest.raises(ConfigError) as info:
        load_settings(write(tmp_path, text), tmp_path, env={})
    assert any(what in p for p in info.value.problems), info.value.problems
