"""What a status page shows, computed once and shared by every visitor.

A page is read from the database, its components resolved to servers, their effective
status taken as the lists take it (``servers.listing``: the exporter's newest results over
the stored state changes, maintenance first) and their daily availability from the
reports' figures (``history``). The page renders it once and caches the result per process
(``page_cache``: reused while nothing in the registry changed, and for ``TTL_S`` at most,
recomputed in the background), so a visitor costs no database query. The bars change slowly and cost the
most, so they are kept for ``HISTORY_TTL_S`` even across registry changes.

Unless the page says ``show_internal``, nothing here names a server, its target or its
labels: only the display names the page's author chose.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from datetime import date
from zoneinfo import ZoneInfo

from sqlalchemy import or_, select
from sqlalchemy.orm import selectinload

from portal.charts.uptime import GOOD_PCT, WARN_PCT
from portal.dbtypes import utcnow
from portal.extensions import db
from portal.heartbeats.schedule import target_text
from portal.servers.labels import label_condition, label_view
from portal.servers.listing import as_rows, live_items, stored_items
from portal.servers.models import Server, ServerStatus
from portal.settings.service import load_settings
from portal.status_pages import history
from portal.status_pages.models import StatusComponent, StatusPage

TTL_S = 10.0
HISTORY_TTL_S = 60.0
SEVERITY = ("down", "unknown", "maintenance", "up")  # worst first, as servers.status ranks
STATE_TEXT = {"up": "Operational", "down": "Outage", "maintenance": "Under maintenance",
              "unknown": "Status unknown"}
BANNERS = {
    "operational": "All systems operational",
    "partial": "Partial outage",
    "major": "Major outage",
    "maintenance": "Maintenance in progress",
    "unknown": "Status unknown",
}

_history: dict[tuple, tuple[float, tuple]] = {}
_history_lock = threading.Lock()


@dataclass
class Bar:
    day: date
    pct: float | None  # None: no data (before the servers existed)
    grade: str  # good / warn / bad / none
    what: str  # "100 % available", "no data"


@dataclass
class ComponentView:
    name: str
    state: str
    state_text: str
    bars: list[Bar]
    uptime_pct: float | None
    bar_texts: list[str]
    internal: list[dict] = field(default_factory=list)  # servers, only with show_internal


@dataclass
class GroupView:
    name: str | None
    components: list[ComponentView]


@dataclass
class PageView:
    id: int
    name: str
    slug: str
    public: bool
    show_internal: bool
    note: str | None
    banner: str
    banner_text: str
    groups: list[GroupView]
    zone: str
    updated_at: str
    days: int = history.DAYS


def worst(states: list[str]) -> str:
    """The worst state its servers are known to be in. A member not yet probed (or whose
    results went stale) says nothing about the service, so it does not turn "Operational"
    into "Status unknown" while the others answer; only when none is known is it unknown."""
    known = [state for state in states if state != "unknown"]
    if not known:
        return "unknown"
    return min(known, key=SEVERITY.index)


def banner(states: list[str]) -> str:
    if not states:
        return "unknown"
    if "down" in states:
        return "major" if all(state == "down" for state in states) else "partial"
    if "maintenance" in states:
        return "maintenance"
    if all(state == "unknown" for state in states):
        return "unknown"
    return "operational"


def _grade(pct: float | None) -> str:
    if pct is None:
        return "none"
    return "good" if pct >= GOOD_PCT else "warn" if pct >= WARN_PCT else "bad"


def _bars(days: list[date], server_ids: list[int], per_server: dict) -> tuple[list[Bar], float | None]:
    bars = []
    total_expected = total_down = 0.0
    for position, day in enumerate(days):
        expected = down = 0.0
        known = False
        for server_id in server_ids:
            entry = per_server.get(server_id, [None] * len(days))[position]
            if entry is not None:
                known = True
                expected += entry.expected_s
                down += entry.downtime_s
        total_expected += expected
        total_down += down
        if not known:
            bars.append(Bar(day, None, "none", "no data"))
            continue
        pct = 100.0 if expected <= 0 else round(100.0 * (expected - down) / expected, 2)
        what = f"{'100' if pct >= 100 else f'{pct:.2f}'} % available"
        if down >= 60:
            what += f", {round(down / 60)} min down"
        bars.append(Bar(day, pct, _grade(pct), what))
    uptime = (round(100.0 * (total_expected - total_down) / total_expected, 2)
              if total_expected > 0 else None)
    return bars, uptime


def bar_texts(bars: list[Bar]) -> list[str]:
    """What the bars say, for a screen reader: every day, with a run of days alike in one
    line ("2026-09-04 to 2026-11-30: 100 % available") rather than 90 lines that repeat."""
    runs: list[list[Bar]] = []
    for bar in bars:
        if runs and runs[-1][0].what == bar.what:
            runs[-1].append(bar)
        else:
            runs.append([bar])
    return [f"{run[0].day:%Y-%m-%d}: {run[0].what}" if len(run) == 1
            else f"{run[0].day:%Y-%m-%d} to {run[-1].day:%Y-%m-%d}: {run[0].what}"
            for run in runs]


def _daily(page: StatusPage, server_ids: set[int], zone: ZoneInfo) -> tuple:
    """The bars' figures, kept for HISTORY_TTL_S unless the page itself changed."""
    slug = page.slug
    key = (slug, page.updated_at, frozenset(server_ids), zone.key)
    with _history_lock:
        entry = _history.get(key)
        if entry and entry[0] > time.monotonic():
            return entry[1]
    value = history.daily(server_ids, zone)
    with _history_lock:
        for stale in [k for k in _history if k[0] == slug]:
            del _history[stale]
        _history[key] = (time.monotonic() + HISTORY_TTL_S, value)
    return value


def _servers(components: list[StatusComponent]) -> list[dict]:
    ids = [c.server_id for c in components if c.server_id is not None]
    conditions = [Server.id.in_(ids)] if ids else []
    conditions += [label_condition(c.label_key, c.label_value)
                   for c in components if c.label_key is not None]
    if not conditions:
        return []
    query = select(Server).outerjoin(ServerStatus, ServerStatus.server_id == Server.id) \
        .where(or_(*conditions)).order_by(Server.id)
    return live_items(stored_items(db.session.execute(as_rows(query)).all()))


def _members(component: StatusComponent, items: list[dict]) -> list[dict]:
    if component.server_id is not None:
        return [item for item in items if item["id"] == component.server_id]
    return [item for item in items
            if label_view(item).get(component.label_key) == component.label_value]


def _internal(item: dict) -> dict:
    return {"id": item["id"], "name": item["name"], "target": target_text(item),
            "status": item["status"]}


def build(slug: str) -> PageView | None:
    """The page's view, or None when no page has this slug (the page caches that too: a
    stranger probing slugs costs no query either)."""
    page = db.session.scalar(select(StatusPage).where(StatusPage.slug == slug)
                             .options(selectinload(StatusPage.components)))
    if page is None:
        return None
    settings = load_settings()
    zone = ZoneInfo(settings.timezone)
    items = _servers(page.components)
    members = {c.id: _members(c, items) for c in page.components}
    covered = {item["id"] for group in members.values() for item in group}
    days, per_server = _daily(page, covered, zone)
    groups: list[GroupView] = []
    states = []
    for component in page.components:
        servers = members[component.id]
        state = worst([item["status"] for item in servers if item["enabled"]]
                      or [item["status"] for item in servers])
        states.append(state)
        bars, uptime = _bars(days, [item["id"] for item in servers], per_server)
        view = ComponentView(component.display_name, state, STATE_TEXT[state], bars, uptime,
                             bar_texts(bars),
                             [_internal(item) for item in servers] if page.show_internal else [])
        if groups and groups[-1].name == component.display_group:
            groups[-1].components.append(view)
        else:
            groups.append(GroupView(component.display_group, [view]))
    level = banner(states)
    now = utcnow().astimezone(zone)
    return PageView(page.id, page.name, page.slug, page.public, page.show_internal, page.note,
                    level, BANNERS[level], _merge_groups(groups), zone.key,
                    now.strftime("%Y-%m-%d %H:%M:%S ") + (now.tzname() or ""))


def _merge_groups(groups: list[GroupView]) -> list[GroupView]:
    """One section per group, in the order each group first appears."""
    merged: dict[str | None, GroupView] = {}
    for group in groups:
        if group.name in merged:
            merged[group.name].components.extend(group.components)
        else:
            merged[group.name] = group
    return list(merged.values())

