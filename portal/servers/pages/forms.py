"""The add, edit and delete forms of a server, and "Test now".

The forms build the same dict the JSON API takes and validate it with the API's own
``validate_spec``, so a page can accept nothing the API would refuse (and vice versa).
"""

from __future__ import annotations

import json

from flask import flash, redirect, render_template, request, url_for
from sqlalchemy import select
from werkzeug.datastructures import MultiDict

from portal.auth.guard import current_user, requires
from portal.auth.models import User
from portal.errors import APIError
from portal.extensions import db
from portal.servers.models import Server
from portal.servers.pages import KIND_LABELS, bp
from portal.servers.probe_now import probe_once
from portal.servers.schemas import ServerSpec
from portal.servers.secrets import shown
from portal.servers.service import (
    create_server,
    delete_server,
    get_server_or_404,
    spec_of,
    update_server,
    validate_spec,
    with_probe_defaults,
)
from portal.web.forms import form_errors
from wire import DNS_RECORD_TYPES, KINDS, SECRET_SETTINGS

TARGET_HELP = {
    "http": "A full URL, e.g. https://ebanking.bank.co.ug/health",
    "tcp": "host:port, e.g. db1.bank.local:5432 or [2001:db8::1]:443",
    "icmp": "A host name or IP address, e.g. core-sw1.bank.local or 10.20.0.1",
    "dns": "The name to look up, e.g. www.bank.co.ug (an IP address for PTR records)",
    "heartbeat": "Leave empty: the job pings its own URL, shown once the monitor is saved",
}

BOOL_FIELDS = ("enabled", "http_keyword_regex", "http_follow_redirects", "tls_verify", "tcp_tls")
INT_FIELDS = ("interval_s", "timeout_s", "down_after", "http_max_latency_ms", "owner_id",
              "depends_on_id", "escalate_after_min", "heartbeat_period_s", "heartbeat_grace_s")
OPTIONAL_FIELDS = ("environment", "group", "description", "http_keyword", "dns_expected",
                   "dns_resolver", "http_max_latency_ms", "owner_id", "depends_on_id",
                   "escalate_after_min", "http_body", "http_basic_auth_username",
                   "tls_client_cert", "dns_answer_regex", "dns_answer_absent_regex",
                   "heartbeat_period_s", "heartbeat_grace_s", "heartbeat_cron",
                   "resources_endpoint")
# Read apart: headers are "Name: value" lines, query_response JSON, and a secret left
# blank keeps what is stored (its "clear" box removes it); a secret is never shown again.
SPECIAL_FIELDS = ("tcp_query_response", *SECRET_SETTINGS)
TEXT_FIELDS = tuple(name for name in ServerSpec.model_fields
                    if name not in BOOL_FIELDS and name not in INT_FIELDS and name != "labels"
                    and name not in SPECIAL_FIELDS)
FORM_FIELDS = frozenset(ServerSpec.model_fields)


def parse_labels(text: str) -> dict[str, str]:
    """One ``key=value`` per line; blank lines and ``#`` comments are skipped."""
    labels: dict[str, str] = {}
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        key, sep, value = line.partition("=")
        key, value = key.strip(), value.strip()
        if not sep or not key or not value:
            raise ValueError(f"line {number} ({line[:40]!r}) is not key=value")
        if key in labels:
            raise ValueError(f"line {number}: label {key!r} is given twice")
        labels[key] = value
    return labels


def labels_text(labels: dict[str, str]) -> str:
    return "\n".join(f"{key}={value}" for key, value in labels.items())


def parse_headers(text: str) -> dict[str, str]:
    """One ``Name: value`` per line, as they go on the wire; blank lines skipped."""
    headers: dict[str, str] = {}
    for number, raw in enumerate(text.splitlines(), 1):
        if not raw.strip():
            continue
        name, sep, value = raw.partition(":")
        if not sep or not name.strip():
            raise ValueError(f"line {number} is not Name: value")
        headers[name.strip()] = value.strip()
    return headers


def _read_special(form: MultiDict, data: dict, errors: dict[str, str]) -> None:
    data["dns_transport"] = data.get("dns_transport") or "udp"
    data["resources_exporter"] = data.get("resources_exporter") or "node"
    text = form.get("tcp_query_response", "").strip()
    try:
        data["tcp_query_response"] = json.loads(text) if text else None
    except ValueError:
        errors["tcp_query_response"] = ('must be a JSON list of steps, e.g. [{"expect": "^220"}, '
                                        '{"send": "QUIT"}]')
    for name in SECRET_SETTINGS:
        text = form.get(name, "")
        if f"{name}__clear" in form:
            data[name] = None
        elif text.strip():
            if name != "http_headers":
                data[name] = text.strip() if name == "tls_client_key" else text
                continue
            try:
                data[name] = parse_headers(text)
            except ValueError as exc:
                errors[name] = str(exc)
        # blank: the stored value (the base the form is merged over) stays


NOT_KEPT = "Not saved, as other fields need correcting: enter it again."


def read_form(form: MultiDict) -> tuple[dict, dict, dict[str, str]]:
    """The form as (values to show again, the API's dict, errors found before validation).

    An unchecked checkbox is absent from the post, so it reads as false.
    """
    values: dict[str, object] = {name: form.get(name, "") for name in (*TEXT_FIELDS, *INT_FIELDS)}
    values.update({name: name in form for name in BOOL_FIELDS})
    values["labels"] = form.get("labels", "")
    values["tcp_query_response"] = form.get("tcp_query_response", "")
    values.update(dict.fromkeys(SECRET_SETTINGS, ""))  # a secret typed is not shown again
    data: dict[str, object] = {name: values[name] for name in (*TEXT_FIELDS, *BOOL_FIELDS)}
    errors: dict[str, str] = {}
    _read_special(form, data, errors)
    for name in INT_FIELDS:
        text = str(values[name]).strip()
        if not text:
            if name in OPTIONAL_FIELDS:
                data[name] = None  # blank interval/timeout: the settings' probe defaults apply
        elif text.isdigit() and len(text) < 10:
            data[name] = int(text)
        else:
            errors[name] = "enter a whole number"
    for name in OPTIONAL_FIELDS:
        if data.get(name) == "":
            data[name] = None
    try:
        data["labels"] = parse_labels(str(values["labels"]))
    except ValueError as exc:
        errors["labels"] = str(exc)
        data["labels"] = {}
    return values, data, errors


def _new_values() -> dict:
    values = {name: field.get_default(call_default_factory=True)
              for name, field in ServerSpec.model_fields.items() if not field.is_required()}
    values.update(with_probe_defaults({}), name="", kind="http", target="",
                  owner_id=current_user().id, labels="")
    return values


def _edit_values(server: Server) -> dict:
    values = spec_of(server)
    values["labels"] = labels_text(values["labels"])
    steps = values["tcp_query_response"]
    values["tcp_query_response"] = json.dumps(steps, indent=1) if steps else ""
    values.update(dict.fromkeys(SECRET_SETTINGS, ""))
    return values


def _render_form(server: Server | None, values: dict, errors: dict[str, str], status: int = 200,
                 retype: dict[str, str] | None = None, **probe: object):
    users = db.session.execute(select(User.id, User.username).order_by(User.username)).all()
    others = select(Server.id, Server.name).order_by(Server.name)
    if server is not None:
        others = others.where(Server.id != server.id)
    return render_template(
        "servers/form.html", **probe,
        server=server, values=values, kinds=KINDS, kind_labels=KIND_LABELS,
        errors={name: message[:1].upper() + message[1:] for name, message in errors.items()},
        target_help=TARGET_HELP, record_types=DNS_RECORD_TYPES,
        secrets={name: {**shown(name, getattr(server, name) if server else None,
                                server.target if server else None),
                        "retype": (retype or {}).get(name)} for name in SECRET_SETTINGS},
        owners=[("", "Nobody")] + [(user.id, user.username) for user in users],
        parents=[("", "Nothing")] + [(row.id, row.name) for row in db.session.execute(others)],
        active_nav="server_pages.servers",
    ), status


def _save(server: Server | None):
    """Validate the posted form like the API would, then create or update; errors re-render."""
    values, data, errors = read_form(request.form)
    base = with_probe_defaults({}) if server is None else spec_of(server)
    try:
        spec = validate_spec({**base, **{k: v for k, v in data.items() if k not in errors}},
                             base)
        if errors:
            return _render_form(server, values, errors, 400,
                                retype=_typed_secrets(errors, NOT_KEPT))
        if request.form.get("action") == "test":
            return _test_now(server, values, spec)
        saved = create_server(spec, current_user()) if server is None else update_server(server, spec)
    except APIError as exc:
        errors = {**form_errors(exc, FORM_FIELDS), **errors}
        return _render_form(server, values, errors, exc.status if exc.status < 500 else 400,
                            retype=_typed_secrets(errors, NOT_KEPT))
    flash(f"Server {saved.name} {'added' if server is None else 'saved'}.", "success")
    return redirect(url_for("server_pages.server_detail", server_id=saved.id))


def _typed_secrets(errors: dict[str, str], message: str) -> dict[str, str]:
    """A note for each secret typed into this post and not kept. A secret is never written
    back into the page, so after a failed save or a test its field is blank again; without
    the note, the next save would keep the stored value (or none) unnoticed."""
    form = request.form
    return {name: message for name in SECRET_SETTINGS
            if form.get(name, "").strip() and f"{name}__clear" not in form and name not in errors}


def _test_now(server: Server | None, values: dict, spec):
    """Probe the form's settings once through the exporter, and show the form again."""
    retype = _typed_secrets({}, "Tested with the value typed; enter it again to save it.")
    try:
        return _render_form(server, values, {}, probe=probe_once(spec), retype=retype)
    except APIError as exc:
        return _render_form(server, values, {}, probe_error=exc.message, retype=retype)


@bp.route("/servers/new", methods=["GET", "POST"])
@requires("servers.manage", page=True)
def server_new():
    if request.method == "POST":
        return _save(None)
    return _render_form(None, _new_values(), {})


@bp.route("/servers/<int:server_id>/edit", methods=["GET", "POST"])
@requires("servers.manage", page=True)
def server_edit(server_id: int):
    server = get_server_or_404(server_id)
    if request.method == "POST":
        return _save(server)
    return _render_form(server, _edit_values(server), {})


@bp.route("/servers/<int:server_id>/delete", methods=["GET", "POST"])
@requires("servers.manage", page=True)
def server_delete(server_id: int):
    """GET asks for confirmation; only the POST from that page deletes."""
    server = get_server_or_404(server_id)
    if request.method == "GET":
        return render_template("servers/delete.html", server=server, active_nav="server_pages.servers")
    name = server.name
    delete_server(server)
    flash(f"Server {name} deleted.", "success")
    return redirect(url_for("server_pages.servers"))
