"""What the fleet view and the wall draw for a server beyond its status: the heartbeat
bar of its last probes and the days its certificate has left. Plain functions of the
listing's item, so the templates stay loops and the numbers have one definition."""

from __future__ import annotations

import time
from dataclasses import dataclass
from functools import lru_cache

from wire import HEARTBEATS

CERT_WARN_DAYS = 14  # amber below this, as on the server page
CERT_DANGER_DAYS = 7  # red below this, and once expired
DAY_S = 86400


@dataclass(frozen=True)
class Bar:
    """One SVG path per outcome, on a ``0 0 HEARTBEATS 10`` box, newest at the right; a
    bar that has fewer beats than slots (the exporter restarted) leaves the left empty,
    over a thin track that shows where the missing history would be."""

    up: str
    down: str
    count: int
    failures: int

    @property
    def label(self) -> str:
        if not self.count:
            return "No probe results yet"
        short = "" if self.count >= HEARTBEATS else " (all since the exporter last started)"
        return (f"Last {self.count} probes{short}: {self.count - self.failures} up, "
                f"{self.failures} down")


@lru_cache(maxsize=4096)  # most of a fleet shares a handful of bars (all up, mostly)
def heartbeat_bar(beats: str) -> Bar:
    """Each run of equal outcomes is one rectangle (a thousand cells of forty separate
    ones made the page a megabyte heavier); live/fleet.js draws the same."""
    beats = beats[-HEARTBEATS:]
    offset = HEARTBEATS - len(beats)
    paths: dict[str, list[str]] = {"u": [], "d": []}
    start = 0
    for position in range(1, len(beats) + 1):
        if position == len(beats) or beats[position] != beats[start]:
            width = position - start
            paths[beats[start]].append(f"M{offset + start} 0h{width}v10h-{width}z")
            start = position
    return Bar(up="".join(paths["u"]), down="".join(paths["d"]), count=len(beats),
               failures=beats.count("d"))


@dataclass(frozen=True)
class CertDays:
    days: int  # whole days left, negative once expired
    grade: str  # "ok", "warn", "danger"

    @property
    def text(self) -> str:
        return f"expired {-self.days} d ago" if self.days < 0 else f"{self.days} d"

    @property
    def short(self) -> str:
        """For a fleet cell's narrow column: "12d", or "exp." once expired."""
        return "exp." if self.days < 0 else f"{self.days}d"


def cert_days(expiry: float | None, now: float | None = None) -> CertDays | None:
    """None for a server whose probes see no certificate."""
    if expiry is None:
        return None
    left_s = expiry - (time.time() if now is None else now)
    days = int(left_s // DAY_S) if left_s >= 0 else -int(-left_s // DAY_S) - 1
    grade = ("danger" if left_s < CERT_DANGER_DAYS * DAY_S
             else "warn" if left_s < CERT_WARN_DAYS * DAY_S else "ok")
    return CertDays(days=days, grade=grade)
