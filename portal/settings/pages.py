"""PLACEHOLDER - to be replaced by the UI work."""

from flask import Blueprint

bp = Blueprint("settings_pages", __name__, template_folder="templates")
