"""The command line: keys (hashed at rest, shown once), config check."""

from __future__ import annotations

import hashlib
import sqlite3
import subprocess
import sys

from tests.support.gateway import BIN, cli


def run(*args, env=None, check=True):
    return cli(*args, env=env, check=check)


def test_keys_create_list_revoke(tmp_path):
    data = str(tmp_path / "d")
    out = run("keys", "create", "--name", "ci bot", "--data-dir", data, env={"PATH": "/usr/bin"})
    secret = out.stdout.strip().splitlines()[-1]
    assert secret.startswith("agw_") and len(secret) > 40
    con = sqlite3.connect(tmp_path / "d" / "aigateway.db")
    ((key_id, stored_hash),) = con.execute("SELECT id, secret_hash FROM gateway_keys").fetchall()
    assert stored_hash == hashlib.sha256(secret.encode()).hexdigest()
    dump = "\n".join(con.iterdump())
    assert secret not in dump and secret[4:] not in dump
    listing = run("keys", "list", "--data-dir", data).stdout
    assert key_id in listing and "ci bot" in listing and "active" in listing and secret not in listing
    assert run("keys", "revoke", key_id, "--data-dir", data).returncode == 0
    assert "revoked" in run("keys", "list", "--data-dir", data).stdout
    assert run("keys", "revoke", key_id, "--data-dir", data, check=False).returncode == 1


def test_data_dir_from_environment(tmp_path):
    env = {"AIGATEWAY_DATA_DIR": str(tmp_path / "envdata"), "PATH": "/usr/bin"}
    run("keys", "create", "--name", "x", env=env)
    assert (tmp_path / "envdata" / "aigateway.db").exists()


def test_config_check_reports_the_line(tmp_path):
    cfg = tmp_path / "c.yaml"
    cfg.write_text("providers:\n  anthropic:\n    base_url: https://api.anthropic.com\n    api_key: ${NOPE_KEY}\n")
    bad = run("config", "check", "--config", str(cfg), check=False, env={"PATH": "/usr/bin"})
    assert bad.returncode == 2
    assert f"{cfg}:4: providers.anthropic.api_key: environment variable NOPE_KEY is not set" in bad.stderr
    good = run("config", "check", "--config", str(cfg), env={"NOPE_KEY": "k", "PATH": "/usr/bin"})
    assert "OK" in good.stdout and "anthropic" in good.stdout


def test_config_from_environment_variable(tmp_path):
    cfg = tmp_path / "c.yaml"
    cfg.write_text("server:\n  port: nope\n")
    bad = run("config", "check", check=False, env={"AIGATEWAY_CONFIG": str(cfg), "PATH": "/usr/bin"})
    assert bad.returncode == 2 and f"{cfg}:2: server.port" in bad.stderr


def test_help_imports_nothing_heavy():
    assert (
        "serve" in subprocess.run([str(BIN / "aigateway"), "--help"], check=True, capture_output=True, text=True).stdout
    )
    code = (
        "import sys, aigateway.cli; print(sorted(m for m in ('sqlalchemy', 'aiohttp', 'pydantic') if m in sys.modules))"
    )
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True).stdout.strip() == "[]"
