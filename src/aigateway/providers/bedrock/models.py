"""Which Bedrock API serves a model id, and the id as Bedrock wants it in the URL.

Claude models (`anthropic.*` foundation model ids, and inference profiles of them such as
`us.anthropic.claude-sonnet-4-5-20250929-v1:0` or an ARN ending in one) take the Anthropic
Messages body by InvokeModel: the client's request passes through. Every other id goes through
Converse, including opaque ids (an application inference profile ARN) that do not say what they
serve. Two prefixes override the guess: `invoke/<id>` forces InvokeModel (a Claude application
inference profile), `converse/<id>` forces Converse (a Claude model through the uniform API).
"""

from __future__ import annotations

import re
from urllib.parse import quote

# A foundation model id or system inference profile id of Claude: an optional geography prefix
# (us., eu., apac., global., ...) then `anthropic.`; for an ARN, its last path segment.
_CLAUDE = re.compile(r"^(?:[a-z]{2,8}\.)?anthropic\.")
INVOKE, CONVERSE = "invoke/", "converse/"


def is_invoke(model: str) -> bool:
    """True when the model is served by InvokeModel with an Anthropic body."""
    if model.startswith(INVOKE):
        return True
    if model.startswith(CONVERSE):
        return False
    return bool(_CLAUDE.match(model.rsplit("/", 1)[-1]))


def is_claude(model: str) -> bool:
    """The Anthropic family, whose Converse requests take Anthropic's extra fields."""
    bare = bare_id(model)
    return bool(_CLAUDE.match(bare.rsplit("/", 1)[-1])) or "claude" in bare.lower()


def bare_id(model: str) -> str:
    """The Bedrock model id without our routing prefix."""
    for prefix in (INVOKE, CONVERSE):
        if model.startswith(prefix):
            return model[len(prefix) :]
    return model


def model_path(model: str, action: str) -> str:
    """`model/{modelId}/{action}` with the id percent-encoded (`:` and the `/` of ARNs too)."""
    return f"model/{quote(bare_id(model), safe='')}/{action}"


def foundation_id(model: str) -> str:
    """The foundation model id of a system inference profile (`us.anthropic.x` -> `anthropic.x`):
    CountTokens takes foundation model ids only; the count is the same model's."""
    bare = bare_id(model).rsplit("/", 1)[-1]
    head, dot, rest = bare.partition(".")
    return rest if dot and rest.startswith("anthropic.") and len(head) <= 8 else bare
