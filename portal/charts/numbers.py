"""Prometheus values written for people: a few significant digits and the unit the
metric's name declares (``_seconds``, ``_bytes``), so the Query table shows "3.37 ms", not
``0.003372717999809538``. The page keeps the raw value beside it (in a title)."""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import UTC, datetime

SIGNIFICANT = 4
TIMESTAMP_SUFFIXES = ("_expiry", "_timestamp", "_timestamp_seconds", "_time_seconds")


def significant(number: float, digits: int = SIGNIFICANT) -> str:
    """``number`` to ``digits`` significant digits, without exponents for everyday sizes
    and without trailing zeros: 0.003373, 12.5, 1234, 1 234 567."""
    if number == 0:
        return "0"
    magnitude = math.floor(math.log10(abs(number)))
    if magnitude >= digits:  # a large number: all its whole digits, grouped
        return f"{round(number):,}".replace(",", " ")
    if magnitude < -6:
        mantissa, _, exponent = f"{number:.{digits - 1}e}".partition("e")
        return f"{mantissa.rstrip('0').rstrip('.')}e{exponent}"
    decimals = max(0, digits - 1 - magnitude)
    text = f"{number:.{decimals}f}"
    if "." in text:
        return text.rstrip("0").rstrip(".")
    return f"{int(text):,}".replace(",", " ") if abs(int(text)) >= 10**digits else text


def _duration(seconds: float) -> str:
    size = abs(seconds)
    if size and size < 1e-3:
        return f"{significant(seconds * 1e6, 3)} µs"
    if size < 1:
        return f"{significant(seconds * 1000, 3)} ms"
    if size < 120:
        return f"{significant(seconds, 3)} s"
    if size < 7200:
        return f"{significant(seconds / 60, 3)} min"
    if size < 2 * 86400:
        return f"{significant(seconds / 3600, 3)} h"
    return f"{significant(seconds / 86400, 3)} d"


def _bytes(size: float) -> str:
    for unit, scale in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if abs(size) >= scale:
            return f"{significant(size / scale, 3)} {unit}"
    return f"{significant(size)} B"


def _utc(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def human_value(raw: str, name: str = "", when: Callable[[float], str] = _utc) -> str:
    """A sample's value (the string Prometheus sends) as the Query table shows it; the
    metric's name, when the result still has one, gives the unit. ``when`` writes a
    timestamp (the page passes its time zone's)."""
    try:
        number = float(raw)
    except (TypeError, ValueError):
        return str(raw)
    if not math.isfinite(number):
        return str(raw)
    if name.endswith(TIMESTAMP_SUFFIXES) and number > 1e9:
        return when(number)
    if name.endswith("_seconds") or name.endswith("_seconds_total"):
        return _duration(number)
    if name.endswith("_bytes") or name.endswith("_bytes_total"):
        return _bytes(number)
    return significant(number)
