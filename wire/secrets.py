"""Probe secrets sealed at rest: the portal seals, the exporter unseals.

A server's HTTP headers, basic-auth password, bearer token and TLS client key
(``wire.SECRET_SETTINGS``) are stored in the portal's database and sent through service
discovery as ``enc:v1:<Fernet token>``, so neither the database, its backups, Prometheus
(which reads the SD labels) nor anyone reading its targets page ever holds the plaintext.
Only the two processes given ``PROBE_SECRETS_KEY`` can open them.

Each sealed value is bound to the target it is for: the sealed plaintext is
``<target>\n<secret>``, and ``unseal`` is told the target and refuses a value sealed for
another. The exporter opens a secret only for the target it came with, so whoever can read
service discovery (Prometheus, the SD token) and call ``/probe`` cannot have the exporter
send a server's token to an address of their choosing; nor can a client attach another
server's sealed value to its own. A server whose target changes has its secrets sealed
again for the new one.

``PROBE_SECRETS_KEY`` is one key or several, comma-separated, each any string of at least
32 characters (derived to a Fernet key by SHA-256). The first seals; every one unseals, so
a key is rotated by putting the new one first, re-saving (or leaving) the servers, and
dropping the old one once nothing sealed by it is left.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterable

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

PREFIX = "enc:v1:"
MIN_KEY_LENGTH = 32


class Keyring:
    """The keys of ``PROBE_SECRETS_KEY``: the first seals, all of them unseal."""

    __slots__ = ("_fernet", "count")

    def __init__(self, keys: Iterable[str]) -> None:
        keys = [key.strip() for key in keys if key.strip()]
        if not keys:
            raise ValueError("names no key")
        for number, key in enumerate(keys, 1):
            if len(key) < MIN_KEY_LENGTH:
                raise ValueError(f"key {number} must be at least {MIN_KEY_LENGTH} characters long")
        self.count = len(keys)
        self._fernet = MultiFernet([
            Fernet(base64.urlsafe_b64encode(hashlib.sha256(key.encode()).digest()))
            for key in keys])

    @classmethod
    def from_text(cls, text: str) -> Keyring:
        """``"k1,k2"``; ValueError says what is wrong without quoting a key."""
        return cls(text.split(","))

    def __repr__(self) -> str:  # never the keys
        return f"Keyring({self.count} key{'s' if self.count != 1 else ''})"


def is_sealed(value: object) -> bool:
    return isinstance(value, str) and value.startswith(PREFIX)


def _bound(target: str) -> str:
    target = target.strip()
    if not target or "\n" in target:
        raise ValueError("a sealed value is bound to a target of one line")
    return target


def seal(keyring: Keyring, plaintext: str, *, bound_to: str) -> str:
    """``enc:v1:<token>``, sealed with the first key, for the target ``bound_to``."""
    text = f"{_bound(bound_to)}\n{plaintext}"
    return PREFIX + keyring._fernet.encrypt(text.encode()).decode("ascii")


def unseal(keyring: Keyring, value: str, *, bound_to: str) -> str:
    """The plaintext of ``seal``'s output for the target ``bound_to``. ValueError, naming
    nothing secret, when it is not sealed text, was sealed with a key not in ``keyring``,
    was altered, or was sealed for another target."""
    if not is_sealed(value):
        raise ValueError(f"is not sealed text (it must start with {PREFIX})")
    try:
        text = keyring._fernet.decrypt(value[len(PREFIX):].encode("ascii")).decode()
    except (InvalidToken, UnicodeError):
        raise ValueError("cannot be unsealed: it was sealed with a key not in "
                         "PROBE_SECRETS_KEY, or altered") from None
    target, _, plaintext = text.partition("\n")
    if target != _bound(bound_to):
        raise ValueError("was sealed for another target")
    return plaintext


def rotate(keyring: Keyring, value: str) -> str:
    """``value`` sealed again with the first key (after a new key was put first)."""
    if not is_sealed(value):
        raise ValueError(f"is not sealed text (it must start with {PREFIX})")
    try:
        return PREFIX + keyring._fernet.rotate(value[len(PREFIX):].encode("ascii")).decode("ascii")
    except (InvalidToken, UnicodeError):
        raise ValueError("cannot be unsealed: it was sealed with a key not in "
                         "PROBE_SECRETS_KEY, or altered") from None
