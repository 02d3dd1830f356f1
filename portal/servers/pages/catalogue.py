"""The server list: every registered server, filtered and sorted as the API lists them."""

from __future__ import annotations

from flask import render_template, request

from portal.auth.guard import requires
from portal.servers.listing import distinct_values, server_page
from portal.servers.models import Server
from portal.servers.pages import KIND_LABELS, bp, filters_from_args
from portal.servers.schemas import ServerQuery
from portal.servers.status import STATUSES
from portal.web.forms import page_url
from wire import KINDS


@bp.get("/servers")
@requires("status.view", page=True)
def servers():
    args, filter_error = filters_from_args()
    return render_template(
        "servers/list.html",
        args=args, result=server_page(args), filter_error=filter_error, kinds=KINDS,
        statuses=STATUSES, kind_labels=KIND_LABELS,
        environments=distinct_values(Server.environment),
        groups=distinct_values(Server.group_name), page_url=page_url,
        filtered=any(request.args.get(key) for key in ServerQuery.model_fields
                     if key not in ("page", "per_page", "sort")),
    )
