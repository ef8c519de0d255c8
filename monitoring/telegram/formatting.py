"""Phone-width text for Telegram: compact tables in `<pre>` blocks, numbers a trader reads at a glance.

Pure functions over plain values (no orchestrator, no network, no clock). Every reply
is HTML (Telegram's `parse_mode=HTML`), so every piece of text that did not come from
this module is escaped here: a bot name or a venue's error message containing `<` or
`&` must not make Telegram refuse the whole message.

Width: a phone shows about 32 monospace columns in portrait before a `<pre>` block
scrolls sideways, so tables are cut to `WIDTH` by shortening their text columns.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from decimal import ROUND_HALF_UP, Decimal

WIDTH = 32
# Telegram refuses messages over 4096 characters (counted after the HTML is parsed); we stay
# under it counting the markup too, with room for a title line
MAX_MESSAGE_CHARS = 3900
ELLIPSIS = "…"


# ==============================================================================================
# Numbers
# ==============================================================================================
def _rounded(value: Decimal, places: int) -> Decimal:
    """Half up, as a trader rounds (Decimal's own formatting rounds half to even); no -0."""
    rounded = value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
    return abs(rounded) if rounded == 0 else rounded


def money(value: Decimal, *, signed: bool = True) -> str:
    """`+1,234.56` (signed) or `1,234.56`: cents, thousands separated."""
    cents = _rounded(value, 2)
    return f"{cents:+,.2f}" if signed else f"{cents:,.2f}"


def price(value: Decimal, *, grouped: bool = True) -> str:
    """Cents for large prices, four decimals below 1,000 (a forex rate, a 0.34 contract), no
    trailing zeros past the cents."""
    if abs(value) >= 1000:
        cents = _rounded(value, 2)
        return f"{cents:,.2f}" if grouped else f"{cents:.2f}"
    text = f"{_rounded(value, 4):.4f}".rstrip("0")
    whole, _, decimals = text.partition(".")
    return f"{whole}.{decimals.ljust(2, '0')}"


def quantity(value: Decimal, *, signed: bool = False) -> str:
    """A quantity without trailing zeros (`0.0123`, `5`), signed for positions (`+5`, `-0.5`)."""
    text = f"{value.normalize():f}" if value != 0 else "0"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    if signed and value > 0:
        text = "+" + text
    return text


def percent(fraction: float | None) -> str:
    return "-" if fraction is None else f"{fraction:.0%}"


def market(instrument_key: str) -> str:
    """The symbol a trader knows: `sim-crypto:BTC/USD` → `BTC/USD`."""
    return instrument_key.split(":", 1)[1] if ":" in instrument_key else instrument_key


def shorten(text: str, width: int) -> str:
    if width <= 0:
        return ""
    return text if len(text) <= width else text[: max(width - 1, 0)] + ELLIPSIS


# ==============================================================================================
# HTML
# ==============================================================================================
def escape(text: object) -> str:
    """Text safe inside Telegram HTML (`<`, `>` and `&` as entities)."""
    return html.escape(str(text), quote=False)


def pre(text: str) -> str:
    """A monospace block; its content escaped."""
    return f"<pre>{escape(text)}</pre>"


def bold(text: object) -> str:
    return f"<b>{escape(text)}</b>"


def titled(title: str, body: str, *, note: str = "") -> str:
    """`<b>title</b>`, the monospace body, and an optional plain note line under it."""
    parts = [bold(title), pre(body)]
    if note:
        parts.append(escape(note))
    return fit("\n".join(parts))


def fit(message: str, limit: int = MAX_MESSAGE_CHARS) -> str:
    """Cut a finished message to Telegram's size, keeping its HTML balanced: the first `<pre>`
    body loses its last lines (an ellipsis line says so); otherwise the message is cut at a line
    end (our tags never span lines)."""
    if len(message) <= limit:
        return message
    start = message.find("<pre>")
    end = message.find("</pre>", start)
    if start != -1 and end != -1:
        head, body, tail = message[: start + 5], message[start + 5 : end], message[end:]
        room = limit - len(head) - len(tail) - len(ELLIPSIS) - 1
        if room > 0:
            kept: list[str] = []
            used = 0
            for line in body.split("\n"):
                if used + len(line) + 1 > room:
                    break
                kept.append(line)
                used += len(line) + 1
            return head + "\n".join([*kept, ELLIPSIS]) + tail
    cut = message[: limit - len(ELLIPSIS) - 1].rsplit("\n", 1)[0]
    return cut + "\n" + ELLIPSIS


def keep_last_lines(lines: Sequence[str], room: int) -> list[str]:
    """The newest lines (the end of `lines`) that fit in `room` characters, in order."""
    kept: list[str] = []
    used = 0
    for line in reversed(lines):
        cost = len(escape(line)) + 1
        if used + cost > room:
            break
        kept.append(line)
        used += cost
    return list(reversed(kept))


# ==============================================================================================
# Tables
# ==============================================================================================
def table(
    headers: Sequence[str],
    rows: Sequence[Sequence[str]],
    *,
    right: Sequence[int] = (),
    width: int = WIDTH,
) -> str:
    """Columns separated by one space, the columns in `right` right-aligned (numbers), cut to
    `width` by shortening the widest text columns first (numbers are never cut)."""
    columns = len(headers)
    cells = [list(headers), *[[str(c) for c in row] for row in rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(columns)]
    excess = sum(widths) + columns - 1 - width
    shrinkable = [i for i in range(columns) if i not in right]
    while excess > 0 and shrinkable:
        widest = max(shrinkable, key=lambda i: widths[i])
        floor = max(len(headers[widest]), 4)
        if widths[widest] <= floor:
            shrinkable.remove(widest)
            continue
        widths[widest] -= 1
        excess -= 1
    lines = []
    for row in cells:
        parts = []
        for i, cell in enumerate(row):
            text = shorten(cell, widths[i])
            parts.append(text.rjust(widths[i]) if i in right else text.ljust(widths[i]))
        lines.append(" ".join(parts).rstrip())
    return "\n".join(lines)


def pairs(rows: Sequence[tuple[str, str]], *, width: int = WIDTH) -> str:
    """`label  value` lines, labels padded to one column, each line cut to `width`."""
    if not rows:
        return ""
    label_width = max(len(label) for label, _ in rows)
    return "\n".join(shorten(f"{label.ljust(label_width)} {value}".rstrip(), width) for label, value in rows)
