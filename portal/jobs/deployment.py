"""One deployment per Redis database: the worker's lease on ``wire.DEPLOYMENT_KEY`` (its
exporter renews the same claim, exporter/publish.py).

The state-change stream has one consumer group; two deployments on one database would
split it, each storing some of the other's changes in the wrong log. So a worker claims
the database for its deployment before it consumes, and renews the claim while it runs.
The claim expires (``DEPLOYMENT_LEASE_S``), so a deployment gone for good stops blocking,
and a worker stops reading well before its own claim could expire unrenewed (``HOLD_S``),
so whoever claims a lapsed database next never shares the stream with it.
"""

from __future__ import annotations

import logging
import time

import redis

from wire import (
    DEPLOYMENT_CLAIM,
    DEPLOYMENT_KEY,
    DEPLOYMENT_LEASE_S,
    deployment_claim,
    deployment_holder,
    redis_database,
)

log = logging.getLogger(__name__)

# Renewed every 15 s (portal.jobs.periodic.EVERY_S); a read in flight when the hold ends
# takes a second or two, well inside the lease's last 15 s.
HOLD_S = DEPLOYMENT_LEASE_S - 15


class DeploymentConflict(Exception):
    """Another deployment holds the database; the message is the line to log."""

    def __init__(self, database: str, this: str, holder: dict, seen_s: float) -> None:
        self.name = holder["name"]
        self.host, self.pid = holder.get("host"), holder.get("pid")
        self.seen_s = seen_s
        process = holder.get("process") or "worker"
        super().__init__(
            f'{database} is in use by deployment "{self.name}" ({process} on host {self.host} '
            f'pid {self.pid}, seen {seen_s:.0f} s ago); this deployment is "{this}". Give each '
            "deployment its own Redis database (REDIS_URL) or the same DEPLOYMENT_NAME.")


def claim(client: redis.Redis, name: str) -> None:
    """Hold the database for deployment ``name`` for another lease; raise
    DeploymentConflict when another deployment holds it (RedisError when Redis fails)."""
    held = client.register_script(DEPLOYMENT_CLAIM)(
        keys=[DEPLOYMENT_KEY], args=[name, deployment_claim(name, "worker"), DEPLOYMENT_LEASE_S])
    if held:
        raw, ttl_ms = held
        # Seen when it last renewed: Redis's own clock, whatever the hosts' clocks say.
        seen_s = max(DEPLOYMENT_LEASE_S - int(ttl_ms) / 1000, 0.0)
        # The script found a name in it; should Python read the JSON otherwise, still refuse.
        holder = deployment_holder(raw) or {"name": str(raw)[:63]}
        raise DeploymentConflict(redis_database(client), name, holder, seen_s)


class Lease:
    """A worker's claim over time: renewed from the periodic loop, and asked by the
    ingest consumer before each read (``held``)."""

    def __init__(self, client: redis.Redis, name: str) -> None:
        self.client = client
        self.name = name
        self.renewed_at: float | None = None  # monotonic, taken before the claim was sent
        self.conflict: DeploymentConflict | None = None

    def renew(self) -> None:
        """Claim once more; raises as ``claim`` does, and a conflict ends the hold at once."""
        started = time.monotonic()
        try:
            claim(self.client, self.name)
        except DeploymentConflict as exc:
            self.renewed_at, self.conflict = None, exc
            raise
        self.renewed_at, self.conflict = started, None

    def keep(self) -> None:
        """Renew, logging a conflict's line once per holder and its end; a Redis failure
        is only logged, the hold running out by itself if Redis stays away."""
        before = self.conflict
        try:
            self.renew()
        except DeploymentConflict as exc:
            if before is None or before.name != exc.name:
                log.error("servermon: %s", exc)
            return
        except redis.RedisError as exc:
            log.warning("could not renew the deployment's claim on Redis (%s); ingest pauses "
                        "if it lapses", exc)
            return
        if before is not None:
            log.info('deployment "%s" holds %s again; ingest resumes', self.name,
                     redis_database(self.client))

    def held(self) -> bool:
        renewed_at = self.renewed_at
        return renewed_at is not None and time.monotonic() - renewed_at < HOLD_S
