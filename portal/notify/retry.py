"""What a sender raises to steer the outbox's retries: wait as long as the provider asked,
or give up at once when no retry can succeed."""

from __future__ import annotations

from email.utils import parsedate_to_datetime

from portal.dbtypes import utcnow

DEFAULT_THROTTLE_S = 60.0  # a 429 that does not say how long


class RetryLater(Exception):
    """The provider refused for now and said for how long (HTTP 429 with Retry-After)."""

    def __init__(self, message: str, after_s: float) -> None:
        super().__init__(message)
        self.after_s = after_s


class Undeliverable(Exception):
    """No retry can succeed (the endpoint was removed): the page fails for good now."""


def retry_after_s(value: str | None) -> float:
    """Retry-After as seconds: a number of seconds or an HTTP date (RFC 9110)."""
    if not value:
        return DEFAULT_THROTTLE_S
    try:
        return max(float(value), 0.0)
    except ValueError:
        pass
    try:
        return max((parsedate_to_datetime(value) - utcnow()).total_seconds(), 0.0)
    except (TypeError, ValueError):
        return DEFAULT_THROTTLE_S
