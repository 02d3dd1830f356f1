"""The Audit page: who did what, when and from where, for those with the Admin Dashboard.

It reads through the API's own filters (``audit.queries``) and takes its dates as the Logs
page does: days in the configured time zone. Its CSV link is the API's download with the
same filters, those days turned into instants with their offset.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from flask import Blueprint, render_template, request, url_for

from portal.audit.queries import AuditQuery, audit_query, has_events, known_actions
from portal.auth.guard import requires
from portal.pagination import paginate
from portal.web.context import current_settings
from portal.web.forms import day_range, filter_query, page_number

bp = Blueprint("audit_pages", __name__, template_folder="templates")

PAGE_SIZE = 50
FILTER_FIELDS = ("actor", "action", "target", "from", "to")
TEXT_FIELDS = ("actor", "action", "target")
MAX_CHANGES = 6  # lines of before -> after per row; the API and the CSV have the rest
MAX_VALUE = 60  # characters of one value shown


@dataclass
class AuditFilters:
    values: dict[str, str]  # as typed, to fill the form again
    query: AuditQuery
    errors: dict[str, str]

    @property
    def active(self) -> bool:
        return any(self.values.values())


def read_filters(args, zone: ZoneInfo) -> AuditFilters:
    """Filters from the query string; a bad one is reported beside its field and ignored."""
    values = {name: args.get(name, "").strip() for name in FILTER_FIELDS}
    errors: dict[str, str] = {}
    data: dict[str, object] = {name: values[name] for name in TEXT_FIELDS if values[name]}
    start, end = day_range(values, zone, errors)
    if start:
        data["from"] = start
    if end:
        data["to"] = end
    query = filter_query(AuditQuery, data, errors)
    return AuditFilters(values=values, query=query, errors=errors)


def api_filters(query: AuditQuery) -> dict[str, str]:
    """The filters in force, as GET /api/audit takes them."""
    kept = {name: getattr(query, name) for name in TEXT_FIELDS if getattr(query, name)}
    if query.from_:
        kept["from"] = query.from_.isoformat()
    if query.to:
        kept["to"] = query.to.isoformat()
    return kept


def action_choices(chosen: str) -> list[tuple[str, str]]:
    """Each area's actions as a whole (``auth.``), then its actions one by one; the chosen
    value stays listed even when the trail no longer holds it (an old link)."""
    choices = [("", "Any action")]
    areas: dict[str, list[str]] = {}
    for action in known_actions():
        areas.setdefault(action.partition(".")[0], []).append(action)
    for area, actions in areas.items():
        if len(actions) > 1:
            choices.append((f"{area}.", f"{area}.* (every {area} action)"))
        choices.extend((action, action) for action in actions)
    if chosen and chosen not in {value for value, _ in choices}:
        choices.append((chosen, chosen))
    return choices


def _short(value: Any) -> str:
    if value is None:
        return "—"
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return text if len(text) <= MAX_VALUE else text[:MAX_VALUE - 1] + "…"


def change_lines(event: Any) -> tuple[list[tuple[str, str | None, str | None]], int]:
    """(field, before, after) for the first fields a row changed, and how many more there
    are. A field only in ``after`` was set (a creation), only in ``before`` was removed; a
    row with neither shows its ``detail`` as values set."""
    before, after = event.before or {}, event.after or {}
    if not before and not after:
        after = event.detail or {}
    names = list(dict.fromkeys([*before, *after]))
    lines = [(name, _short(before[name]) if name in before else None,
              _short(after[name]) if name in after else None) for name in names[:MAX_CHANGES]]
    return lines, max(0, len(names) - MAX_CHANGES)


@bp.get("/admin/audit")
@requires("admin.view", page=True)
def audit():
    zone = ZoneInfo(current_settings().timezone)
    filters = read_filters(request.args, zone)
    query = audit_query(filters.query)
    result = paginate(query, page_number(), PAGE_SIZE, lambda event: event)
    if result["page"] > result["pages"]:  # an old link past the end: its last page
        result = paginate(query, result["pages"], PAGE_SIZE, lambda event: event)
    kept = {name: value for name, value in filters.values.items() if value}

    def page_url(number: int) -> str:
        return url_for("audit_pages.audit", **kept, page=number)

    return render_template(
        "audit/audit.html", filters=filters, result=result, zone=zone,
        action_choices=action_choices(filters.values["action"]),
        any_events=bool(result["total"]) or has_events(), page_url=page_url,
        change_lines=change_lines,
        csv_url=url_for("audit_api.list_events", format="csv", **api_filters(filters.query)),
    )
