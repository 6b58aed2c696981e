"""Gateway-side token counting for models whose provider has no counter.

Public API:
- `count_request_tokens(body, upstream_model) -> TokenCount` for an Anthropic Messages or
  count_tokens body (dict or raw bytes); `count_openai_chat_tokens` for a Chat Completions body;
- `TokenCount(input_tokens, tokenizer, exact)`;
- `count_header(count) -> (name, value)`: `x-aigateway-token-count: estimate; tokenizer=o200k_base`;
- `TokenCountCache`: bounded LRU over (sha256(body), model); `await cache.count_async(...)` on
  the event loop;
- `await ready(upstream_model)`: the model's tokenizer loaded, off the event loop (ready.py);
- `get_encoding(name)` (blocks while it is built) / `await load_encoding(name)`: the bundled
  `tiktoken.Encoding` ("o200k_base", "cl100k_base").

Nothing is loaded ahead of use: a vocabulary is built the first time a count needs it (about
half a second and 48 MiB for o200k_base, 23 MiB for cl100k_base), in a thread of its own; only
the requests that need it wait. Counting itself is synchronous CPU work (a few milliseconds for
Claude Code's 88 KB first turn).

Rules are in the docstrings of count.py (request shape), family.py (tokenizer and overheads),
tally.py (tool definitions and calls) and media.py (images, PDFs); encodings.py says how the
vocabularies ship with the installation. Importing this package loads no vocabulary and does
not import tiktoken; nothing here ever touches the network.
"""

from __future__ import annotations

from aigateway.tokens.cache import TokenCountCache
from aigateway.tokens.count import COUNT_HEADER, TokenCount, count_header, count_request_tokens
from aigateway.tokens.encodings import EncodingUnavailable, get_encoding, load_encoding
from aigateway.tokens.openai_chat import count_openai_chat_tokens
from aigateway.tokens.ready import ready

__all__ = [
    "COUNT_HEADER",
    "EncodingUnavailable",
    "TokenCount",
    "TokenCountCache",
    "count_header",
    "count_openai_chat_tokens",
    "count_request_tokens",
    "get_encoding",
    "load_encoding",
    "ready",
]
