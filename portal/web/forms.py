"""Forms and filters on pages: API errors beside their fields, and the query arguments
filter forms share (page, server, days)."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from datetime import date, datetime, time, timedelta
from typing import TypeVar
from zoneinfo import ZoneInfo

from flask import request, url_for
from pydantic import BaseModel, ValidationError

from portal.errors import APIError, validation_error

M = TypeVar("M", bound=BaseModel)


def form_errors(exc: APIError, fields: Collection[str],
                aliases: Mapping[str, str] | None = None) -> dict[str, str]:
    """An APIError's details keyed by form field; what fits no field goes under ``_form``.

    Details use the API's dotted paths (``labels.env``); a cross-field message that names
    its field first ("probe_timeout_s must be ...") is put next to that field.
    """
    aliases = aliases or {}
    errors: dict[str, str] = {}
    for path, detail in exc.details.items():
        head, _, rest = path.partition(".")
        name, message = aliases.get(head, head), str(detail)
        if rest:
            message = f"{rest}: {message}"
        if name not in fields:
            first, _, remainder = message.partition(" ")
            if first in fields and remainder:
                name, message = first, remainder
            else:
                name = "_form"
                message = message if path == "body" else f"{path}: {message}"
        errors.setdefault(name, message)
    if not errors or exc.status != 400:
        errors.setdefault("_form", exc.message)
    return errors


def page_number() -> int:
    """The ``page`` query argument of a page; anything odd means the first page."""
    text = request.args.get("page", "")
    return int(text) if text.isdigit() and 0 < len(text) < 7 and int(text) > 0 else 1


def page_url(page: int) -> str:
    """This page's own address with every query argument kept but ``page``."""
    args = request.args.to_dict(flat=False)
    args["page"] = [str(page)]
    return url_for(request.endpoint, **(request.view_args or {}), **args)


def chosen_server(values: dict[str, str], errors: dict[str, str]) -> int | None:
    """The id picked in a filter form's "server" list; anything else is reported under it."""
    text = values["server"]
    if not text:
        return None
    if text.isdigit() and len(text) < 10:
        return int(text)
    errors["server"] = "choose a server from the list"
    return None


def day_range(values: dict[str, str], zone: ZoneInfo,
              errors: dict[str, str]) -> tuple[datetime | None, datetime | None]:
    """The days of a filter form's "from" and "to" (inclusive) as the instants
    [start of "from", end of "to") in ``zone``. Bad input is reported in ``errors`` under
    its field and left out; it is also blanked in ``values``, since a date input cannot show
    it (browsers drop it with a console warning): the message beside it says what it was."""
    start = _local_day(values, zone, "from", errors)
    end = _local_day(values, zone, "to", errors)
    if end is not None:
        end += timedelta(days=1)  # the "to" day is included
    if start and end and end <= start:
        errors["to"] = "must not be before the start date"
        end = None
    return start, end


def _local_day(values: dict[str, str], zone: ZoneInfo, name: str,
               errors: dict[str, str]) -> datetime | None:
    if not values[name]:
        return None
    try:
        return datetime.combine(date.fromisoformat(values[name]), time(), zone)
    except ValueError:
        errors[name] = f"enter a date as YYYY-MM-DD, not “{values[name][:40]}”"
        values[name] = ""
        return None


def filter_query(model: type[M], data: dict[str, object], errors: dict[str, str],
                 aliases: dict[str, str] | None = None) -> M:
    """A page's filters as the API's query model: a value the model refuses is reported
    beside its input (named by ``aliases`` where the form calls it otherwise) and left out,
    so the page still shows what the rest select."""
    aliases = aliases or {}
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        for name, message in validation_error(exc).details.items():
            errors[aliases.get(name, name)] = message
        return model.model_validate(
            {key: value for key, value in data.items() if aliases.get(key, key) not in errors})


def optional_number(form, name: str) -> dict[str, object]:
    """``{name: int}`` from a small number field, ``{}`` when blank (the schema's default
    applies), the text itself when it is not a number (the schema names the field)."""
    text = form.get(name, "").strip()
    if not text:
        return {}
    return {name: int(text) if text.isdigit() and len(text) < 10 else text}


def not_added(what: str, details: dict[str, str]) -> str:
    """The flash for a small form the schema refused: every field and what is wrong."""
    return f"The {what} was not added: " + "; ".join(
        f"{field} {message}" for field, message in details.items()) + "."
