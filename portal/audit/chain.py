"""The hash of an audit row: SHA-256 over its content and the previous row's hash.

The content is serialised canonically (sorted keys, no spaces, times in ISO form at
microsecond precision, as both databases keep them), so the hash computed when a row is
written is the one recomputed from the row as read back.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC

CHAINED = ("id", "at", "actor_kind", "actor_id", "actor_name", "token_id", "address",
           "user_agent", "action", "target_kind", "target_id", "target_name", "before",
           "after", "detail")


def content(row: object) -> str:
    values = {name: getattr(row, name) for name in CHAINED}
    values["at"] = values["at"].astimezone(UTC).isoformat(timespec="microseconds")
    return json.dumps(values, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      default=str)


def row_hash(row: object, prev_hash: str) -> str:
    return hashlib.sha256(f"{prev_hash}\n{content(row)}".encode()).hexdigest()
