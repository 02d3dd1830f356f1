"""Waiting for something another process or thread will do, with a deadline, not a sleep."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def wait_for(check: Callable[[], T], timeout: float = 10.0, what: str = "condition",
             every: float = 0.05, context: Callable[[], str] | None = None) -> T:
    """Poll ``check`` until it returns something truthy, and return that."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = check()
        if result:
            return result
        time.sleep(every)
    detail = f"\n{context()}" if context else ""
    raise AssertionError(f"{what} not within {timeout}s{detail}")
