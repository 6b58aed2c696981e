"""The command line: keys (hashed at rest, shown once), config check."""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sqlite3
import subprocess
import sys

import pytest

from aigateway.cli import worker_count
from tests.support.gateway import BIN, ISSUED_KEYS, cli


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


def test_keys_with_policy_and_usage(tmp_path):
    data = str(tmp_path / "data")
    out = run(
        "keys",
        "create",
        "--name",
        "capped",
        "--rpm",
        "30",
        "--budget",
        "2.50",
        "--budget-period",
        "week",
        "--models",
        "anthropic/claude-haiku-4.5",
        "--tags",
        "a,b",
        "--data-dir",
        data,
    )
    assert "rpm=30" in out.stdout and "budget_usd=$2.500000/week" in out.stdout
    ISSUED_KEYS.append(out.stdout.strip().splitlines()[-1])
    key_id = out.stdout.split()[2]
    updated = run("keys", "update", key_id, "--rpm", "none", "--tpm", "5000", "--data-dir", data).stdout
    assert "rpm=" not in updated and "tpm=5000" in updated and "tags=a,b" in updated
    bad = run("keys", "update", key_id, "--tpm", "lots", "--data-dir", data, check=False)
    assert bad.returncode == 2 and "--tpm" in bad.stderr
    assert run("keys", "update", "key_nope", "--rpm", "1", "--data-dir", data, check=False).returncode == 1
    con = sqlite3.connect(tmp_path / "data" / "aigateway.db")
    with con:
        con.execute(
            "INSERT INTO ledger (request_id, created_at, key_id, endpoint, model, provider, streamed, status,"
            " input_tokens, output_tokens, cache_read_tokens, cache_write_tokens, latency_ms, cost_nanousd)"
            " VALUES ('req_1', 1764000000, ?, 'messages', 'anthropic/claude-haiku-4.5', 'anthropic', 0, 200,"
            " 423, 202, 0, 0, 5.0, 1433000)",
            (key_id,),
        )
    con.close()
    report = run("usage", "--from", "2025-11-24", "--to", "2025-11-26", "--group-by", "model", "--data-dir", data)
    line = next(x for x in report.stdout.splitlines() if x.startswith("anthropic/claude-haiku-4.5"))
    assert line.split()[1:] == ["1", "423", "202", "0", "0", "0.001433"]


def test_models_lists_providers_prices_context_and_status(tmp_path):
    cfg = tmp_path / "c.yaml"
    cfg.write_text("providers:\n  openai:\n    api_key: k\n  anthropic:\n    api_key: k\n")
    env = {"PATH": "/usr/bin", **{k: v for k, v in os.environ.items() if k == "PYTHONPATH"}}
    table = run("models", "--config", str(cfg), "--data-dir", str(tmp_path / "d"), env=env).stdout
    gpt5 = next(line.split() for line in table.splitlines() if line.startswith("openai/gpt-5 "))
    assert gpt5 == ["openai/gpt-5", "openai", "1.25", "10", "400000", "deprecated", "genai-prices", "0.2.3"]
    assert "bedrock" not in table  # only configured providers
    doc = json.loads(run("models", "--json", "--config", str(cfg), "--data-dir", str(tmp_path / "d"), env=env).stdout)
    sonnet = next(m for m in doc if m["id"] == "anthropic/claude-sonnet-4")
    (offer,) = sonnet["providers"]
    assert (offer["status"], offer["successor"]) == ("retired", "anthropic/claude-sonnet-4.6")
    assert offer["pricing"]["source"].startswith("aigateway ") and offer["pricing"]["long_context"]


def test_workers_is_a_positive_count_or_auto_one_per_usable_core(monkeypatch):
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 2, 5})  # e.g. under taskset -c 0,2,5
    assert worker_count("auto") == 3
    assert worker_count("4") == 4
    for bad in ("0", "-1", "two", ""):
        with pytest.raises(argparse.ArgumentTypeError):
            worker_count(bad)
    env = {"PATH": "/usr/bin", **{k: v for k, v in os.environ.items() if k == "PYTHONPATH"}}
    refused = run("serve", "--workers", "0", check=False, env=env)
    assert refused.returncode == 2 and "--workers: must be 1 or more" in refused.stderr
