"""What the messages say: what is down, since when (local time), why, and where to look."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from portal.incidents.models import Incident

SMS_LIMIT = 160


@dataclass(frozen=True)
class Message:
    subject: str
    body: str
    sms: str


@dataclass(frozen=True)
class Outgoing:
    """One message as a sender sends it: a single outbox row's, or a digest of several.
    ``id`` is the first row's, and names the message (its e-mail Message-ID, the link to
    its incidents on the Alerts page)."""

    id: int
    channel: str
    recipient: str
    subject: str
    body: str
    state: str = ""
    incident_ids: tuple[int, ...] = ()
    html: str | None = None  # an HTML alternative to the text body (the daily digest)


def one_line(text: str | None) -> str:
    """No CR/LF: subjects and SMS must stay one line (and headers uninjectable)."""
    return " ".join((text or "").split())


def local_time(moment: datetime, zone: ZoneInfo) -> str:
    return moment.astimezone(zone).strftime("%Y-%m-%d %H:%M %Z")


def human_duration(seconds: float) -> str:
    seconds = round(seconds)
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    parts = [(days, "d"), (hours, "h"), (minutes, "min"), (secs, "s")]
    shown = [f"{value} {unit}" for value, unit in parts if value][:2]
    return " ".join(shown) or "0 s"


def with_link(sms: str, url: str, limit: int = SMS_LIMIT) -> str:
    """The SMS with its trailing link replaced by ``url``, cut to ``limit`` if need be."""
    text = sms.rsplit(" ", 1)[0] if " http" in sms else sms
    whole = f"{text} {url}"
    if len(whole) <= limit:
        return whole
    keep = limit - len(url) - 4
    return text[: max(keep, 20)].rstrip() + "... " + url


def compose(incident: Incident, state: str, zone: ZoneInfo, portal_url: str, *,
            note: str | None = None, sms_note: str | None = None) -> Message:
    link = f"{portal_url}/alerts?incident={incident.id}"
    what = one_line(incident.server_name or incident.labels.get("server") or "servermon")
    why = one_line(incident.reason or incident.summary or incident.alertname)
    since = local_time(incident.started_at, zone)
    if state in ("tier2", "tier3"):
        took = human_duration(incident.duration_s)
        subject = f"[servermon] ESCALATED: {what} down for {took}, not acknowledged"
        body = (f"{what} is down since {since} ({took}) and nobody has acknowledged it, so it "
                f"has escalated to tier {state[-1]}, you.\nReason: {why}")
        sms = f"ESCALATED {what}: down {took}, not acknowledged. {link}"
    elif state == "flapping":
        subject = f"[servermon] FLAPPING: {what} keeps going up and down"
        body = (f"{what} keeps going up and down, first down at {since}. It is one incident "
                "until it settles (it is paged again then); every change is in its log.")
        sms = f"FLAPPING {what}: up and down since {since}. {link}"
    elif state == "resolved" and incident.flapping_since is not None:
        took = human_duration(incident.duration_s)
        back = local_time(incident.ended_at or incident.started_at, zone)
        subject = f"[servermon] SETTLED: {what} stopped flapping, up since {back}"
        body = f"{what} stopped flapping and is up since {back}. It flapped for {took}, from {since}."
        sms = f"SETTLED {what}: up since {back} after {took} of flapping. {link}"
    elif state == "resolved":
        took = human_duration(incident.duration_s)
        if incident.is_downtime:
            subject = f"[servermon] RESOLVED: {what} is back up after {took}"
            body = f"{what} is back up. It was down for {took}, since {since}."
        else:
            subject = f"[servermon] RESOLVED: {one_line(incident.summary) or incident.alertname}"
            body = f"Resolved after {took}: {one_line(incident.summary)} (since {since})."
        sms = f"RESOLVED {what}: up again after {took}. {link}"
    elif incident.is_downtime:
        subject = f"[servermon] DOWN: {what} - {why}"
        body = f"{what} is down since {since}.\nReason: {why}"
        sms = f"DOWN {what} since {since}: {why}. {link}"
    else:
        summary = one_line(incident.summary) or incident.alertname
        subject = f"[servermon] {incident.severity.upper()}: {summary}"
        body = f"{summary}\nSince {since}.\n{one_line(incident.description)}"
        sms = f"{incident.severity.upper()} {summary}. {link}"
    if note:
        body = f"{body}\n{one_line(note)}"
    if sms_note:
        sms = sms.replace(f" {link}", f" {one_line(sms_note)} {link}")
    body = f"{body}\n\nDetails: {link}\n"
    if len(sms) > SMS_LIMIT:
        keep = SMS_LIMIT - len(link) - 4
        sms = sms[: max(keep, 20)].rstrip() + "... " + link
    return Message(subject=subject[:300], body=body, sms=sms)
