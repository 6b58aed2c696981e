"""Gateway-side token counting for models whose provider has no counter.

Public API:
- `count_request_tokens(body, upstream_model) -> TokenCount` for an Anthropic Messages or
  count_tokens body (dict or raw bytes); `count_openai_chat_tokens` for a Chat Completions body;
- `TokenCount(input_tokens, tokenizer, exact)`;
- `count_header(count) -> (name, value)`: `x-aigateway-token-count: estimate; tokenizer=o200k_base`;
- `TokenCountCache`: bounded LRU over (sha256(body), model);
- `warm_up()`: build the encodings ahead of the first request (under a second of CPU; call it
  off the event loop, e.g. `await asyncio.to_thread(warm_up)` at start-up);
- `get_encoding(name)`: the bundled `tiktoken.Encoding` ("o200k_base", "cl100k_base").

Counting is synchronous CPU work (a few milliseconds for Claude Code's 88 KB first turn).

Rules are in the docstrings of count.py (request shape), family.py (tokenizer and overheads),
tally.py (tool definitions and calls) and media.py (images, PDFs); encodings.py says how the
vocabularies ship with the installation. Importing this package loads no vocabulary and does
not import tiktoken; nothing here ever touches the network.
"""

from __future__ import annotations

from aigateway.tokens.cache import TokenCountCache
from aigateway.tokens.count import COUNT_HEADER, TokenCount, count_header, count_request_tokens
from aigateway.tokens.encodings import BUNDLED, EncodingUnavailable, get_encoding
from aigateway.tokens.openai_chat import count_openai_chat_tokens

__all__ = [
    "COUNT_HEADER",
    "EncodingUnavailable",
    "TokenCount",
    "TokenCountCache",
    "count_header",
    "count_openai_chat_tokens",
    "count_request_tokens",
    "get_encoding",
    "warm_up",
]


def warm_up() -> None:
    """Build every bundled encoding now (e.g. at start-up, off the event loop)."""
    for name in BUNDLED:
        get_encoding(name)
