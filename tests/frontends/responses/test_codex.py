"""Codex CLI itself (`codex exec`), pointed at the gateway with the README's own config.toml, on
Claude; and the README's gateway config for Claude, Gemini and a local model.

The fake Anthropic upstream first asks for `exec_command`, then for an `apply_patch` edit, then
finishes: Codex runs the command, applies the patch in its working directory and prints the
final text. Codex runs in its own home, with update checks and analytics off and every
proxy variable pointing at a port where nothing listens (it must reach nothing but the gateway).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import tomllib
from pathlib import Path

from tests.support.anthropic_sse import message_stream
from tests.support.gateway import REPO, cli, free_port
from tests.support.upstream import Reply

CODEX = Path(__file__).parents[2] / "node" / "node_modules" / ".bin" / "codex"
MODEL = "anthropic/claude-sonnet-5.5"  # the README's config.toml
UPSTREAM_MODEL = "claude-sonnet-5-5"  # its Anthropic id in the catalog
PATCH = "*** Begin Patch\n*** Add File: hello.txt\n+hello from the patch\n*** End Patch\n"


def readme_block(after: str, lang: str) -> str:
    """The first `lang` code block of the README after the line `after`, as shown there."""
    found = re.search(re.escape(after) + r"\n\n```" + lang + r"\n(.*?)```", (REPO / "README.md").read_text(), re.S)
    assert found, f"README: no {lang} block after {after!r}"
    return found.group(1)


def _config(gateway_url: str) -> str:
    """The README's ~/.codex/config.toml pointed at the test gateway, with what a test run adds:
    no approvals or sandbox, no update check, no analytics."""
    readme = readme_block("Codex CLI (`~/.codex/config.toml`):", "toml")
    assert tomllib.loads(readme)["model"] == MODEL
    unattended = 'approval_policy = "never"\nsandbox_mode = "danger-full-access"\ncheck_for_update_on_startup = false\n'
    return unattended + readme.replace("http://127.0.0.1:8080", gateway_url) + "\n[analytics]\nenabled = false\n"


def test_the_readmes_gateway_config_serves_claude_gemini_and_a_local_model(tmp_path):
    config = tmp_path / "gateway.yaml"
    config.write_text(
        readme_block("A gateway serving Claude, Gemini and a local model through Ollama (`gateway.yaml`):", "yaml")
    )
    env = {**os.environ, "ANTHROPIC_API_KEY": "sk-ant-readme", "GEMINI_API_KEY": "readme-gemini-key"}
    checked = cli("config", "check", "--config", str(config), env=env)
    assert checked.stdout.strip().endswith("providers: anthropic, gemini, ollama")


def codex_exec(gateway, api_key: str, tmp_path: Path, prompt: str) -> subprocess.CompletedProcess[str]:
    assert CODEX.exists(), "run the suite with ./dev.sh test, which installs Codex CLI"
    home, codex_home, work = tmp_path / "home", tmp_path / "codex-home", tmp_path / "work"
    for d in (home, codex_home, work):
        d.mkdir()
    (codex_home / "config.toml").write_text(_config(gateway.url))
    nowhere = f"http://127.0.0.1:{free_port()}"
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(home),
        "CODEX_HOME": str(codex_home),
        "AI_GATEWAY_API_KEY": api_key,
        **{name: nowhere for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy")},
        "NO_PROXY": "127.0.0.1",
        "no_proxy": "127.0.0.1",
    }
    args = [str(CODEX), "exec", "--skip-git-repo-check", "--dangerously-bypass-approvals-and-sandbox", prompt]
    return subprocess.run(
        args, env=env, cwd=work, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=180
    )


def _scripted() -> list[Reply]:
    sse = {"content-type": "text/event-stream"}
    run = [
        {"type": "thinking", "thinking": "The user wants a command run.", "signature": "sig-run-1"},
        {"type": "tool_use", "id": "toolu_exec1", "name": "exec_command", "input": {"cmd": "echo ran > marker.txt"}},
    ]
    patch = [{"type": "tool_use", "id": "toolu_patch1", "name": "apply_patch", "input": {"input": PATCH}}]
    done = [{"type": "text", "text": "Both steps are done."}]
    steps = [(run, "tool_use"), (patch, "tool_use"), (done, "end_turn")]
    bodies = [message_stream(blocks, stop, model=UPSTREAM_MODEL) for blocks, stop in steps]
    return [Reply(body=b, headers=sse, chunk_size=53) for b in bodies]


def test_codex_runs_a_command_applies_a_patch_and_finishes_on_claude(gateway, api_key, upstream, tmp_path):
    upstream.expect(*_scripted())
    proc = codex_exec(gateway, api_key, tmp_path, "Run a command, then add hello.txt.")
    assert proc.returncode == 0, proc.stderr[-4000:]
    work = tmp_path / "work"
    assert (work / "marker.txt").read_text().strip() == "ran"  # Codex ran the command
    assert (work / "hello.txt").read_text() == "hello from the patch\n"  # and applied the patch
    assert "Both steps are done." in proc.stdout

    sent = [json.loads(r.body) for r in upstream.received if r.path_qs == "/v1/messages"]
    assert len(sent) == 3, [r.path_qs for r in upstream.received]
    assert [s["model"] for s in sent] == [UPSTREAM_MODEL] * 3
    tools = {t["name"]: t for t in sent[0]["tools"]}
    assert "exec_command" in tools and "apply_patch" in tools  # the catalog offered the freeform tool
    assert "grammar" in tools["apply_patch"]["input_schema"]["properties"]["input"]["description"]
    second = sent[1]["messages"]
    assistant = [m for m in second if m["role"] == "assistant"][-1]["content"]
    # The sealed reasoning came back: Claude gets its own thinking and signature again.
    assert assistant[0] == {"type": "thinking", "thinking": "The user wants a command run.", "signature": "sig-run-1"}
    assert assistant[1]["type"] == "tool_use" and assistant[1]["id"] == "toolu_exec1"
    results = [b for b in second[-1]["content"] if b["type"] == "tool_result"]
    assert [r["tool_use_id"] for r in results] == ["toolu_exec1"]
    third = sent[2]["messages"]
    patched = [b for b in third[-1]["content"] if b["type"] == "tool_result"]
    assert [r["tool_use_id"] for r in patched] == ["toolu_patch1"]
    assert "hello.txt" in json.dumps(patched[0]["content"])
    assert "model catalog" not in proc.stderr.lower(), proc.stderr[-4000:]  # the catalog decoded
