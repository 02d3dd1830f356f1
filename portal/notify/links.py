"""A message body as the notification centre shows it: its web addresses as links.

Messages end with "Details: <url>" (``portal/notify/messages.py``); on the page that should
be a link, not text to copy. Only http and https addresses become links, so a body can
never carry a ``javascript:`` one; the template escapes every part.
"""

from __future__ import annotations

import re
from typing import NamedTuple

_URL = re.compile(r"https?://[^\s<>\"']+", re.IGNORECASE)
_TRAILING = ".,;:!?)]}"  # sentence punctuation after an address is not part of it


class BodyPart(NamedTuple):
    text: str
    href: str | None  # set for an address, which is also its text


def body_parts(body: str | None) -> list[BodyPart]:
    parts: list[BodyPart] = []
    text = body or ""
    at = 0
    for match in _URL.finditer(text):
        url = match.group().rstrip(_TRAILING)
        if not url.split("://", 1)[1]:
            continue
        if match.start() > at:
            parts.append(BodyPart(text[at:match.start()], None))
        parts.append(BodyPart(url, url))
        at = match.start() + len(url)
    if at < len(text):
        parts.append(BodyPart(text[at:], None))
    return parts
