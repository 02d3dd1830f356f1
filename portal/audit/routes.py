"""GET /api/audit: the audit trail, filtered and paged as JSON, or whole as a CSV download."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime
from zoneinfo import ZoneInfo

from flask import Blueprint, Response, jsonify, stream_with_context
from sqlalchemy import Select

from portal.audit.queries import AuditQuery, audit_query, in_chain_order, serialize_event
from portal.auth.guard import requires
from portal.pagination import paginate
from portal.reports.formats import csv_lines, neutralise
from portal.schemas import parse_query
from portal.settings.service import load_settings

bp = Blueprint("audit_api", __name__, url_prefix="/api/audit")

CSV_HEADER = ("id", "at", "actor_kind", "actor_id", "actor_name", "token_id", "address",
              "user_agent", "action", "target_kind", "target_id", "target_name", "before", "after",
              "detail", "prev_hash", "hash")


@bp.get("")
@requires("admin.view")
def list_events():
    args = parse_query(AuditQuery)
    query = audit_query(args)
    if args.format == "csv":
        return _download(query)
    return jsonify(paginate(query, args.page, args.per_page, serialize_event))


def _json_cell(value: object) -> str:
    return "" if value is None else neutralise(json.dumps(value, ensure_ascii=False, sort_keys=True))


def _download(query: Select) -> Response:
    """Every matching row, oldest first as an auditor reads it, times in the configured
    zone with their offset. Names, addresses, agents and values were typed by someone (or
    sent by their browser), so each text cell is neutralised against spreadsheet formulas."""
    zone = ZoneInfo(load_settings().timezone)

    def rows() -> Iterator[list]:
        """Queried once streaming has begun, on the streaming context's session."""
        for e in in_chain_order(query):
            yield [e.id, e.at.astimezone(zone).isoformat(), e.actor_kind, e.actor_id,
                   neutralise(e.actor_name), e.token_id, neutralise(e.address),
                   neutralise(e.user_agent), neutralise(e.action), neutralise(e.target_kind),
                   neutralise(e.target_id), neutralise(e.target_name), _json_cell(e.before),
                   _json_cell(e.after), _json_cell(e.detail), e.prev_hash, e.hash]

    name = f"servermon-audit-{datetime.now(zone):%Y%m%d}.csv"
    return Response(stream_with_context(csv_lines(CSV_HEADER, rows())), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})
