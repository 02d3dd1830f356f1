"""The directory (LDAP / Active Directory), read with ldap3: find a user, check a password
by binding as them, and say which role their groups give.

Every connection is encrypted and the server's certificate checked (``ldaps://``, or
StartTLS on ``ldap://`` before anything is sent), against ``LDAP_CA_FILE`` or the system's
CAs, so no password crosses the network in clear. Connect and receive timeouts make a dead
directory fail in seconds with ``DirectoryUnavailable``, which callers answer with 503,
never taken for "no such user": an outage must not disable anyone.

The typed username goes into ``LDAP_USER_FILTER`` escaped (``escape_filter_chars``), so
``*)(uid=*`` is a name to look for, not a filter. An empty password is refused before any
bind: LDAP takes a bind with a DN and no password as an anonymous one, which "succeeds".
"""

from __future__ import annotations

import logging
import re
import ssl
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from urllib.parse import urlsplit

from flask import current_app
from ldap3 import NONE, SUBTREE, Connection, Server, Tls
from ldap3.core.exceptions import LDAPException, LDAPInvalidDnError
from ldap3.utils.conv import escape_filter_chars

from portal.config import LdapConfig, normal_dn
from portal.rbac import ROLES, permissions_of

log = logging.getLogger(__name__)

# "Highest role wins": more permissions first, then the order of portal/rbac.py.
ROLE_RANK: tuple[str, ...] = tuple(sorted(ROLES, key=lambda r: (-len(permissions_of(r)),
                                                                 ROLES.index(r))))
_PHONE = re.compile(r"^\+[1-9]\d{6,14}$")
_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]{2,}$")


class DirectoryUnavailable(Exception):
    """The directory did not answer, refused the TLS handshake or the service account."""


@dataclass(frozen=True)
class Entry:
    """What the portal takes from a directory user."""

    dn: str
    email: str | None
    phone: str | None
    groups: frozenset[str]  # normalised DNs (portal.config.normal_dn)
    role: str | None  # the highest mapped role of the groups; None: no access


def settings() -> LdapConfig | None:
    """The directory's configuration, None when ``LDAP_URL`` is unset."""
    return current_app.config["SERVERMON"].ldap


def role_for(groups: frozenset[str], config: LdapConfig) -> str | None:
    roles = {role for dn, role in config.role_groups if dn in groups}
    return next((role for role in ROLE_RANK if role in roles), None)


def _first(values: object) -> str | None:
    if isinstance(values, list):
        values = values[0] if values else None
    return str(values).strip() if values not in (None, "") else None


def _phone(value: str | None) -> str | None:
    """International numbers only, as the portal keeps them; anything else is left out."""
    number = re.sub(r"[\s().-]", "", value or "")
    return number if _PHONE.match(number) else None


def _server(config: LdapConfig) -> tuple[Server, bool]:
    parts = urlsplit(config.url)
    ldaps = parts.scheme == "ldaps"
    tls = Tls(validate=ssl.CERT_REQUIRED, ca_certs_file=config.ca_file)
    server = Server(parts.hostname, port=parts.port or (636 if ldaps else 389), use_ssl=ldaps,
                    tls=tls, get_info=NONE, connect_timeout=config.timeout_s)
    return server, ldaps


def _open(config: LdapConfig, user: str | None, password: str | None) -> Connection:
    """An encrypted connection, not yet bound."""
    server, ldaps = _server(config)
    # No referral chasing: AD answers a search from the domain root with referrals to
    # other partitions, which would be followed unencrypted and untimed.
    connection = Connection(server, user=user, password=password, read_only=True,
                            receive_timeout=config.timeout_s, raise_exceptions=False,
                            auto_referrals=False)
    connection.open()
    if not ldaps and not connection.start_tls():
        connection.unbind()
        raise DirectoryUnavailable(f"StartTLS refused: {connection.result.get('description')}")
    return connection


class Reader:
    """One service-account connection, for one sign-in or a batch of re-checks."""

    def __init__(self, config: LdapConfig, connection: Connection) -> None:
        self.config = config
        self.connection = connection

    def _search(self, base: str, query: str, attributes: list[str], limit: int) -> list[dict]:
        ok = self.connection.search(base, query, SUBTREE, attributes=attributes, size_limit=limit)
        result = self.connection.result or {}
        if not ok and result.get("description") not in ("success", "noSuchObject",
                                                         "sizeLimitExceeded"):
            raise DirectoryUnavailable(f"search under {base} failed: {result.get('description')}")
        return [item for item in self.connection.response or []
                if item.get("type") == "searchResEntry"]

    def find(self, username: str) -> Entry | None:
        """The one entry the filter finds for ``username``; None for none or several (an
        ambiguous filter must not let one person in as another)."""
        config = self.config
        query = config.user_filter.replace("{username}", escape_filter_chars(username))
        attributes = [config.email_attribute, *config.phone_attributes,
                      config.member_of_attribute]
        found = self._search(config.user_base, query, attributes, 2)
        if len(found) != 1:
            if len(found) > 1:
                log.warning("LDAP_USER_FILTER matches %d entries for one name; refused",
                            len(found))
            return None
        dn, values = found[0]["dn"], found[0].get("attributes") or {}
        groups = set()
        for group in values.get(config.member_of_attribute) or []:
            groups.add(_normal(str(group)))
        if config.group_base:
            member = escape_filter_chars(dn)
            for group in self._search(config.group_base,
                                      f"(|(member={member})(uniqueMember={member}))", [], 0):
                groups.add(_normal(group["dn"]))
        groups.discard("")
        email = _first(values.get(config.email_attribute))
        phone = next(filter(None, (_phone(_first(values.get(name)))
                                   for name in config.phone_attributes)), None)
        frozen = frozenset(groups)
        return Entry(dn=dn, email=email if email and _EMAIL.match(email) else None,
                     phone=phone, groups=frozen, role=role_for(frozen, config))

    def password_ok(self, entry: Entry, password: str) -> bool:
        """Bind as the user on a connection of its own; the service account's stays as it was."""
        if not password:
            return False
        connection = _open(self.config, entry.dn, password)
        try:
            if connection.bind():
                return True
            description = (connection.result or {}).get("description")
            if description in ("invalidCredentials", "inappropriateAuthentication",
                               "unwillingToPerform", "constraintViolation"):
                return False  # AD answers an expired or locked account with one of these
            raise DirectoryUnavailable(f"bind as a user failed: {description}")
        finally:
            connection.unbind()


def _normal(dn: str) -> str:
    try:
        return normal_dn(dn)
    except LDAPInvalidDnError:
        return ""


@contextmanager
def reader(config: LdapConfig) -> Iterator[Reader]:
    """Bind as the service account (``LDAP_BIND_DN``; anonymously without one). Every
    failure to reach or use the directory comes out as ``DirectoryUnavailable``, logged
    with its cause (never a password)."""
    connection = None
    try:
        connection = _open(config, config.bind_dn, config.bind_password)
        if not connection.bind():
            raise DirectoryUnavailable("the service account's bind was refused: "
                                       f"{(connection.result or {}).get('description')}")
        yield Reader(config, connection)
    except DirectoryUnavailable as exc:
        log.warning("directory %s unavailable: %s", config.url, exc)
        raise
    except (LDAPException, OSError, ssl.SSLError) as exc:
        log.warning("directory %s unavailable: %s: %s", config.url, type(exc).__name__, exc)
        raise DirectoryUnavailable(str(exc)) from exc
    finally:
        if connection is not None:
            with suppress(LDAPException, OSError):
                connection.unbind()
