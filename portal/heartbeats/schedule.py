"""A heartbeat server's schedule in words, for the pages (``schedule_of``, in
portal/servers/heartbeat_schedule.py, is the schedule itself, as the exporter reads it)."""

from __future__ import annotations

from collections.abc import Mapping

from portal.charts.uptime import span_text
from portal.servers.heartbeat_schedule import schedule_of
from portal.servers.models import Server

__all__ = ["crontab_times", "schedule_of", "schedule_words", "target_text"]


def schedule_words(period_s: float | None, cron: str | None, zone_name: str | None = None
                   ) -> str:
    """"every 1 h", "cron 30 23 * * *", "cron 30 23 * * * in Africa/Kampala": a cron line
    means nothing without its zone where there is room to say it."""
    if cron:
        return f"cron {cron}" + (f" in {zone_name}" if zone_name else "")
    if period_s:
        return f"every {span_text(period_s)}"
    return "no schedule"


def crontab_times(period_s: float | None, cron: str | None) -> str:
    """The five time fields of a crontab line for the page's example: the schedule's own
    cron expression, or a period cron can say ("*/15 * * * *", "0 */6 * * *"); otherwise
    fields to fill in (``m h * * *``), rather than a schedule the monitor does not expect."""
    if cron:
        return cron
    period = int(period_s or 0)
    if period and period % 60 == 0 and period < 3600 and 3600 % period == 0:
        return f"*/{period // 60} * * * *" if period > 60 else "* * * * *"
    if period == 3600:
        return "0 * * * *"
    if period and period % 3600 == 0 and period < 86400 and 86400 % period == 0:
        return f"0 */{period // 3600} * * *"
    if period == 86400:
        return "0 0 * * *"
    return "m h * * *"


def target_text(server: Server | Mapping) -> str:
    """What a list or tile shows where a probed server shows its target: a heartbeat has
    none, so its schedule ("heartbeat, every 1 h"). Takes a model or a listing's dict."""
    def field(name: str):
        return server.get(name) if isinstance(server, Mapping) else getattr(server, name)

    if field("kind") != "heartbeat":
        return field("target") or ""
    return "heartbeat, " + schedule_words(field("heartbeat_period_s"), field("heartbeat_cron"))
