"""What a sender raises when the provider asked it to wait (the outbox honours it)."""

from __future__ import annotations


class RetryLater(Exception):
    """The provider refused for now and said for how long (HTTP 429 with Retry-After)."""

    def __init__(self, message: str, after_s: float) -> None:
        super().__init__(message)
        self.after_s = after_s
