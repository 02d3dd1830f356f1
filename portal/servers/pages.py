"""PLACEHOLDER - to be replaced by the UI work."""

from flask import Blueprint, render_template_string

from portal.auth.guard import requires

bp = Blueprint("server_pages", __name__, template_folder="templates")


@bp.get("/dashboard")
@requires("status.view", page=True)
def dashboard():
    return render_template_string("{% extends 'base.html' %}{% block content %}dash{% endblock %}")
