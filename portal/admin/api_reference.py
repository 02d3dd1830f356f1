"""The API docs page's content: every ``/api`` route, by area, with the fields of the
pydantic models it reads.

Which models a route reads is taken from its own code, not guessed: the models it passes
to ``parse_json`` / ``parse_query`` or whose ``model_fields`` it checks a body against,
read from the view's source, or what it declares with ``portal.schemas.takes`` when it
validates in a service function. The description is the view's docstring, else its entry
in ``api_summaries.SUMMARIES`` (a test requires one or the other for every route).
Answers are plain dicts built by each area's ``serialize`` module, so the page points to
docs/design.md for them rather than pretending to a schema.
"""

from __future__ import annotations

import ast
import inspect
import textwrap
import typing
from dataclasses import dataclass, field
from functools import lru_cache

from annotated_types import Ge, Gt, Le, Lt, MaxLen, MinLen
from flask import current_app
from pydantic import BaseModel
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

from portal.admin.api_summaries import SUMMARIES

BODY_READERS = {"parse_json"}
QUERY_READERS = {"parse_query"}


@dataclass(frozen=True)
class FieldDoc:
    name: str
    type: str
    required: bool
    rule: str  # default and limits, as a reader wants them: "default 50; 1-200"


@dataclass
class RouteDoc:
    methods: str
    path: str
    permission: str
    description: str
    body: list[FieldDoc] = field(default_factory=list)
    body_model: str | None = None
    query: list[FieldDoc] = field(default_factory=list)
    query_model: str | None = None


@dataclass
class AreaDoc:
    name: str
    slug: str
    routes: list[RouteDoc]


def _type_name(annotation: object) -> str:
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _type_name(typing.get_args(annotation)[0])
    if origin is typing.Literal:
        return " | ".join(repr(value) for value in typing.get_args(annotation))
    if origin in (typing.Union, getattr(__import__("types"), "UnionType", None)):
        parts = [_type_name(arg) for arg in typing.get_args(annotation) if arg is not type(None)]
        optional = type(None) in typing.get_args(annotation)
        return " | ".join(parts) + (" | null" if optional else "")
    if origin is not None:
        args = ", ".join(_type_name(arg) for arg in typing.get_args(annotation))
        return f"{getattr(origin, '__name__', str(origin))}[{args}]"
    if isinstance(annotation, type):
        return annotation.__name__
    return str(annotation).replace("typing.", "")


def _limits(info: FieldInfo) -> list[str]:
    found = []
    for item in info.metadata:
        if isinstance(item, Ge):
            found.append(f"≥ {item.ge}")
        elif isinstance(item, Gt):
            found.append(f"> {item.gt}")
        elif isinstance(item, Le):
            found.append(f"≤ {item.le}")
        elif isinstance(item, Lt):
            found.append(f"< {item.lt}")
        elif isinstance(item, MinLen):
            found.append(f"at least {item.min_length} long")
        elif isinstance(item, MaxLen):
            found.append(f"at most {item.max_length} long")
    return found


def model_fields(model: type[BaseModel]) -> list[FieldDoc]:
    docs = []
    for name, info in model.model_fields.items():
        rule = _limits(info)
        if not info.is_required():
            default = info.default
            if default is not PydanticUndefined and default is not None:
                rule.insert(0, f"default {default!r}" if not isinstance(default, str)
                            else f"default {default}")
        if info.description:
            rule.append(info.description)
        docs.append(FieldDoc(info.alias or name, _type_name(info.annotation), info.is_required(),
                             "; ".join(rule)))
    return docs


def _is_model(value: object) -> bool:
    return isinstance(value, type) and issubclass(value, BaseModel)


def _resolve(node: ast.expr, names: dict) -> type[BaseModel] | None:
    """The model an expression names: ``WindowIn`` or ``endpoint_book.EndpointIn``."""
    if isinstance(node, ast.Name):
        value = names.get(node.id)
    elif isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
        value = getattr(names.get(node.value.id), node.attr, None)
    else:
        return None
    return value if _is_model(value) else None


@lru_cache(maxsize=256)
def _models_read(view) -> tuple[type[BaseModel] | None, type[BaseModel] | None]:
    """(body, query) models the view's code names."""
    body = getattr(view, "api_body", None)
    query = getattr(view, "api_query", None)
    inner = inspect.unwrap(view)
    try:
        tree = ast.parse(textwrap.dedent(inspect.getsource(inner)))
    except (OSError, TypeError, SyntaxError):
        return body, query
    names = inner.__globals__
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.args:
            model = _resolve(node.args[0], names)
            if model and node.func.id in BODY_READERS and body is None:
                body = model
            elif model and node.func.id in QUERY_READERS and query is None:
                query = model
        elif isinstance(node, ast.Attribute) and node.attr == "model_fields" and body is None:
            body = _resolve(node.value, names)
    return body, query


def _area(path: str) -> str:
    return path.removeprefix("/api/").split("/", 1)[0]


AREA_NAMES = {"auth": "Sign-in and profile", "tokens": "Personal API tokens", "users": "Users",
              "servers": "Servers", "incidents": "Incidents", "maintenance": "Maintenance",
              "notifications": "Notifications", "reports": "Reports", "charts": "Charts",
              "promql": "PromQL", "settings": "Settings", "admin": "Admin", "system": "System",
              "audit": "Audit", "alertmanager": "Alertmanager", "sd": "Service discovery",
              "status-pages": "Status pages"}


def describe(endpoint: str, view) -> str:
    doc = inspect.getdoc(inspect.unwrap(view)) or ""
    first = doc.split("\n\n", 1)[0].replace("\n", " ").strip()
    return first or SUMMARIES.get(endpoint, "")


def api_reference() -> list[AreaDoc]:
    """Every /api route, grouped by the first part of its path, in path order."""
    areas: dict[str, list[RouteDoc]] = {}
    for rule in current_app.url_map.iter_rules():
        if not rule.rule.startswith("/api/"):
            continue
        view = current_app.view_functions[rule.endpoint]
        permission = getattr(view, "required_permission", None) or "public: " + getattr(
            view, "public_reason", "")
        body, query = _models_read(view)
        route = RouteDoc(
            methods=", ".join(sorted(rule.methods - {"HEAD", "OPTIONS"})), path=rule.rule,
            permission=permission, description=describe(rule.endpoint, view),
            body=model_fields(body) if body else [], body_model=body.__name__ if body else None,
            query=model_fields(query) if query else [],
            query_model=query.__name__ if query else None)
        areas.setdefault(_area(rule.rule), []).append(route)
    return [AreaDoc(AREA_NAMES.get(slug, slug.capitalize()), slug,
                    sorted(routes, key=lambda r: (r.path, r.methods)))
            for slug, routes in sorted(areas.items(), key=lambda item: min(r.path for r in item[1]))]
