"""The Logs page: every server's state changes, newest first, for those with Server Logs.

It reads through the log API's own query (``servers.events``), across servers or for one,
and takes its dates as the Alerts page does: days in the configured time zone. It is a
blueprint of its own (``log_pages``), as its permission differs from the other pages'.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from flask import Blueprint, Response, render_template, request, stream_with_context, url_for
from pydantic import ValidationError
from sqlalchemy import select

from portal.auth.guard import requires
from portal.errors import validation_error
from portal.extensions import db
from portal.pagination import paginate
from portal.reports.formats import csv_lines, neutralise
from portal.servers.events import event_query, oldest_first
from portal.servers.models import Server, ServerEvent
from portal.servers.schemas import LogQuery
from portal.web.context import current_settings
from portal.web.forms import chosen_server, day_range, page_number

bp = Blueprint("log_pages", __name__, template_folder="../templates")

PAGE_SIZE = 50
FILTER_FIELDS = ("server", "status", "from", "to")
STATUS_CHOICES = (("", "Any change"), ("down", "Went down"), ("up", "Came back up"))
CSV_HEADER = ("at", "server_id", "server", "previous", "status", "reason", "latency_ms",
              "last_ok_at")


@dataclass
class LogFilters:
    values: dict[str, str]  # as typed, to fill the form again
    server_id: int | None
    query: LogQuery
    errors: dict[str, str]

    @property
    def active(self) -> bool:
        return any(self.values.values())


def read_filters(args, zone: ZoneInfo) -> LogFilters:
    """Filters from the query string; a bad one is reported beside its field and ignored."""
    values = {name: args.get(name, "").strip() for name in FILTER_FIELDS}
    errors: dict[str, str] = {}
    server_id = chosen_server(values, errors)
    data: dict[str, object] = {}
    start, end = day_range(values, zone, errors)
    if start:
        data["from"] = start
    if end:
        data["to"] = end
    if values["status"]:
        data["status"] = values["status"]
    try:
        query = LogQuery.model_validate(data)
    except ValidationError as exc:
        errors.update(validation_error(exc).details)
        query = LogQuery.model_validate({k: v for k, v in data.items() if k not in errors})
    return LogFilters(values=values, server_id=server_id, query=query, errors=errors)


@bp.get("/logs")
@requires("logs.view", page=True)
def logs():
    zone = ZoneInfo(current_settings().timezone)
    filters = read_filters(request.args, zone)
    query = event_query(filters.server_id, filters.query)
    result = paginate(query, page_number(), PAGE_SIZE, lambda event: event)
    if result["page"] > result["pages"]:  # an old link past the end: its last page
        result = paginate(query, result["pages"], PAGE_SIZE, lambda event: event)
    servers = db.session.execute(select(Server.id, Server.name).order_by(Server.name)).all()
    names = dict(servers)
    any_events = bool(result["total"]) or db.session.scalar(select(ServerEvent.id).limit(1)) is not None

    def page_url(number: int) -> str:
        return url_for("log_pages.logs", **_kept(filters), page=number)

    return render_template(
        "servers/log.html", filters=filters, result=result, names=names, zone=zone,
        server_choices=[("", "Any server")] + [(str(i), name) for i, name in servers],
        status_choices=STATUS_CHOICES, any_events=any_events, page_url=page_url,
        csv_url=url_for("log_pages.logs_csv", **_kept(filters)),
    )


def _kept(filters: LogFilters) -> dict[str, str]:
    return {name: value for name, value in filters.values.items() if value}


@bp.get("/logs.csv")
@requires("logs.view", page=True)
def logs_csv():
    """The whole filtered log, oldest first as a ticket or an audit reads it, streamed in
    chunks so a long log costs no memory; times in the configured zone, with their offset."""
    zone = ZoneInfo(current_settings().timezone)
    filters = read_filters(request.args, zone)
    names = dict(db.session.execute(select(Server.id, Server.name)).all())
    query = oldest_first(event_query(filters.server_id, filters.query)).execution_options(
        yield_per=1000)

    def local(value) -> str:
        return value.astimezone(zone).isoformat() if value else ""

    def rows() -> Iterator[list]:
        """Queried once streaming has begun, on that context's session: the view's own
        session is closed by then (a query made here in the view failed on the first row
        served for real, "identity map is no longer valid")."""
        for e in db.session.scalars(query):
            yield [local(e.at), e.server_id, neutralise(names.get(e.server_id)), e.previous,
                   e.status, neutralise(e.reason), e.latency_ms, local(e.last_ok_at)]

    return Response(stream_with_context(csv_lines(CSV_HEADER, rows())), mimetype="text/csv",
                    headers={"Content-Disposition": 'attachment; filename="servermon-log.csv"'})
