"""The status page form: its fields, and its components as lines of text.

One component a line, ``server:<id> | Display name | Group`` or
``label:key=value | Display name | Group`` (the group may be left out), in the order the
page shows them: a form that works without JavaScript and says in one place what the
page lists.
"""

from __future__ import annotations

from collections.abc import Mapping

from portal.status_pages.models import StatusPage

FORM_FIELDS = frozenset({"name", "slug", "public", "show_internal", "note", "components"})
EXAMPLE = "server:12 | Online banking | Customer channels"


def form_values() -> dict:
    return {"name": "", "slug": "", "public": False, "show_internal": False, "note": "",
            "components": ""}


def component_line(component) -> str:
    scope = (f"server:{component.server_id}" if component.server_id is not None
             else f"label:{component.label_key}={component.label_value}")
    parts = [scope, component.display_name]
    if component.display_group:
        parts.append(component.display_group)
    return " | ".join(parts)


def page_values(page: StatusPage) -> dict:
    return {"name": page.name, "slug": page.slug, "public": page.public,
            "show_internal": page.show_internal, "note": page.note or "",
            "components": "\n".join(component_line(c) for c in page.components)}


def parse_line(line: str) -> dict:
    """One line as the API's component; ValueError says what is wrong with it."""
    parts = [part.strip() for part in line.split("|")]
    if len(parts) not in (2, 3) or not parts[1]:
        raise ValueError(f"write it as {EXAMPLE}")
    kind, _, scope = parts[0].partition(":")
    component: dict = {"display_name": parts[1],
                       "display_group": parts[2] if len(parts) == 3 and parts[2] else None}
    if kind.strip() == "server" and scope.strip().isdigit() and len(scope.strip()) < 19:
        component["server_id"] = int(scope)
    elif kind.strip() == "label" and scope.strip():
        component["label"] = scope.strip()
    else:
        raise ValueError("start with server:<id> or label:key=value")
    return component


def read_form(form: Mapping[str, str]) -> tuple[dict, dict, dict[str, str]]:
    """(values to show again, the API's body, errors found before validation)."""
    values = {"name": form.get("name", "").strip(), "slug": form.get("slug", "").strip(),
              "public": form.get("public") == "on",
              "show_internal": form.get("show_internal") == "on",
              "note": form.get("note", "").strip(), "components": form.get("components", "")}
    errors: dict[str, str] = {}
    components = []
    for number, line in enumerate(values["components"].splitlines(), start=1):
        if not line.strip():
            continue
        try:
            components.append(parse_line(line))
        except ValueError as exc:
            errors.setdefault("components", f"line {number}: {exc}")
    body = {key: values[key] for key in ("name", "slug", "public", "show_internal")}
    body["note"] = values["note"] or None
    body["components"] = components
    return values, body, errors
