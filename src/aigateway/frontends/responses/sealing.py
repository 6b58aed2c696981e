"""Reasoning continuity: what a model needs back on the next turn, sealed into a reasoning
item's `encrypted_content` (openai-python `types/responses/response_reasoning_item.py`).

Claude's thinking signatures and redacted thinking, and Gemini's thought signatures (carried in
thinking-block signatures, providers/gemini/signatures.py), must come back exactly as they were
sent; so must a web search Claude ran, with its encrypted results (web_search.py). A Responses
client keeps them only as an opaque string, so the gateway seals the blocks with AES-256-GCM
(authenticated: a changed byte fails to open) under a key derived from a gateway secret, and
names the model they came from (a signature is only valid for its model).

Invariants:
- a value this gateway did not seal, or that was changed, is a 400 naming the item, never a
  confused upstream;
- blocks sealed for another model are not sent to this one (its upstream would refuse them);
- the key is derived, never the secret itself: SHA-256 over a purpose label and the gateway's
  secret (secret.py), so every worker and every restart opens what the others sealed;
- `cryptography` (about 6 MiB of OpenSSL bindings) is imported by the first seal or open, i.e.
  only by a gateway that serves reasoning through the Responses door.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

import msgspec

from aigateway.errors import InvalidRequest
from aigateway.ir.messages import (
    RedactedThinkingBlock,
    ServerToolUseBlock,
    ThinkingBlock,
    WebSearchToolResultBlock,
)
from aigateway.secret import gateway_secret

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

PREFIX = "aigw1."  # versioned, so the format can change without misreading older values
_LABEL = b"aigateway reasoning seal\0"
_NONCE = 12  # bytes, GCM's standard nonce


SealedBlock = ThinkingBlock | RedactedThinkingBlock | ServerToolUseBlock | WebSearchToolResultBlock


class Sealed(msgspec.Struct, frozen=True):
    model: str  # the upstream model that produced the blocks
    blocks: list[SealedBlock]


_decode = msgspec.json.Decoder(Sealed)


class Sealer:
    def __init__(self, secret: bytes) -> None:
        self._key = hashlib.sha256(_LABEL + secret).digest()
        self._cipher: AESGCM | None = None

    @property
    def _aead(self) -> AESGCM:
        if self._cipher is None:
            from cryptography.hazmat.primitives.ciphers.aead import AESGCM

            self._cipher = AESGCM(self._key)
        return self._cipher

    def seal(self, model: str, blocks: list[SealedBlock]) -> str:
        nonce = os.urandom(_NONCE)
        sealed = self._aead.encrypt(nonce, msgspec.json.encode(Sealed(model, blocks)), PREFIX.encode())
        return PREFIX + base64.urlsafe_b64encode(nonce + sealed).decode().rstrip("=")

    def open(self, value: str, path: str) -> Sealed:
        """The sealed blocks; a 400 naming `path` for a value this gateway did not seal as it is."""
        if not value.startswith(PREFIX):
            raise InvalidRequest(f"{path}: was not produced by this gateway (reasoning from another service)")
        from cryptography.exceptions import InvalidTag

        try:
            text = value[len(PREFIX) :]
            raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
            plain = self._aead.decrypt(raw[:_NONCE], raw[_NONCE:], PREFIX.encode())
            return _decode.decode(plain)
        except (binascii.Error, ValueError, InvalidTag, msgspec.DecodeError):
            what = "does not open with this gateway's key (changed, or sealed elsewhere)"
            raise InvalidRequest(f"{path}: {what}") from None


@cache
def sealer_for(admin_key: str | None, data_dir: Path) -> Sealer:
    return Sealer(gateway_secret(admin_key, data_dir))
