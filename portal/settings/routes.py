"""/api/settings: run-time settings for roles with settings.manage."""

from __future__ import annotations

from flask import Blueprint, jsonify

from portal.auth.guard import current_user, requires
from portal.schemas import json_object
from portal.settings.service import SettingsData, load_settings, update_settings

bp = Blueprint("settings_api", __name__, url_prefix="/api/settings")


@bp.get("")
@requires("settings.manage")
def show():
    return jsonify(load_settings().model_dump())


@bp.put("")
@requires("settings.manage")
def update():
    body = json_object(known=SettingsData.model_fields)
    return jsonify(update_settings(body, current_user()).model_dump())
