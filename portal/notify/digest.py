"""Storm digests: what one message says for many incidents, and when a wave's next goes.

Pages are planned per incident, and the outbox rows stay the record (one per incident,
state, channel and recipient), but they are sent per recipient: a send claims every due
row of its (channel, recipient, state) at once (portal/notify/outbox.py). When a message
of that kind went to that recipient less than the gathering window ago, the claimed rows
wait until the window after it has run out and then go together, as one digest. So the
first incident of a wave pages at once, with no added delay, and the rest of the wave at
most once per window; each incident is in exactly one message per recipient and state.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import and_, func, or_, select

from portal.extensions import db
from portal.incidents.models import Incident
from portal.notify.messages import SMS_LIMIT, local_time, one_line
from portal.notify.models import Notification

SMS_DIGEST_LIMIT = 2 * 153  # two concatenated GSM segments
NAMES_SHOWN = 2  # per group, in the subject and SMS
GROUPS_SHOWN = 2
BODY_LINES = 500  # a storm beyond this is cut in the e-mail, and says so


def previous_claim(row: Notification, claimed_at: datetime, claim: str) -> datetime | None:
    """When the last message of ``row``'s kind to its recipient before this claim was
    claimed (sent, or being sent). Claims of one instant are ordered by their token, so of
    two workers claiming at once exactly one goes first."""
    return db.session.scalar(select(func.max(Notification.claimed_at)).where(
        Notification.channel == row.channel, Notification.recipient == row.recipient,
        Notification.state == row.state, Notification.status.in_(("sending", "sent")),
        Notification.claim != claim,
        or_(Notification.claimed_at < claimed_at,
            and_(Notification.claimed_at == claimed_at, Notification.claim < claim))))


def hold_until(previous: datetime | None, now: datetime, window_s: int) -> datetime | None:
    """The end of the gathering window when a message of this kind went within it."""
    if previous is None or window_s <= 0:
        return None
    until = previous + timedelta(seconds=window_s)
    return until if until > now else None


def follows_a_page(previous: datetime | None, now: datetime, window_s: int) -> bool:
    """Whether this digest continues a wave a message already told of ("36 more")."""
    return previous is not None and now - previous <= timedelta(seconds=2 * window_s + 60)


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
