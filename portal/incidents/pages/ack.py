"""The page a page's acknowledgement link opens: no sign-in; GET shows what it would
acknowledge, the button (POST) acknowledges (portal/incidents/ack_link.py)."""

from __future__ import annotations

from flask import render_template, url_for

from portal.auth.guard import public
from portal.errors import APIError
from portal.incidents.ack_link import acknowledge_by_link, linked_page
from portal.incidents.pages import bp


def _details(incidents: list) -> str:
    if len(incidents) == 1:
        return url_for("incident_pages.alerts", incident=incidents[0].id)
    return url_for("incident_pages.alerts")


def _refused(exc: APIError):
    return render_template("incidents/ack_link.html", error=exc.message,
                           details=url_for("incident_pages.alerts")), exc.status


@bp.get("/ack/<token>")
@public("an acknowledgement link: the signed token is the credential")
def ack_link(token: str):
    try:
        page = linked_page(token)
    except APIError as exc:
        return _refused(exc)
    return render_template("incidents/ack_link.html", error=None, done=None,
                           incidents=page.incidents, sent_to=page.sent_to,
                           channel="e-mail" if page.row.channel == "email" else page.row.channel,
                           details=_details(page.incidents))


@bp.post("/ack/<token>")
@public("an acknowledgement link: the signed token is the credential")
def ack_link_confirm(token: str):
    try:
        page, done = acknowledge_by_link(token)
    except APIError as exc:
        return _refused(exc)
    return render_template("incidents/ack_link.html", error=None, done=done,
                           skipped=len(page.incidents) - len(done), sent_to=page.sent_to,
                           details=_details(page.incidents))
