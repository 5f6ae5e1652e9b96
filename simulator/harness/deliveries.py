"""A test that times out should see what did arrive, not just "no event".

`wait_for` fails with the near misses: events on the awaited channel that `where` rejected
(and why, when `where` raised), events on other channels and failed attempts.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

Where = Callable[[dict[str, Any]], Any]


@dataclass
class Delivery:
    """One request ionsim made: `status` is what we answered, `event` the parsed JSON body."""

    channel: str
    event: dict[str, Any]
    headers: dict[str, str]
    body: bytes
    status: int
    attempt: int
    signature_ok: bool | None = None
    error: str = ""
    at: float = field(default_factory=time.monotonic)

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    @property
    def event_id(self) -> str:
        return str(self.event.get("eventId") or self.headers.get("x-ionsim-event-id", ""))


def matches(d: Delivery, channel: str, where: Where | None) -> bool:
    """True if `d` was accepted on `channel` and `where(event)` holds (a raise means no)."""
    if not d.ok or d.channel != channel:
        return False
    if where is None:
        return True
    try:
        return bool(where(d.event))
    except Exception:
        return False


def near_misses(
    ds: Sequence[Delivery],
    channel: str,
    where: Where | None = None,
    explain: Callable[[], str] | None = None,
) -> str:
    """A readable account of `ds`, grouped by why it did not match, then `explain()`."""
    same = [d for d in ds if d.ok and d.channel == channel]
    other = [d for d in ds if d.ok and d.channel != channel]
    failed = [d for d in ds if not d.ok]
    lines = []
    if not ds:
        lines.append("nothing was delivered to this webhook at all")
    if same:
        lines.append(f"on {channel!r}, not matching:")
        for d in same[-10:]:
            why = ""
            if where is not None:
                try:
                    where(d.event)
                except Exception as exc:
                    why = f"  (where raised {type(exc).__name__}: {exc})"
            lines.append(f"  {summarize(d)}{why}")
    if other:
        lines.append("on other channels:")
        lines.extend(f"  {summarize(d)}" for d in other[-10:])
    if failed:
        lines.append("answered with an error:")
        lines.extend(f"  HTTP {d.status} {summarize(d)} {d.error}".rstrip() for d in failed[-10:])
    if explain is not None:
        try:
            lines.append(explain())
        except Exception as exc:
            lines.append(f"(could not list published events: {exc})")
    return "\n".join(lines)


def summarize(d: Delivery) -> str:
    """One line: channel, short event id, attempt and the event's data, cut at 240 chars."""
    data = d.event.get("data")
    text = json.dumps(data, ensure_ascii=False) if data is not None else "-"
    if len(text) > 240:
        text = text[:237] + "..."
    return f"{d.channel} {d.event_id[:8]} attempt {d.attempt}: {text}"


def describe_where(where: Where | None) -> str:
    """The source of a lambda (`lambda e: e["data"]["x"] == 1`), else the function's name."""
    if where is None:
        return "anything"
    name = getattr(where, "__name__", repr(where))
    if name != "<lambda>":
        return name
    try:
        import inspect

        src = inspect.getsource(where)
    except (OSError, TypeError):
        return name
    start = src.find("lambda")
    if start < 0:
        return name
    depth, quote, end = 0, "", len(src)
    for i in range(start, len(src)):
        ch = src[i]
        if quote:
            if ch == quote:
                quote = ""
        elif ch in "'\"":
            quote = ch
        elif ch in "([{":
            depth += 1
        elif ch in ")]}":
            if depth == 0:
                end = i
                break
            depth -= 1
        elif (ch == "," and depth == 0) or ch == "\n":
            end = i
            break
    return " ".join(src[start:end].split())
