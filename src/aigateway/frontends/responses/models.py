"""`GET /v1/models?client_version=...`: the model list in the shape Codex CLI reads as its model
catalog (`model_catalog_url`), and in OpenAI's shape too, in one body.

Codex decodes `{"models": [ModelInfo, ...]}` (codex-rs `protocol/src/openai_models.rs`:
`ModelsResponse`, `ModelInfo`); OpenAI's SDKs read `{"object": "list", "data": [...]}`
(openai-python `types/model.py`). Both keys in one object satisfy both kinds of client, so a
Codex request (it names its `client_version`) gets both.

Every model is offered with Codex's freeform `apply_patch` (the door turns it into a one-string
tool for any model, tools.py), the reasoning levels the door maps to thinking budgets
(request.py), and a short coding-agent base instruction.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import msgspec

from aigateway.asgi import Request
from aigateway.gateway import Gateway
from aigateway.routing.catalog import CatalogModel

BASE_INSTRUCTIONS = (
    "You are a coding agent running in the user's terminal. Work in the current directory: read files, "
    "run commands and edit files with the tools you have, keep changes small and focused, and say briefly "
    "what you did when you finish."
)
# the efforts request.py maps to thinking budgets
_LEVELS = [{"effort": effort, "description": f"{effort} reasoning"} for effort in ("low", "medium", "high")]
_TRUNCATION = {"mode": "tokens", "limit": 10000}  # how much of a tool's output Codex keeps


def wants_catalog(req: Request) -> bool:
    """Codex names its version when it asks for the catalog (`?client_version=0.171.0`)."""
    return req.path == "/v1/models" and b"client_version=" in req.query


def _created(m: CatalogModel) -> int:
    return int(datetime.fromisoformat(m.created_at.replace("Z", "+00:00")).timestamp())


def _model_info(m: CatalogModel, priority: int) -> dict[str, Any]:
    """One codex-rs `ModelInfo` (every member it requires, and `context_window` left to Codex)."""
    return {
        "slug": m.id,
        "display_name": m.display_name or m.id,
        "description": None,
        "default_reasoning_level": "medium",
        "supported_reasoning_levels": _LEVELS,
        "shell_type": "shell_command",
        "visibility": "list",
        "supported_in_api": True,
        "priority": priority,
        "upgrade": None,
        "base_instructions": BASE_INSTRUCTIONS,
        "supports_reasoning_summaries": True,
        "support_verbosity": False,
        "default_verbosity": None,
        "apply_patch_tool_type": "freeform",
        "truncation_policy": _TRUNCATION,
        "supports_parallel_tool_calls": True,
        "experimental_supported_tools": [],
        "input_modalities": ["text", "image"],
    }


async def list_models(gw: Gateway, req: Request) -> None:
    served = [m for m in gw.catalog.models if any(p in gw.providers for p in m.providers)]
    data = [{"id": m.id, "object": "model", "created": _created(m), "owned_by": m.id.partition("/")[0]} for m in served]
    models = [_model_info(m, priority) for priority, m in enumerate(served)]
    await req.respond(200, msgspec.json.encode({"object": "list", "data": data, "models": models}))
