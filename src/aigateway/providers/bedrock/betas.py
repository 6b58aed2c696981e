"""Beta flags on Bedrock: every flag the client sent goes to Bedrock first.

Bedrock answers 400 "invalid beta flag" to a flag it does not know (and some models refuse
flags others take), while Anthropic clients such as Claude Code send flags for features Bedrock
has no use for (`claude-code-20250219`, ...). Dropping flags up front loses features Bedrock
does take (known-gateway-bugs row 25), so the gateway asks with all of them and, only on that
400, once more with the flags AWS documents for Claude on Bedrock, then once without any. Each
retry is logged with the flags it left out.
"""

from __future__ import annotations

# Bedrock user guide, "Anthropic Claude Messages API" (request parameters, anthropic_beta).
DOCUMENTED = frozenset(
    {
        "computer-use-2024-10-22",
        "computer-use-2025-01-24",
        "token-efficient-tools-2025-02-19",
        "interleaved-thinking-2025-05-14",
        "output-128k-2025-02-19",
        "dev-full-thinking-2025-05-14",
        "context-1m-2025-08-07",
        "context-management-2025-06-27",
        "effort-2025-11-24",
        "tool-search-tool-2025-10-19",
        "tool-examples-2025-10-29",
    }
)
REFUSED = b"invalid beta flag"


def attempts(header: str | None) -> list[str | None]:
    """The `anthropic-beta` values to try in turn: all flags, the documented ones, none."""
    flags = [f.strip() for f in (header or "").split(",") if f.strip()]
    if not flags:
        return [header]
    tries: list[str | None] = [",".join(flags)]
    documented = [f for f in flags if f in DOCUMENTED]
    if documented and len(documented) < len(flags):
        tries.append(",".join(documented))
    tries.append(None)
    return tries
