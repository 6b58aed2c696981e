"""The gateway's own secret (secret.py): the admin key where one is set, else 32 random bytes made
once in the data directory and read back by every later worker and restart."""

from __future__ import annotations

import stat

import pytest

from aigateway.secret import _stored, gateway_secret


def test_the_admin_key_is_the_secret_where_one_is_set(tmp_path):
    assert gateway_secret("an-admin-key-of-enough-length", tmp_path) == b"an-admin-key-of-enough-length"
    assert list(tmp_path.iterdir()) == []  # nothing written


def test_without_one_the_data_directory_keeps_32_random_bytes_for_its_owner_only(tmp_path):
    path = tmp_path / "reasoning-seal.key"
    first = _stored(path)
    assert len(first) == 32 and path.read_bytes() == first
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert _stored(path) == first  # a second worker, or a restart, reads the same
    assert _stored(tmp_path / "other.key") != first


def test_a_file_that_is_not_a_secret_is_an_error_naming_it(tmp_path, monkeypatch):
    path = tmp_path / "reasoning-seal.key"
    path.write_bytes(b"short")
    monkeypatch.setattr("aigateway.secret.time.sleep", lambda s: None)
    with pytest.raises(RuntimeError, match=r"reasoning-seal\.key: not a gateway secret"):
        _stored(path)
