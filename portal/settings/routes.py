"""/api/settings: run-time settings for roles with settings.manage."""

from __future__ import annotations

from flask import Blueprint, jsonify, request

from portal.auth.guard import current_user, requires
from portal.errors import APIError
from portal.settings.service import SettingsData, load_settings, update_settings

bp = Blueprint("settings_api", __name__, url_prefix="/api/settings")


@bp.get("")
@requires("settings.manage")
def show():
    return jsonify(load_settings().model_dump())


@bp.put("")
@requires("settings.manage")
def update():
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise APIError(400, "request body must be a JSON object", {"body": "expected an object"})
    unknown = sorted(set(body) - set(SettingsData.model_fields))
    if unknown:
        raise APIError(400, f"unknown setting {unknown[0]}", {k: "unknown setting" for k in unknown})
    return jsonify(update_settings(body, current_user()).model_dump())
