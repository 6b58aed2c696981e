"""Upstream JSON into a wire Struct, read the way the dict code read it: a value of a type the
Struct does not admit counts as absent, and a list item of the wrong type is left out.

So an odd field (a number where text belongs, a string where an object belongs) never turns a
readable answer into an error, and never into an exception either: for any JSON object the
result is the Struct, for any other JSON value it is None. JSON syntax errors still raise
`msgspec.DecodeError`.

The typed decoder is the fast path (wire.py); only a body it rejects comes here (`retry`), to be
decoded again untyped, trimmed to what fits (`_fit`, driven by the Struct's own type
description) and converted.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import Any, TypeVar

import msgspec
import msgspec.inspect as mi

T = TypeVar("T", bound=msgspec.Struct)

_untyped = msgspec.json.Decoder()
_ABSENT = object()
_SCALARS: dict[type[mi.Type], Callable[[Any], bool]] = {
    mi.AnyType: lambda value: True,
    mi.NoneType: lambda value: value is None,
    mi.StrType: lambda value: isinstance(value, str),
    mi.IntType: lambda value: isinstance(value, int) and not isinstance(value, bool),
    mi.FloatType: lambda value: isinstance(value, int | float) and not isinstance(value, bool),
    mi.BoolType: lambda value: isinstance(value, bool),
}


def retry(data: bytes | str, type_: type[T]) -> T | None:
    """`data`, which the typed decoder for `type_` rejected, read leniently."""
    return fit(_untyped.decode(data), type_)


def fit(value: Any, type_: type[T]) -> T | None:
    fitted = _fit(value, _info(type_))
    return None if fitted is _ABSENT else msgspec.convert(fitted, type_)


@cache
def _info(type_: type[msgspec.Struct]) -> mi.Type:
    return mi.type_info(type_)


def _fit(value: Any, info: mi.Type) -> Any:
    """`value` with whatever does not fit `info` removed, or `_ABSENT` if `value` itself does not."""
    if isinstance(info, mi.UnionType):
        for member in info.types:
            fitted = _fit(value, member)
            if fitted is not _ABSENT:
                return fitted
        return _ABSENT
    if isinstance(info, mi.StructType):
        if not isinstance(value, dict):
            return _ABSENT
        fields = ((f.encode_name, _fit(value[f.encode_name], f.type)) for f in info.fields if f.encode_name in value)
        return {name: fitted for name, fitted in fields if fitted is not _ABSENT}
    if isinstance(info, mi.ListType):
        if not isinstance(value, list):
            return _ABSENT
        return [fitted for fitted in (_fit(item, info.item_type) for item in value) if fitted is not _ABSENT]
    if isinstance(info, mi.DictType):  # JSON object keys are strings: only the values can misfit
        if not isinstance(value, dict):
            return _ABSENT
        members = ((key, _fit(item, info.value_type)) for key, item in value.items())
        return {key: fitted for key, fitted in members if fitted is not _ABSENT}
    accepts = _SCALARS.get(type(info))
    return value if accepts is not None and accepts(value) else _ABSENT
