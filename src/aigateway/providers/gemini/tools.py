"""Tool definitions and tool_choice, Anthropic to Gemini (spec §10.4).

Tools go out as `functionDeclarations` with `parameters`, Gemini's `Schema` object: a subset of
OpenAPI 3.0 that both the Gemini API and Vertex AI accept (`parametersJsonSchema` is newer and
not taken by every endpoint). A JSON Schema from a client (Claude Code's come from zod and MCP
servers) is cleaned into that subset by these rules, from the `Schema` reference
(ai.google.dev/api/caching#Schema, cloud.google.com/vertex-ai/docs/reference/rest/v1/Schema):

1. `$ref` to `#/$defs/...` or `#/definitions/...` is replaced by the definition (the Schema has
   no references); a cycle, or a reference we cannot resolve, becomes a bare `{type: OBJECT}`.
2. Only the Schema's own fields are kept: type, format, title, description, nullable, enum,
   items, minItems, maxItems, properties, required, minProperties, maxProperties, minLength,
   maxLength, pattern, minimum, maximum, default, example, anyOf, propertyOrdering. Everything
   else is dropped: `$schema`, `$id`, `$defs`, `additionalProperties`, `examples`, `const`
   (see 4), `not`, `if/then/else`, `patternProperties`, `exclusiveMinimum`, `multipleOf`,
   `uniqueItems`, `contentEncoding`, ...
3. `type` is one of Gemini's upper-case names; a list of types (`["string", "null"]`) becomes
   its first non-null type plus `nullable: true`; `oneOf` is read as `anyOf`; an `allOf` has its
   members' properties and requirements merged into the schema.
4. `enum` is a list of strings (Gemini's enums are string-valued): numbers and booleans are
   written as text; `null` leaves the list and makes the schema nullable; `const: x` is `enum: [x]`.
5. `format` is kept only where Gemini defines it (string: enum, date-time; number: float,
   double; integer: int32, int64); `uri`, `email`, ... are dropped.
6. `required` keeps only names that are in `properties` (Gemini rejects the others).
"""

from __future__ import annotations

from typing import Any, assert_never

from aigateway.ir.messages import Tool, ToolChoice, ToolChoiceAny, ToolChoiceAuto, ToolChoiceNone, ToolChoiceTool

_KEEP = {
    "type", "format", "title", "description", "nullable", "enum", "items", "minItems", "maxItems",
    "properties", "required", "minProperties", "maxProperties", "minLength", "maxLength", "pattern",
    "minimum", "maximum", "default", "example", "anyOf", "propertyOrdering",
}  # fmt: skip
_TYPES = {"string", "number", "integer", "boolean", "array", "object"}
_FORMATS = {"STRING": {"enum", "date-time"}, "NUMBER": {"float", "double"}, "INTEGER": {"int32", "int64"}}
_MAX_DEPTH = 32


def function_declarations(tools: list[Tool]) -> list[dict[str, Any]]:
    out = []
    for tool in tools:
        schema = tool.input_schema
        decl: dict[str, Any] = {"name": tool.name, "parameters": clean_schema(schema)}
        if tool.description is not None:
            decl["description"] = tool.description
        out.append(decl)
    return out


def clean_schema(schema: dict[str, Any]) -> dict[str, Any]:
    defs = {**(schema.get("definitions") or {}), **(schema.get("$defs") or {})}
    return _clean(schema, defs, (), 0)


def _clean(node: Any, defs: dict[str, Any], seen: tuple[str, ...], depth: int) -> dict[str, Any]:
    if not isinstance(node, dict) or depth > _MAX_DEPTH:
        return {"type": "OBJECT"}
    ref = node.get("$ref")
    if isinstance(ref, str):
        name = ref.rsplit("/", 1)[-1]
        if name in seen or name not in defs:
            return {"type": "OBJECT"}
        merged = {**defs[name], **{k: v for k, v in node.items() if k != "$ref"}}
        return _clean(merged, defs, (*seen, name), depth + 1)
    node = _merge_all_of(node)
    out: dict[str, Any] = {}
    nullable = _type(node, out)
    for key, value in node.items():
        if key in ("type", "format", "enum", "required", "nullable") or key not in _KEEP:
            continue
        if key == "properties" and isinstance(value, dict):
            out[key] = {name: _clean(v, defs, seen, depth + 1) for name, v in value.items()}
        elif key == "items":
            out[key] = _clean(value, defs, seen, depth + 1)
        elif key == "anyOf" and isinstance(value, list):
            out[key] = _any_of(value, defs, seen, depth)
        else:
            out[key] = value
    if "oneOf" in node and "anyOf" not in out and isinstance(node["oneOf"], list):
        out["anyOf"] = _any_of(node["oneOf"], defs, seen, depth)
    nullable = _enum(node, out) or nullable
    _format(node, out)
    if isinstance(node.get("required"), list):
        props = out.get("properties") or {}
        out["required"] = [r for r in node["required"] if r in props]
    if nullable or node.get("nullable") is True:
        out["nullable"] = True
    return out


def _any_of(members: list[Any], defs: dict[str, Any], seen: tuple[str, ...], depth: int) -> list[dict[str, Any]]:
    return [_clean(m, defs, seen, depth + 1) for m in members if not (isinstance(m, dict) and m.get("type") == "null")]


def _merge_all_of(node: dict[str, Any]) -> dict[str, Any]:
    members = node.get("allOf")
    if not isinstance(members, list):
        return node
    merged = {k: v for k, v in node.items() if k != "allOf"}
    for member in members:
        if not isinstance(member, dict):
            continue
        for key, value in member.items():
            if key == "properties" and isinstance(value, dict):
                merged["properties"] = {**(merged.get("properties") or {}), **value}
            elif key == "required" and isinstance(value, list):
                merged["required"] = [*(merged.get("required") or []), *value]
            else:
                merged.setdefault(key, value)
    return merged


def _type(node: dict[str, Any], out: dict[str, Any]) -> bool:
    """Sets Gemini's type; True when the JSON Schema type admits null."""
    raw = node.get("type")
    kinds = raw if isinstance(raw, list) else [raw]
    real = [k for k in kinds if isinstance(k, str) and k in _TYPES]
    if real:
        out["type"] = real[0].upper()
    elif "properties" in node:
        out["type"] = "OBJECT"
    return "null" in kinds


def _enum(node: dict[str, Any], out: dict[str, Any]) -> bool:
    values = node.get("enum")
    if "const" in node and values is None:
        values = [node["const"]]
    if not isinstance(values, list):
        return False
    out["enum"] = [_text(v) for v in values if v is not None]
    if out.get("type") in (None, "NUMBER", "INTEGER", "BOOLEAN"):
        out["type"] = "STRING"  # Gemini's enums are strings only
    return None in values


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return value if isinstance(value, str) else str(value)


def _format(node: dict[str, Any], out: dict[str, Any]) -> None:
    fmt = node.get("format")
    if isinstance(fmt, str) and fmt in _FORMATS.get(out.get("type", ""), set()):
        out["format"] = fmt


def tool_config(choice: ToolChoice) -> tuple[dict[str, Any], bool]:
    """(toolConfig, whether `disable_parallel_tool_use` was asked for, which Gemini cannot do)."""
    match choice:
        case ToolChoiceAuto():
            mode: dict[str, Any] = {"mode": "AUTO"}
        case ToolChoiceAny():
            mode = {"mode": "ANY"}
        case ToolChoiceTool():
            mode = {"mode": "ANY", "allowedFunctionNames": [choice.name]}
        case ToolChoiceNone():
            return {"functionCallingConfig": {"mode": "NONE"}}, False
        case _:
            assert_never(choice)
    return {"functionCallingConfig": mode}, bool(choice.disable_parallel_tool_use)
