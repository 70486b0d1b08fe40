"""Audit events as an auditor reads them: a browser in two words, changes as sentences.

The event keeps everything as recorded (the full user-agent string, the JSON of the change);
this is only how a row of the trail shows it.
"""

from __future__ import annotations

import functools
from typing import Any

import ua_parser


@functools.lru_cache(maxsize=512)
def browser(user_agent: str | None) -> str:
    """A browser as a person says it ("Chrome on Windows"); the full string stays in the event."""
    if not user_agent:
        return ""
    parsed = ua_parser.parse(user_agent[:1000])
    family = parsed.user_agent.family if parsed.user_agent else ""
    system = parsed.os.family if parsed.os else ""
    if family in ("", "Other"):
        return "Unknown browser" if system in ("", "Other") else f"Unknown browser on {system}"
    return f"{family} on {system}" if system not in ("", "Other") else family


def _readable(value: Any) -> str:
    """One value of a change, as words: lists joined, mappings as "name: value", None as a dash."""
    if value is None or value == "" or value == []:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, dict):
        return "; ".join(f"{k}: {_readable(v)}" for k, v in value.items())
    if isinstance(value, list):
        return ", ".join(_readable(v) for v in value)
    return str(value)


def changes(changes: dict[str, Any]) -> list[tuple[str, str]]:
    """A change record as (what, "before → after") lines; a value only set reads as itself."""
    lines = []
    for name, pair in changes.items():
        label = name.replace("_", " ").capitalize()
        if isinstance(pair, list) and len(pair) == 2:
            before, after = pair
            text = (
                _readable(after) if before is None else f"{_readable(before)} → {_readable(after)}"
            )
        else:
            text = _readable(pair)
        lines.append((label, text))
    return lines
