"""Password hashing with Argon2id (argon2-cffi), the OWASP-recommended KDF, and the
policy a new password must meet (zxcvbn)."""

from __future__ import annotations

import re
from collections.abc import Iterable

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from zxcvbn import zxcvbn

_hasher = PasswordHasher()
# Verified against when the username does not exist, so both paths cost the same time.
_DUMMY_HASH = _hasher.hash("servermon-dummy-password")

MIN_LENGTH = 12
MAX_LENGTH = 128
# zxcvbn's estimate, 0-4: 3 is "safely unguessable" (about 10^8 guesses and more), which
# with Argon2id's cost per guess holds out against an offline attack on a stolen table.
MIN_SCORE = 3
SCORED_LENGTH = 72  # zxcvbn's own limit; a password longer than that is long enough
SITE_WORDS = ("servermon", "server", "monitor", "portal", "bank", "admin")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    return _hasher.check_needs_rehash(password_hash)


def password_problem(password: str, user_inputs: Iterable[str | None] = ()) -> str | None:
    """Why a new password is refused, or None; shared by the API, the pages and the CLI.

    zxcvbn's dictionaries (common passwords, names, words, keyboard walks, dates) judge
    it, with the account's own username and address and this site's words counted as
    known to an attacker: ``Password1!``, ``qwertyuiop12`` and the username are refused.
    """
    if len(password) < MIN_LENGTH:
        return f"must be at least {MIN_LENGTH} characters"
    if len(password) > MAX_LENGTH:
        return f"must be at most {MAX_LENGTH} characters"
    if len(set(password)) < 4:
        return "is too simple"
    known = [*SITE_WORDS]
    lowered = password.lower()
    for value in filter(None, user_inputs):
        whole = value.lower().split("@")[0]  # a username, or an address's own part
        if len(whole) >= 4 and whole in lowered:
            return "must not contain the account's username or e-mail address"
        known += [value, *re.split(r"[@._+-]+", value)]
    result = zxcvbn(password[:SCORED_LENGTH], user_inputs=[word for word in known if word])
    if result["score"] < MIN_SCORE:
        warning = (result["feedback"].get("warning") or "").rstrip(".")
        return "is too easy to guess" + (f" ({warning[:1].lower()}{warning[1:]})" if warning
                                         else "; add words or make it longer")
    return None
