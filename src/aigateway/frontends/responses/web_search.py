"""The Responses API's `web_search` tool on an upstream that runs a search of its own (Claude on
Anthropic's API: its web search server tool, `Provider.web_search`), and the search back as
Responses items.

Shapes: openai-python `types/responses/web_search_tool.py`, `web_search_preview_tool.py`,
`response_function_web_search.py`, `response_output_text.py` (`url_citation`); anthropic-python
`web_search_tool_20250305_param.py`, `server_tool_use_block.py`, `web_search_tool_result_block.py`,
`citations_web_search_result_location.py`.

- request: `filters.allowed_domains` becomes `allowed_domains` and `user_location` stays
  `user_location`; `search_context_size` and `search_content_types` have no counterpart and are
  named dropped; `external_web_access: false` asks for cached results only, which a live search
  cannot honour, so the tool is dropped then, as it is where the upstream has no search;
- answer: a `server_tool_use` and its `web_search_tool_result` are one `web_search_call` item
  (action `search` with the query, its `sources` when `include` asks for
  `web_search_call.action.sources`; status `failed` for an error result, `incomplete` for a call
  whose result never came); a text block's `web_search_result_location` citations are
  `url_citation` annotations spanning that block within the message's text;
- next turn: a `web_search_call` item keeps no results (Codex resends only its action), so with
  `include: ["reasoning.encrypted_content"]` the call and its results are sealed into a reasoning
  item right after the call (sealing.py), which gives Claude its blocks back; the
  `web_search_call` item itself is then left out (items.py).
"""

from __future__ import annotations

from typing import Any

from aigateway.errors import InvalidRequest
from aigateway.ir.messages import ServerToolUseBlock, WebSearchError, WebSearchToolResultBlock

TOOL_TYPES = frozenset({"web_search", "web_search_2025_08_26", "web_search_preview", "web_search_preview_2025_03_11"})
NAME = "web_search"  # the server tool's name, and how its calls are named upstream
SOURCES = "web_search_call.action.sources"
_NO_COUNTERPART = ("search_context_size", "search_content_types")
_LOCATION = ("city", "region", "country", "timezone")


def server_tool(tool: dict[str, Any], path: str, upstream_type: str) -> tuple[dict[str, Any] | None, list[str]]:
    """The upstream's server tool for a Responses `web_search` tool (None: dropped), and the names
    of what it could not carry."""
    if tool.get("external_web_access") is False:
        return None, [f"tools[].{tool['type']}"]
    server: dict[str, Any] = {"type": upstream_type, "name": NAME}
    filters = tool.get("filters")
    if filters is not None and not isinstance(filters, dict):
        raise InvalidRequest(f"{path}.filters: must be an object")
    domains = (filters or {}).get("allowed_domains")
    if domains is not None:
        if not isinstance(domains, list) or not all(isinstance(d, str) for d in domains):
            raise InvalidRequest(f"{path}.filters.allowed_domains: must be a list of strings")
        server["allowed_domains"] = domains
    location = tool.get("user_location")
    if location is not None:
        if not isinstance(location, dict):
            raise InvalidRequest(f"{path}.user_location: must be an object")
        server["user_location"] = {"type": "approximate"} | {
            k: location[k] for k in _LOCATION if isinstance(location.get(k), str)
        }
    dropped = [f"tools[].{tool['type']}.{name}" for name in _NO_COUNTERPART if tool.get(name) is not None]
    return server, dropped


def call_item(
    item_id: str, use: ServerToolUseBlock, result: WebSearchToolResultBlock | None, sources: bool, status: str = ""
) -> dict[str, Any]:
    """The `web_search_call` item of a search: `status` given while the search is under way,
    else read off its result."""
    action: dict[str, Any] = {"type": "search"}
    query = use.input.get("query")
    if isinstance(query, str):
        action["query"] = query
    if not status:
        failed = result is not None and isinstance(result.content, WebSearchError)
        status = "incomplete" if result is None else "failed" if failed else "completed"
    if sources and result is not None and isinstance(result.content, list):
        action["sources"] = [{"type": "url", "url": r.url} for r in result.content]
    return {"id": item_id, "type": "web_search_call", "status": status, "action": action}


def url_citations(citations: list[dict[str, Any]], start: int, end: int) -> list[dict[str, Any]]:
    """`url_citation` annotations for the web search citations of the text at [start, end) of
    the message's text, one per page cited."""
    out: list[dict[str, Any]] = []
    for citation in citations:
        url = citation.get("url")
        if citation.get("type") != "web_search_result_location" or not isinstance(url, str):
            continue
        if any(a["url"] == url for a in out):
            continue
        title = citation.get("title")
        out.append(
            {
                "type": "url_citation",
                "start_index": start,
                "end_index": end,
                "title": title if isinstance(title, str) and title else url,
                "url": url,
            }
        )
    return out
