"""Storm digests: what one message says for many incidents, and when a wave's next goes.

Pages are planned per incident, and the outbox rows stay the record (one per incident,
state, channel and recipient), but they are sent per recipient: a send claims every due
row of its (channel, recipient, state) at once (portal/notify/outbox.py). When a message
of that kind went to that recipient less than the gathering window ago, the claimed rows
wait until the window after it has run out and then go together, as one digest. So the
first incident of a wave pages at once, with no added delay, and the rest of the wave at
most once per window; each incident is in exactly one message per recipient and state.

A wave that goes on widens its windows: each digest that gathered waits twice as long as
the last before the next, up to ``WIDEST`` windows, so a storm spread over minutes (probe
schedules, Alertmanager's per-server ticks) is three or four messages, not one per window.
A recovery gathers over twice the window from the start: it is good news about outages
the recipient already knows of, and Alertmanager sends resolutions on each server's own
minute tick, so they come spread over a minute and more. A message that gathered nothing
(the window had run out) starts a new wave at the first window again.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import and_, or_, select

from portal.extensions import db
from portal.incidents.models import Incident
from portal.notify.messages import SMS_LIMIT, local_time, one_line
from portal.notify.models import Notification

SMS_DIGEST_LIMIT = 2 * 153  # two concatenated GSM segments
NAMES_SHOWN = 2  # per group, in the subject and SMS
GROUPS_SHOWN = 2
BODY_LINES = 500  # a storm beyond this is cut in the e-mail, and says so


WIDEST = 4  # a long storm's digests come at least every 4 windows
RECOVERY_FACTOR = 2


@dataclass(frozen=True)
class Previous:
    """The last message of a kind to a recipient: when it was claimed, and the window its
    rows had gathered over (0 when it went at once)."""

    at: datetime
    window_s: int


def previous_message(row: Notification, claimed_at: datetime, claim: str) -> Previous | None:
    """The last message of ``row``'s kind to its recipient before this claim (sent, or being
    sent). Claims of one instant are ordered by their token, so of two workers claiming at
    once exactly one goes first."""
    found = db.session.execute(select(Notification.claimed_at, Notification.window_s).where(
        Notification.channel == row.channel, Notification.recipient == row.recipient,
        Notification.state == row.state, Notification.status.in_(("sending", "sent")),
        Notification.claim != claim,
        or_(Notification.claimed_at < claimed_at,
            and_(Notification.claimed_at == claimed_at, Notification.claim < claim)))
        .order_by(Notification.claimed_at.desc(), Notification.claim.desc()).limit(1)).first()
    return Previous(found.claimed_at, found.window_s or 0) if found else None


def window_after(previous: Previous | None, state: str, window_s: int) -> int:
    """How long after ``previous`` the next message of its kind gathers: the window (twice
    it for a recovery) after a message that went at once, then twice the last, widening."""
    if previous is None or window_s <= 0:
        return 0
    first = window_s * (RECOVERY_FACTOR if state == "resolved" else 1)
    if not previous.window_s:
        return first
    return min(max(2 * previous.window_s, first), WIDEST * window_s)


def hold_until(previous: Previous | None, window: int, now: datetime) -> datetime | None:
    """The end of the gathering window when a message of this kind went within it."""
    if previous is None or window <= 0:
        return None
    until = previous.at + timedelta(seconds=window)
    return until if until > now else None


def gathered(rows: Sequence[Notification], previous: Previous | None, window: int) -> int:
    """The window this message's rows gathered over, or 0 if none came within it (the wave
    had ended: this message starts a new one)."""
    if previous is None or window <= 0:
        return 0
    until = previous.at + timedelta(seconds=window)
    return window if min(row.created_at for row in rows) < until else 0


def follows_a_page(previous: Previous | None, window: int, now: datetime) -> bool:
    """Whether this digest continues a wave a message already told of ("36 more")."""
    return previous is not None and now - previous.at <= timedelta(seconds=window + 60)


def _scope(incident: Incident) -> str:
    labels = incident.labels or {}
    parts = [one_line(labels.get(key)) for key in ("environment", "group") if labels.get(key)]
    return "/".join(parts) or "ungrouped"


def _name(incident: Incident) -> str:
    return one_line(incident.server_name or incident.labels.get("server")
                    or incident.summary or incident.alertname)


def _groups(incidents: Sequence[Incident], names_shown: int, groups_shown: int) -> str:
    """``production/core-banking: cbs-app-01, cbs-db-02 and 34 more; ...``, largest first."""
    by_scope: dict[str, list[Incident]] = defaultdict(list)
    for incident in incidents:
        by_scope[_scope(incident)].append(incident)
    ordered = sorted(by_scope.items(), key=lambda item: (-len(item[1]), item[0]))
    parts = []
    for scope, members in ordered[:groups_shown]:
        names = [_name(incident) for incident in members[:names_shown]]
        more = len(members) - len(names)
        listed = ", ".join(names) + (f" and {more} more" if more else "")
        parts.append(f"{scope}: {listed}" if names else f"{scope}: {len(members)}")
    rest = ordered[groups_shown:]
    if rest:
        count = sum(len(members) for _, members in rest)
        parts.append(f"{count} in {len(rest)} other group{'s' if len(rest) > 1 else ''}")
    return "; ".join(parts)


_HEADLINES = {
    "firing": ("DOWN", "{n} {more}servers", "down"),
    "flapping": ("FLAPPING", "{n} {more}servers keep going up and down", "flapping"),
    "resolved": ("RESOLVED", "{n} {more}servers back up", "back up"),
}


def compose_digest(incidents: Sequence[Incident], state: str, zone: ZoneInfo, link: str, *,
                   more: bool) -> tuple[str, str, str]:
    """Subject, e-mail body and SMS for one message about ``incidents`` (oldest first)."""
    word, headline, verb = _HEADLINES.get(state, _HEADLINES["firing"])
    count = len(incidents)
    what = headline.format(n=count, more="more " if more else "")
    first = min(incident.started_at for incident in incidents)
    moment = first if state != "resolved" else max(
        incident.ended_at or incident.started_at for incident in incidents)
    since = local_time(moment, zone)
    preposition = "since" if state != "resolved" else "by"
    subject = f"[servermon] {word}: {what} ({_groups(incidents, NAMES_SHOWN, GROUPS_SHOWN)}) " \
              f"{preposition} {since}"
    lines = [f"{count} {'more ' if more else ''}incidents {verb} {preposition} {since}, in one "
             "message so that a storm does not bury you; each is listed below and on the "
             f"Alerts page:\n{link}\n"]
    for incident in incidents[:BODY_LINES]:
        why = one_line(incident.reason or incident.summary or incident.alertname)
        started = local_time(incident.started_at, zone)
        if state == "resolved":
            ended = local_time(incident.ended_at or incident.started_at, zone)
            lines.append(f"- {_name(incident)} ({_scope(incident)}): down {started}, up {ended}")
        else:
            lines.append(f"- {_name(incident)} ({_scope(incident)}): since {started}: {why}")
    if count > BODY_LINES:
        lines.append(f"... and {count - BODY_LINES} more on the Alerts page.")
    body = "\n".join(lines) + "\n"
    return subject[:300], body, _sms(incidents, word, what, preposition, since, link)


def _sms(incidents: Sequence[Incident], word: str, what: str, preposition: str, since: str,
         link: str) -> str:
    """Within two segments: as many names as fit, fewer when they do not."""
    for names, groups in ((NAMES_SHOWN, GROUPS_SHOWN), (1, 1), (0, 1)):
        text = f"{word} {what} {preposition} {since} ({_groups(incidents, names, groups)}) {link}"
        if len(text) <= SMS_DIGEST_LIMIT:
            return text
    text = f"{word} {what} {preposition} {since} {link}"
    return text if len(text) <= SMS_DIGEST_LIMIT else text[-SMS_LIMIT:]
