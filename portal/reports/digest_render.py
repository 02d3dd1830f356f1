"""The daily digest as an e-mail: a subject, a plain-text body and an HTML one.

Server names, reasons and summaries are typed by staff or come from alert labels, so
every one is escaped in the HTML (and links are built from ids only), and kept to one line
in the text, where a line break could otherwise forge a line of the digest. The subject
holds only dates and counts.
"""

from __future__ import annotations

from dataclasses import dataclass
from html import escape
from urllib.parse import urlencode

from portal.notify.messages import human_duration, local_time, one_line
from portal.reports.digest import Digest, GroupAvailability, Item, Listing


@dataclass(frozen=True)
class Rendered:
    subject: str
    text: str
    html: str


def render(digest: Digest, portal_url: str) -> Rendered:
    return Rendered(_subject(digest), _text(digest, portal_url), _html(digest, portal_url))


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def _subject(digest: Digest) -> str:
    return (f"[servermon] Daily digest for {digest.day.isoformat()}: "
            f"{_plural(digest.incidents.total, 'incident')}, "
            f"{_plural(digest.warnings_open.total, 'warning')} open, "
            f"{_plural(digest.late_jobs.total, 'late job')}")


def pct(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f} %"


def _when(item: Item, digest: Digest) -> str:
    """``started 09:14 EAT, 12 min`` or ``started ..., still open (3 h so far)``."""
    zone = digest.period.timezone
    start = local_time(item.started_at, zone)
    took = human_duration(item.duration_s)
    if item.ended_at is None:
        return f"from {start}, still open ({took} so far)"
    return f"from {start} to {local_time(item.ended_at, zone)} ({took})"


def _links(digest: Digest, portal_url: str) -> tuple[str, str]:
    day = digest.day.isoformat()
    report = f"{portal_url}/reports?" + urlencode({"preset": "custom", "from": day, "to": day})
    return report, f"{portal_url}/alerts"


# --- text -----------------------------------------------------------------------------------

def _text_item(item: Item, digest: Digest) -> str:
    server = one_line(item.server) or "(no server)"
    note = " [in maintenance]" if item.in_maintenance else ""
    return f"- {item.severity.upper()} {server}: {one_line(item.what)}; {_when(item, digest)}{note}"


def _text_job(item: Item, digest: Digest) -> str:
    return f"- {one_line(item.server)}: {one_line(item.what)}; {_when(item, digest)}"


def _text_list(title: str, listing: Listing, line, digest: Digest, empty: str) -> list[str]:
    lines = [f"{title} ({listing.total})", ""]
    lines += [line(item, digest) for item in listing.items] or [empty]
    if listing.more:
        lines.append(f"... and {listing.more} more on the Alerts page.")
    return [*lines, ""]


def _text_group(group: GroupAvailability) -> str:
    return (f"- {one_line(group.group)}: {pct(group.availability_pct)} "
            f"({_plural(group.servers, 'server')}, {_plural(group.incidents, 'outage')}, "
            f"down {human_duration(group.downtime_s)})")


def _text(digest: Digest, portal_url: str) -> str:
    report, alerts = _links(digest, portal_url)
    zone = digest.period.timezone.key
    lines = [f"servermon daily digest for {digest.day.isoformat()} (00:00-24:00 {zone}).", ""]
    lines += _text_list("Incidents yesterday", digest.incidents, _text_item, digest,
                        "None.")
    lines += [f"Availability by group yesterday: {pct(digest.overall.availability_pct)} "
              f"over {_plural(digest.overall.servers, 'server')}", ""]
    lines += [_text_group(group) for group in digest.availability] or ["No servers."]
    lines += ["", f"The report: {report}", ""]
    lines += _text_list("Warnings open now", digest.warnings_open, _text_item, digest, "None.")
    lines += _text_list("Jobs that ran late or failed yesterday", digest.late_jobs, _text_job,
                        digest, "None.")
    lines += [f"Alerts: {alerts}", "",
              "You get this because you asked for it on your profile; untick the daily digest "
              f"there to stop it: {portal_url}/profile"]
    return "\n".join(lines) + "\n"


# --- HTML -----------------------------------------------------------------------------------

def _cell(value: object) -> str:
    return f"<td style=\"padding:2px 8px\">{escape(str(value))}</td>"


def _html_when(item: Item, digest: Digest, portal_url: str) -> str:
    link = f"{portal_url}/alerts?" + urlencode({"incident": item.id})
    return (f"<td style=\"padding:2px 8px\"><a href=\"{escape(link)}\">"
            f"{escape(_when(item, digest))}</a></td>")


def _html_list(title: str, listing: Listing, digest: Digest, portal_url: str, *,
               severity: bool = True) -> str:
    parts = [f"<h2 style=\"font-size:16px\">{escape(title)} ({listing.total})</h2>"]
    if not listing.items:
        return parts[0] + "<p>None.</p>"
    parts.append("<table style=\"border-collapse:collapse\">")
    for item in listing.items:
        note = " (in maintenance)" if item.in_maintenance else ""
        parts.append("<tr>" + (_cell(item.severity.upper()) if severity else "")
                     + _cell(item.server or "(no server)") + _cell(item.what + note)
                     + _html_when(item, digest, portal_url) + "</tr>")
    parts.append("</table>")
    if listing.more:
        parts.append(f"<p>... and {listing.more} more on the Alerts page.</p>")
    return "".join(parts)


def _html_groups(digest: Digest, report: str) -> str:
    overall = digest.overall
    head = (f"<h2 style=\"font-size:16px\">Availability by group yesterday: "
            f"{escape(pct(overall.availability_pct))} over "
            f"{escape(_plural(overall.servers, 'server'))}</h2>")
    if not digest.availability:
        return head + "<p>No servers.</p>"
    rows = "".join(
        "<tr>" + _cell(group.group) + _cell(pct(group.availability_pct))
        + _cell(_plural(group.servers, "server")) + _cell(_plural(group.incidents, "outage"))
        + _cell(human_duration(group.downtime_s)) + "</tr>" for group in digest.availability)
    return (head + "<table style=\"border-collapse:collapse\"><tr><th>group</th>"
            "<th>availability</th><th>servers</th><th>outages</th><th>downtime</th></tr>"
            f"{rows}</table><p><a href=\"{escape(report)}\">The report</a></p>")


def _html(digest: Digest, portal_url: str) -> str:
    report, alerts = _links(digest, portal_url)
    zone = digest.period.timezone.key
    return (
        "<!DOCTYPE html><html><body style=\"font-family:sans-serif;font-size:14px\">"
        f"<h1 style=\"font-size:18px\">servermon daily digest for "
        f"{escape(digest.day.isoformat())}</h1><p>00:00-24:00 {escape(zone)}</p>"
        + _html_list("Incidents yesterday", digest.incidents, digest, portal_url)
        + _html_groups(digest, report)
        + _html_list("Warnings open now", digest.warnings_open, digest, portal_url)
        + _html_list("Jobs that ran late or failed yesterday", digest.late_jobs, digest,
                     portal_url, severity=False)
        + f"<p><a href=\"{escape(alerts)}\">Alerts</a> · You get this because you asked for "
        f"it on your <a href=\"{escape(portal_url + '/profile')}\">profile</a>; untick the "
        "daily digest there to stop it.</p></body></html>"
    )
