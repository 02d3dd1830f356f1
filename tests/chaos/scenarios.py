"""Failure scenarios on the whole stack (tests/support/stack.py), shared by tests/chaos/
(shortened timings, exact assertions) and bench/chaos.py (production timings, a table).

Each scenario sets up its servers and people, breaks something for real (a target stops
answering, Alertmanager restarts with its data wiped, the worker is SIGKILLed...), waits
until the portal has healed, and returns what happened as a :class:`Result`: incidents
made and left open, pages per person and state, messages actually delivered (the SMTP
sink and the Twilio stand-in), and how long healing took."""

from __future__ import annotations

import re
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from portal.extensions import db
from portal.incidents.models import Incident
from portal.notify.digest import WIDEST
from portal.notify.models import Notification
from portal.servers.models import ServerEvent
from portal.settings.service import update_settings
from tests.e2e.test_outage_to_phone import Target
from tests.factories import make_server, make_user
from tests.support import waiting
from tests.support.stack import Stack

ON_CALL_PHONE = "+256700000001"
ADMIN_PHONE = "+256700000009"


@dataclass
class Result:
    scenario: str
    incidents: int = 0
    left_open: int = 0
    pages: dict[tuple[str, str], int] = field(default_factory=dict)  # (person, state) -> SMS
    delivered_sms: Counter = field(default_factory=Counter)  # (to, body) -> times
    delivered_mail: Counter = field(default_factory=Counter)  # (to, outbox row) -> times
    heal_s: float | None = None
    reconciled: int = 0  # incidents the reconciler closed (the worker's log says)
    notes: list[str] = field(default_factory=list)

    @property
    def duplicates(self) -> int:
        return sum(n - 1 for n in [*self.delivered_sms.values(),
                                   *self.delivered_mail.values()] if n > 1)

    def row(self) -> dict:
        return {"scenario": self.scenario, "incidents": self.incidents,
                "open after recovery": self.left_open,
                "pages per person": ", ".join(f"{who} {state} {n}" for (who, state), n
                                              in sorted(self.pages.items())) or "none",
                "duplicates": self.duplicates, "closed by the reconciler": self.reconciled,
                "seconds to heal": "-" if self.heal_s is None else f"{self.heal_s:.0f}"}


def wait_for(stack: Stack, check: Callable, timeout: float, what: str):
    return waiting.wait_for(check, timeout, what, every=0.5, context=stack.logs)


def people() -> dict[str, object]:
    return {"on-call": make_user("it_staff", phone=ON_CALL_PHONE, notify_sms=True),
            "admin": make_user("admin", phone=ADMIN_PHONE, notify_sms=True)}


def fresh() -> None:
    db.session.expire_all()


def incidents(*names: str) -> list[Incident]:
    fresh()
    query = db.select(Incident).order_by(Incident.id)
    if names:
        query = query.where(Incident.alertname.in_(names))
    return db.session.scalars(query).all()


def every_row_in_one_message() -> bool:
    """Every outbox row sent, and carried by one message (``sent_in``): digests may carry
    several rows, no row goes in two."""
    fresh()
    return all(row.status == "sent" and row.sent_in for row in
               db.session.scalars(db.select(Notification)))


# A page held for a digest waits at most the widest gathering window after the last one
# sent (portal/notify/digest.py), 4 x the default 30 s: a fixed 60 s wait failed a flapping
# scenario whose resolution fell in a widened window.
SENT_WITHIN_S = WIDEST * 30 + 30


def all_sent() -> bool:
    fresh()
    rows = db.session.scalars(db.select(Notification)).all()
    return all(row.status == "sent" for row in rows)


def tally(stack: Stack, name: str, who: dict[str, object], *, names=("ServerDown",),
          heal_s: float | None = None) -> Result:
    """Count what the scenario left: the incidents, and per person the SMS planned."""
    found = incidents(*names)
    result = Result(name, incidents=len(found), left_open=sum(i.is_open for i in found),
                    heal_s=heal_s)
    phones = {user.phone: label for label, user in who.items()}
    counts: Counter = Counter()
    for row in db.session.scalars(db.select(Notification).join(Incident).where(
            Notification.channel == "sms", Incident.alertname.in_(names))):
        counts[phones.get(row.recipient, row.recipient), row.state] += 1
    result.pages = dict(counts)
    result.delivered_sms = Counter((sms["To"], sms["Body"]) for sms in stack.twilio.sent)
    # One outbox row's Message-ID holds servermon-<row id>: a repeat is a duplicate.
    result.delivered_mail = Counter(
        (mail["To"], re.search(r"servermon-\d+", mail["Message-ID"]).group()) for mail in stack.mail)
    worker_log = stack.workdir / "worker.log"
    if worker_log.exists():
        result.reconciled = worker_log.read_text().count("reconciler closed incident")
    return result


def timed_from_probes(incident: Incident) -> bool:
    """Its start is a down-event of the log, its end an up-event."""
    events = {(event.status, event.at) for event in db.session.scalars(
        db.select(ServerEvent).where(ServerEvent.server_id == incident.server_id))}
    return ("down", incident.started_at) in events and \
        (incident.ended_at is None or ("up", incident.ended_at) in events)


def wait_timed_from_probes(stack: Stack) -> None:
    """Every outage ends up timed by the probe events: at once, or, when Alertmanager's
    message came before the events were stored, after the reconciler's next pass (15 s)."""
    wait_for(stack, lambda: all(timed_from_probes(incident)
                                for incident in incidents("ServerDown")), 45,
             "every incident timed from the probe events")


# --- the scenarios -----------------------------------------------------------------------

def flapping(stack: Stack, *, interval_s: int, half_period_s: float, cycles: int,
             settle_min: int = 1) -> Result:
    """A target alternating down and up; it must end as one flapping period, settled."""
    update_settings({"flap_changes": 5, "flap_window_min": 10, "flap_settle_min": settle_min},
                    None)
    who = people()
    [target], _ = _up(stack, ["flappy"], interval_s)
    for _ in range(cycles):
        target.stop()
        time.sleep(half_period_s)
        target.start()
        time.sleep(half_period_s)
    up_since = time.monotonic()
    wait_for(stack, lambda: incidents() and not any(i.is_open for i in incidents()),
             settle_min * 60 + 3 * interval_s + 120, "the flapping period settled")
    heal_s = time.monotonic() - up_since
    wait_for(stack, all_sent, SENT_WITHIN_S, "every page sent")
    target.stop()
    return tally(stack, f"flapping, {interval_s} s interval", who, heal_s=heal_s)


class FailingEveryThird(Target):
    """An HTTP service that fails every third probe and the retries that confirm it
    (requests under ``ROUND_GAP_S`` apart are one probe with its retries), and answers the
    others: down for one interval in three, at whatever interval it is probed."""

    ROUND_GAP_S = 3.0

    def __init__(self) -> None:
        super().__init__(self._answer)
        self.rounds = 0
        self.failing = True  # False: every probe answered, as once the fault is fixed
        self._last = -float("inf")
        self._lock = threading.Lock()

    def _answer(self) -> int:
        with self._lock:
            now = time.monotonic()
            if now - self._last > self.ROUND_GAP_S:
                self.rounds += 1
            self._last = now
            return 503 if self.failing and self.rounds % 3 == 0 else 200


def down_events() -> list[ServerEvent]:
    fresh()
    return db.session.scalars(db.select(ServerEvent).where(ServerEvent.status == "down")
                              .order_by(ServerEvent.at)).all()


def uncovered_outages() -> list[ServerEvent]:
    """Down-events of the log that no incident covers: outages the SLA record lacks."""
    found = incidents("ServerDown")
    return [event for event in down_events() if not any(
        incident.server_id == event.server_id and incident.started_at <= event.at and
        (incident.ended_at is None or event.at < incident.ended_at) for incident in found)]


def one_probe_in_three_failing(stack: Stack, *, interval_s: int, failures: int,
                               settle_min: int = 1) -> Result:
    """Every third probe (and its retry) fails, ``failures`` times, then the fault is fixed.
    Each confirmed failure is an outage of the record, and once they come often enough one
    flapping period, said once."""
    update_settings({"flap_changes": 5, "flap_window_min": 10, "flap_settle_min": settle_min},
                    None)
    who = people()
    target = FailingEveryThird()
    target.start()
    server = make_server("core-switch", kind="http", interval_s=interval_s, timeout_s=2,
                         target=f"http://127.0.0.1:{target.port}/")
    stack.wait_exporter()
    wait_for(stack, lambda: len(down_events()) >= failures, 3 * interval_s * (failures + 1),
             f"{failures} failed probes confirmed")
    target.failing = False
    fixed = time.monotonic()
    wait_for(stack, lambda: _status(server.id) == "up", 2 * interval_s, "the server up")
    wait_for(stack, lambda: incidents() and not any(i.is_open for i in incidents()),
             settle_min * 60 + 3 * interval_s + 120, "the outages closed, flapping settled")
    heal_s = time.monotonic() - fixed
    wait_for(stack, all_sent, SENT_WITHIN_S, "every page sent")
    target.stop()
    result = tally(stack, f"every 3rd probe fails, {interval_s} s interval", who, heal_s=heal_s)
    result.notes.append(f"{len(down_events())} confirmed failures, "
                        f"{len(uncovered_outages())} not in any incident")
    return result


def numbered(prefix: str, count: int) -> list[str]:
    return [f"{prefix}-{n:02d}" for n in range(count)]


def _up(stack: Stack, names: list[str], interval_s: int) -> tuple[list[Target], list]:
    """One HTTP server per name, on a target of its own, probed up."""
    targets, servers = [], []
    for name in names:
        target = Target()
        target.start()
        targets.append(target)
        servers.append(make_server(name, kind="http", interval_s=interval_s,
                                   timeout_s=2, target=f"http://127.0.0.1:{target.port}/"))
    stack.wait_exporter()
    wait_for(stack, lambda: all(_status(s.id) == "up" for s in servers), 3 * interval_s,
             "every server up")
    return targets, servers


def _outage(stack: Stack, count: int, interval_s: int) -> tuple[list[Target], list]:
    """``count`` servers, up, then stopped together until each has an open incident and
    its first pages are out."""
    targets, servers = _up(stack, numbered("cbs-app", count), interval_s)
    for target in targets:
        target.stop()
    wait_for(stack, lambda: len([i for i in incidents("ServerDown") if i.is_open]) == count,
             2 * interval_s + 60, "an open incident per server")
    wait_for(stack, all_sent, SENT_WITHIN_S, "the DOWN pages sent")
    return targets, servers


def _recover(stack: Stack, targets: list[Target], timeout: float) -> float:
    for target in targets:
        target.start()
    started = time.monotonic()
    wait_for(stack, lambda: not any(i.is_open for i in incidents("ServerDown")), timeout,
             "every incident closed")
    return time.monotonic() - started


def _heal(stack: Stack, targets: list[Target], *, open_within: float, what: str) -> float:
    """Once the broken part is back: an open incident per target, its DOWN pages sent, the
    targets restarted, every incident closed and its RESOLVED pages sent. Returns the
    seconds from now to the last close."""
    back = time.monotonic()
    wait_for(stack, lambda: len([i for i in incidents("ServerDown") if i.is_open]) ==
             len(targets), open_within, f"an open incident per server once {what}")
    wait_for(stack, all_sent, SENT_WITHIN_S, "the DOWN pages sent")
    heal_s = _recover(stack, targets, 120) + (time.monotonic() - back)
    wait_for(stack, all_sent, SENT_WITHIN_S, "the RESOLVED pages sent")
    for target in targets:
        target.stop()
    return heal_s


def alertmanager_wiped(stack: Stack, *, servers: int = 3, interval_s: int = 10,
                       heal_timeout: float = 90) -> Result:
    """Alertmanager restarted mid-outage with its data gone: the resolutions it owed are
    lost with it, and the reconciler must close the incidents and page their ends."""
    who = people()
    targets, _ = _outage(stack, servers, interval_s)
    stack.restart_alertmanager(wipe=True)
    heal_s = _recover(stack, targets, heal_timeout)
    wait_for(stack, all_sent, SENT_WITHIN_S, "the RESOLVED pages sent")
    for target in targets:
        target.stop()
    return tally(stack, "Alertmanager restarted, data wiped", who, heal_s=heal_s)


def prometheus_restarted(stack: Stack, *, servers: int = 2, interval_s: int = 10,
                         heal_timeout: float = 90) -> Result:
    """Prometheus restarted mid-outage (its alerts come back, maybe with new starts)."""
    who = people()
    targets, _ = _outage(stack, servers, interval_s)
    stack.stop("prometheus")
    time.sleep(interval_s)
    stack.start("prometheus")
    time.sleep(2 * interval_s)  # the outage goes on under the restarted Prometheus
    heal_s = _recover(stack, targets, heal_timeout)
    wait_for(stack, all_sent, SENT_WITHIN_S, "the RESOLVED pages sent")
    for target in targets:
        target.stop()
    return tally(stack, "Prometheus restarted mid-outage", who, heal_s=heal_s)


def worker_killed_mid_send(stack: Stack, *, interval_s: int = 10) -> Result:
    """The worker SIGKILLed while both SMS of an outage are in flight at Twilio."""
    who = people()
    stack.twilio.hang_next, stack.twilio.hang_s = 2, 20.0
    [target], _ = _up(stack, ["ledger-db"], interval_s)
    target.stop()
    wait_for(stack, lambda: stack.twilio.received >= 2, 2 * interval_s + 60,
             "both SMS in flight")
    stack.kill("worker")
    killed = time.monotonic()
    stack.start("worker")
    phones = {ON_CALL_PHONE, ADMIN_PHONE}
    wait_for(stack, lambda: phones <= {sms["To"] for sms in stack.twilio.sent}, 150,
             "both SMS sent by the restarted worker")
    heal_s = time.monotonic() - killed
    wait_for(stack, all_sent, SENT_WITHIN_S, "every page sent")
    target.stop()
    return tally(stack, "worker SIGKILLed mid-send", who, heal_s=heal_s)


def pipeline_broken(stack: Stack, *, interval_s: int = 10, unalerted_s: int = 20) -> Result:
    """Alertmanager's posts refused (a wrong webhook token): no alert reaches the portal.
    Admins must hear it once, from the portal itself, and it must clear when fixed."""
    who = people()
    token = stack.workdir / "webhook_token"
    good = token.read_text()
    token.write_text("not-the-portals-token-0123456789\n")  # read at every post
    [target], _ = _up(stack, ["swift-gw"], interval_s)
    target.stop()
    broken = time.monotonic()
    wait_for(stack, lambda: incidents("AlertingPipelineBroken"), unalerted_s + 60,
             "AlertingPipelineBroken raised")
    detected_s = time.monotonic() - broken
    token.write_text(good)
    wait_for(stack, lambda: any(i.is_open for i in incidents("ServerDown")), 90,
             "the outage delivered once the token is right")
    wait_for(stack, lambda: not any(i.is_open for i in incidents("AlertingPipelineBroken")), 60,
             "AlertingPipelineBroken cleared")
    target.start()
    wait_for(stack, lambda: not any(i.is_open for i in incidents()), 90, "everything closed")
    wait_for(stack, all_sent, SENT_WITHIN_S, "every page sent")
    target.stop()
    result = tally(stack, "webhook token wrong (pipeline broken)", who, heal_s=detected_s,
                   names=("ServerDown", "AlertingPipelineBroken", "AlertmanagerSilent"))
    result.notes.append(f"admins paged {detected_s:.0f} s after the outage began")
    return result


def twilio_failing(stack: Stack, *, interval_s: int = 10) -> Result:
    """Twilio answers 500, then 429 with Retry-After: each SMS still goes once."""
    who = people()
    stack.twilio.fail_next, stack.twilio.throttle_next, stack.twilio.retry_after = 2, 2, "5"
    [target], _ = _up(stack, ["atm-switch"], interval_s)
    target.stop()
    started = time.monotonic()
    phones = {ON_CALL_PHONE, ADMIN_PHONE}
    wait_for(stack, lambda: phones <= {sms["To"] for sms in stack.twilio.sent},
             2 * interval_s + 120, "both SMS sent despite Twilio")
    heal_s = time.monotonic() - started
    wait_for(stack, all_sent, SENT_WITHIN_S, "every page sent")
    target.stop()
    return tally(stack, "Twilio 500 then 429", who, heal_s=heal_s)


def _status(server_id: int) -> str | None:
    from portal.servers.models import ServerStatus

    fresh()
    row = db.session.get(ServerStatus, server_id)
    return row.status if row else None


def redis_lost(stack: Stack, *, servers: int = 2, interval_s: int = 10,
               down_s: float = 10) -> Result:
    """Redis SIGKILLed, the servers fail while it is away, and it comes back empty: no
    stream, no consumer group, no queued jobs, no deployment claim. Every outage must still
    be recorded, paged once, and closed."""
    who = people()
    targets, _ = _up(stack, numbered("swift", servers), interval_s)
    stack.kill("redis")
    for target in targets:
        target.stop()
    time.sleep(down_s)
    stack.restart_redis()
    heal_s = _heal(stack, targets, open_within=2 * interval_s + 90, what="Redis is back")
    return tally(stack, "Redis killed, back empty", who, heal_s=heal_s)


def portal_killed(stack: Stack, *, servers: int = 2, interval_s: int = 10,
                  down_s: float = 15) -> Result:
    """The portal dies as its servers fail, so Alertmanager's posts find nobody; it comes
    back and every outage is recorded (Alertmanager retries), paged once, closed."""
    who = people()
    targets, _ = _up(stack, numbered("atm", servers), interval_s)
    stack.stop_portal()
    for target in targets:
        target.stop()
    time.sleep(down_s)
    stack.start_portal()
    heal_s = _heal(stack, targets, open_within=180, what="the portal is back")
    return tally(stack, "portal killed while alerts fire", who, heal_s=heal_s)


def smtp_down(stack: Stack, *, down_s: float, interval_s: int = 10) -> Result:
    """The mail relay refuses connections for ``down_s`` as an outage starts: its e-mails
    are retried (capped backoff, for an hour) and each arrives once after the relay is back."""
    who = people()
    [target], _ = _up(stack, ["mail-gw"], interval_s)
    stack.relay.stop()
    target.stop()
    time.sleep(down_s)
    stack.relay.start()
    back = time.monotonic()
    emails = {user.email for user in who.values()}
    wait_for(stack, lambda: emails <= {mail["To"] for mail in stack.mail}, 400,
             "both e-mails delivered after the relay came back")
    heal_s = time.monotonic() - back
    wait_for(stack, all_sent, SENT_WITHIN_S, "every page sent")
    target.stop()
    result = tally(stack, f"mail relay down {down_s:.0f} s", who, heal_s=heal_s)
    result.notes.append(f"e-mails arrived {heal_s:.0f} s after the relay came back")
    return result


def database_down(stack: Stack, cluster, *, servers: int = 2, interval_s: int = 10,
                  down_s: float = 30) -> Result:
    """The database (a private PostgreSQL, ``tests/support/postgres.py``) stopped for
    ``down_s`` as the servers fail: the webhook answers 503 and Alertmanager retries, the
    ingest keeps the changes pending. Back, every outage is recorded, paged once, closed."""
    who = people()
    targets, _ = _up(stack, numbered("gl", servers), interval_s)
    db.session.commit()  # hand the test's connection back: the pool re-checks it on use
    cluster.stop()
    for target in targets:
        target.stop()
    time.sleep(down_s)
    cluster.start()
    heal_s = _heal(stack, targets, open_within=180, what="the database is back")
    return tally(stack, f"database down {down_s:.0f} s", who, heal_s=heal_s)


@dataclass
class Storm:
    """What a wave of outages sent: messages per recipient and channel, per wave."""

    servers: int
    incidents: int = 0
    left_open: int = 0
    start_lag_s: list[float] = field(default_factory=list)  # first failed probe - stop
    all_open_s: float = 0.0  # stop -> every incident open
    down: Counter = field(default_factory=Counter)  # (recipient, channel) -> messages
    resolved: Counter = field(default_factory=Counter)
    last_digest_s: float = 0.0  # stop -> the wave's last DOWN message delivered
    rows_sent_once: bool = False  # every outbox row in exactly one delivered message
    subjects: list[str] = field(default_factory=list)
    repeated: list[str] = field(default_factory=list)  # servers with more than one incident


def _delivered(stack: Stack) -> Counter:
    return Counter([(mail["To"], "email") for mail in stack.mail] +
                   [(sms["To"], "sms") for sms in stack.twilio.sent])


def storm(stack: Stack, *, servers: int = 200, interval_s: int = 10, window_s: int = 30,
          heal_timeout: float = 180, result: Storm | None = None) -> Storm:
    """``servers`` HTTP servers on one site that stops and comes back, three people on
    call: each must get a page at once and then digests, not one message per server."""
    update_settings({"gather_window_s": window_s}, None)
    who = {**people(), "second on-call": make_user("it_staff", phone="+256700000002",
                                                    notify_sms=True)}
    site = Target()  # one data centre: every server a path on it
    site.start()
    made = [make_server(name, kind="http", interval_s=interval_s, timeout_s=2,
                        target=f"http://127.0.0.1:{site.port}/{name}")
            for name in numbered("cbs-app", servers)]
    stack.wait_exporter()
    wait_for(stack, lambda: all(_status(s.id) == "up" for s in made), 3 * interval_s + 30,
             "every server up")
    # A new server's second probe comes half an interval to one and a half after its first;
    # a real storm hits servers long on their schedules, each failing within one interval.
    time.sleep(1.5 * interval_s)
    result = result or Storm(servers)  # filled as it goes: a benchmark prints what it got
    stopped_at = time.time()
    started = time.monotonic()
    site.stop()
    wait_for(stack, lambda: len([i for i in incidents("ServerDown") if i.is_open]) == servers,
             interval_s + 90, "an open incident per server")
    result.all_open_s = time.monotonic() - started
    result.start_lag_s = [incident.started_at.timestamp() - stopped_at
                          for incident in incidents("ServerDown")]
    wait_for(stack, all_sent, WIDEST * window_s + 90, "the DOWN wave sent")
    result.last_digest_s = time.monotonic() - started
    result.down = _delivered(stack)
    result.subjects = [" ".join(mail["Subject"].split()) for mail in stack.mail]
    site.start()
    wait_for(stack, lambda: not any(i.is_open for i in incidents("ServerDown")), heal_timeout,
             "every incident closed")
    # A digest may hold up to the widest window after the last one sent (portal/notify/
    # digest.py): the wait is bound by it, not by the first window.
    wait_for(stack, all_sent, WIDEST * window_s + 90, "the recovery wave sent")
    result.resolved = _delivered(stack) - result.down
    found = incidents("ServerDown")
    result.incidents, result.left_open = len(found), sum(i.is_open for i in found)
    per_server: dict[int, list[Incident]] = {}
    for incident in found:
        per_server.setdefault(incident.server_id, []).append(incident)
    result.repeated = [
        f"{group[0].server_name}: " + "; ".join(
            f"{i.started_at:%H:%M:%S.%f}-{f'{i.ended_at:%H:%M:%S.%f}' if i.ended_at else 'open'}"
            f" alert {i.alert_started_at:%H:%M:%S} reason {i.reason!r}"
            f" flapping {i.flapping_since is not None}" for i in group)
        for group in per_server.values() if len(group) > 1]
    rows = db.session.scalars(db.select(Notification)).all()
    result.rows_sent_once = all(row.status == "sent" and row.sent_in for row in rows) and \
        len(rows) == 2 * result.incidents * 2 * len(who)  # two states, two channels
    site.stop()
    return result


@dataclass
class Dependants:
    """What a parent's outage with its dependants sent, per recipient and channel."""

    incidents: int = 0
    left_open: int = 0
    suppressed: int = 0  # dependants' outages recorded but not paged
    down: Counter = field(default_factory=Counter)
    resolved: Counter = field(default_factory=Counter)
    bodies: list[str] = field(default_factory=list)  # the DOWN e-mails


def parent_and_dependants(stack: Stack, *, dependants: int = 20, interval_s: int = 10) -> Dependants:
    """A switch and the servers behind it, all on one site that stops: one page per person,
    the switch's, naming its dependants; their outages recorded, not paged."""
    who = people()
    site = Target()
    site.start()
    switch = make_server("core-switch", kind="http", interval_s=interval_s, timeout_s=2,
                         target=f"http://127.0.0.1:{site.port}/core-switch")
    hosts = [make_server(name, kind="http", interval_s=interval_s, timeout_s=2,
                         target=f"http://127.0.0.1:{site.port}/{name}", depends_on_id=switch.id)
             for name in numbered("cbs-app", dependants)]
    stack.wait_exporter()
    wait_for(stack, lambda: all(_status(s.id) == "up" for s in [switch, *hosts]),
             3 * interval_s + 30, "every server up")
    site.stop()
    total = dependants + 1

    def settled() -> bool:
        found = [i for i in incidents("ServerDown") if i.is_open]
        return len(found) == total and all(i.pages_held_until is None for i in found)

    wait_for(stack, settled, interval_s + 120, "an open incident per server, holds released")
    wait_for(stack, all_sent, SENT_WITHIN_S, "the DOWN pages sent")
    result = Dependants(down=_delivered(stack))
    result.bodies = [mail.get_payload() for mail in stack.mail]
    site.start()
    wait_for(stack, lambda: not any(i.is_open for i in incidents("ServerDown")), 120,
             "every incident closed")
    wait_for(stack, all_sent, SENT_WITHIN_S, "the RESOLVED pages sent")
    result.resolved = _delivered(stack) - result.down
    found = incidents("ServerDown")
    result.incidents, result.left_open = len(found), sum(i.is_open for i in found)
    result.suppressed = sum(i.suppressed_by == "core-switch" for i in found)
    assert len(who) == 2
    site.stop()
    return result
