"""What every page shares: navigation, security headers, form helpers and time formats.

``init_web`` gives templates what they use everywhere (the signed-in user, permission
checks, the CSRF value, the sidebar, the bell, time filters) and sets the headers every
response carries.
"""

from __future__ import annotations

from flask import Flask, g

from portal.charts.uptime import BANDS as UPTIME_BANDS
from portal.charts.uptime import span_text, uptime_grade, uptime_label
from portal.heartbeats.schedule import target_text
from portal.notify.messages import human_duration
from portal.rbac import ROLE_LABELS
from portal.web.context import can, unread_notifications
from portal.web.formatting import (
    ago,
    display_zone_label,
    display_zone_name,
    localtime,
    seconds_time,
    zone_abbreviations,
)
from portal.web.navigation import nav_items
from portal.web.security import add_security_headers, csrf_token


def init_web(app: Flask) -> None:
    app.add_template_filter(localtime, "localtime")
    app.add_template_filter(ago, "ago")
    app.add_template_filter(seconds_time, "seconds_time")
    app.add_template_global(csrf_token, "csrf_token")  # also for macros imported without context
    app.add_template_global(uptime_grade, "uptime_grade")
    app.add_template_global(uptime_label, "uptime_label")
    app.add_template_filter(span_text, "span")
    app.add_template_filter(human_duration, "human_duration")
    app.add_template_global(UPTIME_BANDS, "uptime_bands")
    app.add_template_global(target_text, "target_text")  # a heartbeat's schedule, else target

    @app.context_processor
    def _helpers() -> dict:
        user = g.get("user")
        return {
            "current_user": user,
            "can": can,
            "csrf_token": csrf_token,
            "nav_items": nav_items() if user else [],
            "role_labels": ROLE_LABELS,
            "unread_notifications": unread_notifications,
            "display_zone_name": display_zone_name,
            "zone_abbreviations": zone_abbreviations,
            "display_zone_label": display_zone_label,
        }

    add_security_headers(app)
