"""A real Google service account for tests, and the OAuth token endpoint that serves it.

`ServiceAccount` is a fresh RSA key in the JSON layout Google issues, whose `token_uri` points
at the fake upstream. `TokenEndpoint` does what Google's does for a service account: it takes
the JWT-bearer grant google-auth posts, checks the assertion's RS256 signature with the account's
public key, its issuer, audience and scope, and issues an access token. So the whole exchange is
real google-auth code against a local server.
"""

from __future__ import annotations

import base64
import json
import secrets
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qs

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

TOKEN_PATH = "/oauth2/token"
SCOPE = "https://www.googleapis.com/auth/cloud-platform"
AUDIENCE = "https://oauth2.googleapis.com/token"  # google-auth names Google's endpoint whatever token_uri says


@dataclass
class ServiceAccount:
    email: str
    key: rsa.RSAPrivateKey = field(default_factory=lambda: rsa.generate_private_key(65537, 2048))

    @property
    def pem(self) -> str:
        return self.key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ).decode()

    def write(self, path: Path, token_uri: str) -> Path:
        info = {
            "type": "service_account",
            "project_id": "test-project",
            "private_key_id": secrets.token_hex(20),
            "private_key": self.pem,
            "client_email": self.email,
            "client_id": "1234567890",
            "token_uri": token_uri,
        }
        path.write_text(json.dumps(info))
        return path


def _b64(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


@dataclass
class Issued:
    email: str
    token: str
    expires_in: int


class TokenEndpoint:
    def __init__(self) -> None:
        self.accounts: dict[str, ServiceAccount] = {}
        self.lifetimes: dict[str, int] = {}  # email -> expires_in of the tokens it gets (default 3600)
        self.issued: list[Issued] = []

    def add(self, account: ServiceAccount, expires_in: int = 3600) -> None:
        self.accounts[account.email] = account
        self.lifetimes[account.email] = expires_in

    def grant(self, form_body: bytes) -> tuple[int, dict]:
        form = {k: v[0] for k, v in parse_qs(form_body.decode()).items()}
        if form.get("grant_type") != "urn:ietf:params:oauth:grant-type:jwt-bearer":
            return 400, {"error": "unsupported_grant_type"}
        header, payload, signature = form["assertion"].split(".")
        claims = json.loads(_b64(payload))
        account = self.accounts.get(claims.get("iss"))
        if account is None:
            return 400, {"error": "invalid_grant", "error_description": "unknown account"}
        try:
            account.key.public_key().verify(
                _b64(signature), f"{header}.{payload}".encode(), padding.PKCS1v15(), hashes.SHA256()
            )
        except Exception:
            return 400, {"error": "invalid_grant", "error_description": "Invalid JWT Signature."}
        now = time.time()
        if claims.get("aud") != AUDIENCE or claims.get("scope") != SCOPE or not claims["iat"] - 60 <= now:
            return 400, {"error": "invalid_grant", "error_description": "bad claims"}
        issued = Issued(account.email, "ya29.test-" + secrets.token_urlsafe(24), self.lifetimes[account.email])
        self.issued.append(issued)
        return 200, {"access_token": issued.token, "expires_in": issued.expires_in, "token_type": "Bearer"}
