"""Splits reasoning written inline as `<think>...</think>` (R1-style models on many servers) from
the answer text, incrementally.

Only a `<think>` at the very start of the content counts (after leading whitespace), as those
models emit it; text that merely mentions the tag later is left alone. Bytes that could be the
start of a tag split across chunks are held back until the next chunk decides. The newlines
right after `</think>` are dropped whichever chunks bring them, so that a stream and its JSON
answer read the same.
"""

from __future__ import annotations

_OPEN, _CLOSE = "<think>", "</think>"


class ThinkTags:
    def __init__(self) -> None:
        self._state = "start"  # start -> thinking -> closed -> text, or start -> text
        self._held = ""

    def feed(self, text: str) -> list[tuple[str, str]]:
        """[(kind, text)] with kind "thinking" or "text"."""
        text = self._held + text
        self._held = ""
        out: list[tuple[str, str]] = []
        if self._state == "start":
            stripped = text.lstrip()
            if stripped.startswith(_OPEN):
                self._state = "thinking"
                text = stripped[len(_OPEN) :]
            elif _OPEN.startswith(stripped):  # maybe the tag, not complete yet
                self._held = text
                return out
            else:
                self._state = "text"
        if self._state == "thinking":
            end = text.find(_CLOSE)
            if end < 0:
                keep = _partial_suffix(text, _CLOSE)
                self._held = text[len(text) - keep :] if keep else ""
                out.append(("thinking", text[: len(text) - keep]))
                return [o for o in out if o[1]]
            out.append(("thinking", text[:end]))
            self._state = "closed"
            text = text[end + len(_CLOSE) :]
        if self._state == "closed":  # dropping the newlines after </think> until the answer starts
            text = text.lstrip("\n")
            if text:
                self._state = "text"
        out.append(("text", text))
        return [o for o in out if o[1]]

    def finish(self) -> list[tuple[str, str]]:
        held, self._held = self._held, ""
        if not held:
            return []
        return [("thinking" if self._state == "thinking" else "text", held)]


def _partial_suffix(text: str, tag: str) -> int:
    """Length of the longest suffix of `text` that is a proper prefix of `tag`."""
    for n in range(min(len(tag) - 1, len(text)), 0, -1):
        if tag.startswith(text[-n:]):
            return n
    return 0
