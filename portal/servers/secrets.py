"""A server's probe secrets (``wire.SECRET_SETTINGS``): sealed in their columns, opened
only to validate an edit, never shown.

The API shows each as ``{"set": true}`` or ``{"set": false}``; ``http_headers`` as
``{"set": true, "names": ["X-Api-Key"]}`` (names are not secret, values are). A client
sends a secret's plaintext to set it, ``null`` (or ``""``, ``{}`` for headers) to clear it,
and leaves it out (or sends back what it read, ``{"set": true}``) to keep it.
"""

from __future__ import annotations

import json
from functools import lru_cache

from flask import current_app

from portal.errors import APIError
from wire import SECRET_SETTINGS
from wire.secrets import Keyring, is_sealed, seal, unseal

UNREADABLE = "cannot be unsealed with this portal's PROBE_SECRETS_KEY; enter it again"


@lru_cache(maxsize=4)
def _keyring(text: str) -> Keyring:
    return Keyring.from_text(text)


def keyring() -> Keyring:
    return _keyring(current_app.config["SERVERMON"].probe_secrets_key)


def plain_text(name: str, value: object) -> str | None:
    """A secret's plaintext as stored before sealing: headers as their JSON object."""
    if value is None or value == "" or value == {}:
        return None
    if name == "http_headers" and isinstance(value, dict):
        return json.dumps(value, separators=(",", ":"))
    return str(value)


def _is_marker(value: object) -> bool:
    return (isinstance(value, dict) and "set" in value and isinstance(value["set"], bool)
            and set(value) <= {"set", "names"})


def open_secrets(data: dict, current: dict | None = None) -> dict:
    """``data`` with its secrets in plaintext, for ``ServerSpec`` to check: sealed values
    (the stored ones an edit is merged over) opened, ``{"set": true}`` the ``current``
    (stored) value kept, ``{"set": false}`` cleared. 400 naming the field otherwise."""
    data = dict(data)
    problems = {}
    # Sealed values open only for the target they were sealed for: the stored server's.
    bound = (current or {}).get("target")
    for name in SECRET_SETTINGS:
        if name not in data:
            continue
        value = data[name]
        if _is_marker(value):
            if not value["set"]:
                data[name] = None
                continue
            value = (current or {}).get(name)
            if value is None:
                problems[name] = "is not set; give its value"
                continue
        if is_sealed(value):
            if not bound:
                problems[name] = "give its value; a sealed value is accepted only as stored"
                continue
            try:
                text = unseal(keyring(), value, bound_to=bound)
            except ValueError:
                problems[name] = UNREADABLE
                continue
            value = json.loads(text) if name == "http_headers" else text
        data[name] = value
    if problems:
        raise APIError(400, f"invalid value for {', '.join(problems)}", problems)
    return data


def sealed(name: str, value: object, stored: str | None, *, target: str,
           stored_target: str | None) -> str | None:
    """The column value for a secret's plaintext ``value`` on a server probing ``target``:
    the ``stored`` sealed text when it holds the same plaintext for the same target (so an
    edit that keeps a secret changes nothing, in the audit trail or in what SD sends), else
    the value sealed with the first key for ``target``."""
    text = plain_text(name, value)
    if text is None:
        return None
    if is_sealed(stored) and stored_target == target:
        try:
            if unseal(keyring(), stored, bound_to=stored_target) == text:
                return stored
        except ValueError:
            pass
    return seal(keyring(), text, bound_to=target)


def shown(name: str, stored: str | None, target: str | None) -> dict:
    """What the API and pages show of a stored secret of a server probing ``target``."""
    if not stored:
        return {"set": False, "names": []} if name == "http_headers" else {"set": False}
    if name != "http_headers":
        return {"set": True}
    try:
        return {"set": True,
                "names": list(json.loads(unseal(keyring(), stored, bound_to=target or "")))}
    except ValueError:
        return {"set": True, "names": [], "unreadable": True}


def sealed_param(name: str, value: object, target: str) -> str | None:
    """A secret of an unsaved spec as "test now" sends it to the exporter: sealed for the
    spec's target, so the plaintext is in no URL, log or proxy on the way."""
    text = plain_text(name, value)
    return None if text is None else seal(keyring(), text, bound_to=target)
