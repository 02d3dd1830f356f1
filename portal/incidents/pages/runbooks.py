"""The runbooks at ``/runbooks`` and ``/runbooks/<AlertName>``, where every alert's
``runbook_url`` points (see portal/incidents/runbooks.py). For every signed-in role that
sees alerts, as the people paged are the ones who need them."""

from __future__ import annotations

from flask import render_template
from markupsafe import Markup

from portal.auth.guard import requires
from portal.incidents.pages import bp
from portal.incidents.runbooks import find, runbooks

PERMISSION = "alerts.view"


@bp.get("/runbooks")
@requires(PERMISSION, page=True)
def runbook_list():
    return render_template("incidents/runbooks.html", runbooks=runbooks(), missing=None)


@bp.get("/runbooks/<alert>")
@requires(PERMISSION, page=True)
def runbook(alert: str):
    found = find(alert)
    if found is None:
        # A clear page that lists the runbooks there are, rather than a bare 404.
        return render_template("incidents/runbooks.html", runbooks=runbooks(),
                               missing=alert[:100]), 404
    # The Markdown renderer escapes any raw HTML in the file (markdown-it, html off).
    return render_template("incidents/runbook.html", runbook=found,
                           body=Markup(found.html()))  # noqa: S704 - escaped by the renderer
