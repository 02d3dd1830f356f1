"""Sign-in throttling: failures slow further attempts down, per account and per client address.

Nothing locks an account: a hard lock lets anyone who knows a username keep its owner out.
Past a few free failures each further one makes the next attempt on that account, or from
that address, wait (1 s, doubling, to a cap), and once the wait is over the right password
signs in as usual.

Counts are kept for any username typed, existing or not, under a hash of it, so a 429
never tells an attacker which accounts exist. An attempt counts as a failure from the
moment it is let in, in one Redis script with the check: guesses sent in parallel cannot
all pass before the first has failed, and a success takes its count back. Without Redis a
sign-in can be neither checked nor counted, so it is refused with a 503 that says so (as
every session check is, auth/sessions.py), never let through unthrottled.
"""

from __future__ import annotations

import hashlib
import math
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime

import redis

from portal.errors import APIError
from portal.redis_client import get_redis


@dataclass(frozen=True)
class Schedule:
    """How one kind of counter slows attempts down. The ``limit``-th failure in a row and
    each after it make the next attempt wait ``first_s``, doubling, up to ``max_s``; the
    count is forgotten ``window_s`` after its last failure (longer than ``max_s``, so a
    patient attacker stays at the cap rather than starting afresh)."""

    key: str
    limit: int
    first_s: int
    max_s: int
    window_s: int


# An owner who mistyped is slowed by seconds; a guesser gets about 60 tries an hour.
ACCOUNT = Schedule("user", limit=5, first_s=1, max_s=60, window_s=15 * 60)
# More room for an office behind one address, and a cap an attacker feels.
ADDRESS = Schedule("addr", limit=20, first_s=1, max_s=15 * 60, window_s=60 * 60)


def wait_s(schedule: Schedule, failures: int) -> int:
    """How long the ``failures``-th failure in a row makes the next attempt wait."""
    if failures < schedule.limit:
        return 0
    return min(schedule.first_s * 2 ** min(failures - schedule.limit, 32), schedule.max_s)


# KEYS: per counter (account, then address), its hash {count, since} and its wait.
# ARGV: the attempt's token, now (ISO), then per counter limit, first ms, max ms, window s.
# Refuses (0, the longer wait in ms) while either wait runs; else counts the attempt in
# both, starts the wait it would cause if it fails (holding the token, so a success can
# release it) and answers (1, account count, account's first failure).
_ADMIT = """
local waiting = math.max(redis.call('PTTL', KEYS[2]), redis.call('PTTL', KEYS[4]))
if waiting > 0 then
  return {0, waiting}
end
local answer = {1}
for i = 0, 1 do
  local counts, wait = KEYS[1 + 2 * i], KEYS[2 + 2 * i]
  local limit, first, most, window = tonumber(ARGV[3 + 4 * i]), tonumber(ARGV[4 + 4 * i]),
                                     tonumber(ARGV[5 + 4 * i]), tonumber(ARGV[6 + 4 * i])
  local count = redis.call('HINCRBY', counts, 'count', 1)
  redis.call('HSETNX', counts, 'since', ARGV[2])
  redis.call('EXPIRE', counts, window)
  if count >= limit then
    local ms = math.min(first * 2 ^ math.min(count - limit, 32), most)
    redis.call('SET', wait, ARGV[1], 'PX', string.format('%d', ms))
  end
  if i == 0 then
    answer[2] = count
    answer[3] = redis.call('HGET', counts, 'since')
  end
end
return answer
"""

# KEYS: the account's hash and wait, the address's hash and wait. ARGV: the token.
# The account starts afresh; the address takes back the attempt and the wait it started.
_SUCCEEDED = """
redis.call('DEL', KEYS[1], KEYS[2])
if redis.call('HEXISTS', KEYS[3], 'count') == 1 then
  redis.call('HINCRBY', KEYS[3], 'count', -1)
end
if redis.call('GET', KEYS[4]) == ARGV[1] then
  redis.call('DEL', KEYS[4])
end
return 1
"""


@dataclass(frozen=True)
class Attempt:
    """One sign-in let through: counted as a failure until ``succeeded`` says otherwise."""

    keys: tuple[str, str, str, str]
    token: str
    account_failures: int
    failing_since: datetime


@contextmanager
def _store() -> Iterator[redis.Redis]:
    try:
        yield get_redis()
    except redis.RedisError as exc:
        raise APIError(503, "sign-in is unavailable: the session store (Redis) does not answer; "
                            "try again shortly") from exc


def _keys(username: str, address: str) -> tuple[str, str, str, str]:
    user = hashlib.sha256(username.strip().lower().encode()).hexdigest()[:32]
    return (f"login:fail:{ACCOUNT.key}:{user}", f"login:wait:{ACCOUNT.key}:{user}",
            f"login:fail:{ADDRESS.key}:{address}", f"login:wait:{ADDRESS.key}:{address}")


def _arguments(schedule: Schedule) -> list[int]:
    return [schedule.limit, schedule.first_s * 1000, schedule.max_s * 1000, schedule.window_s]


def admit(username: str, address: str) -> Attempt:
    """Let one attempt through and count it, or refuse with 429 and ``Retry-After`` while
    the account or the address must wait. Refused attempts count for nothing, so hammering
    during a wait does not lengthen it."""
    keys = _keys(username, address)
    token = secrets.token_hex(8)
    with _store() as store:
        answer = store.register_script(_ADMIT)(
            keys=list(keys),
            args=[token, datetime.now(UTC).isoformat(), *_arguments(ACCOUNT),
                  *_arguments(ADDRESS)])
    if answer[0] == 0:
        retry_after = max(math.ceil(int(answer[1]) / 1000), 1)
        raise APIError(
            429,
            f"too many failed sign-ins; try again in {retry_after} s",
            {"retry_after_s": retry_after},
            headers={"Retry-After": str(retry_after)},
        )
    since = answer[2].decode() if isinstance(answer[2], bytes) else answer[2]
    return Attempt(keys, token, int(answer[1]), datetime.fromisoformat(since))


def succeeded(attempt: Attempt) -> None:
    """The attempt signed in: its account starts afresh, its address is owed nothing for it."""
    with _store() as store:
        store.register_script(_SUCCEEDED)(keys=list(attempt.keys), args=[attempt.token])
