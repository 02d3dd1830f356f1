"""servermon portal: the Flask application factory."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

from flask import Flask
from werkzeug.routing import IntegerConverter

from portal.config import Config, ConfigError
from portal.schemas import MAX_ID

log = logging.getLogger(__name__)

MIGRATIONS_DIR = str(Path(__file__).parent / "migrations")


class IdConverter(IntegerConverter):
    """``<int:...>`` in every route. An id past a 64-bit integer cannot exist, so such a URL
    matches no route (404) instead of reaching a database driver that cannot bind it
    (SQLite's raises OverflowError)."""

    def __init__(self, map, *args, **kwargs) -> None:
        kwargs.setdefault("max", MAX_ID)  # as the API's ids (portal.schemas.DbId)
        super().__init__(map, *args, **kwargs)


def create_app(config: Config | None = None) -> Flask:
    """Build the app. Without a config, read the environment and exit with one clear line if bad."""
    if config is None:
        try:
            config = Config.from_env()
        except ConfigError as exc:
            print(f"servermon: configuration error: {exc}", file=sys.stderr)
            raise SystemExit(2) from None

    app = Flask(__name__)
    app.url_map.converters["int"] = IdConverter  # before any route is added
    app.config["SERVERMON"] = config
    app.config.update(
        SECRET_KEY=config.secret_key,
        SQLALCHEMY_DATABASE_URI=config.database_url,
        SQLALCHEMY_ENGINE_OPTIONS=_engine_options(config.database_url),
        MAX_CONTENT_LENGTH=1024 * 1024,
        TESTING=config.testing,
    )
    app.json.sort_keys = False  # field order as written; sorting costs time on every list
    from portal.web.proxies import TrustedProxies

    app.wsgi_app = TrustedProxies(app.wsgi_app, config.trusted_proxies)  # nginx in front
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)

    _init_extensions(app)
    _register_blueprints(app)
    _register_hooks(app)
    return app


def _engine_options(url: str) -> dict:
    if url.startswith("sqlite"):
        return {"connect_args": {"timeout": 30, "check_same_thread": False}}
    return {"pool_pre_ping": True, "pool_size": 10, "max_overflow": 20}


def _init_extensions(app: Flask) -> None:
    from portal import models  # noqa: F401 - registers every table on the metadata
    from portal.auth.sessions import configure_jwt
    from portal.errors import register_error_handlers
    from portal.extensions import db, migrate, sock
    from portal.jobs.actors import setup_jobs
    from portal.observability import init_metrics
    from portal.redis_client import init_redis

    db.init_app(app)
    migrate.init_app(app, db, directory=MIGRATIONS_DIR,
                     render_as_batch=True)
    sock.init_app(app)
    init_redis(app)
    setup_jobs(app.config["SERVERMON"].redis_url)
    configure_jwt(app)
    register_error_handlers(app)
    init_metrics(app)
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        with app.app_context():
            _sqlite_pragmas(db.engine)


def _sqlite_pragmas(engine) -> None:
    """WAL and foreign keys: readers do not block the writer, and ON DELETE rules apply."""
    from sqlalchemy import event

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()


def _register_blueprints(app: Flask) -> None:
    from portal.admin import pages as admin_pages
    from portal.admin import routes as admin_routes
    from portal.admin import system_pages
    from portal.audit import pages as audit_pages
    from portal.audit import routes as audit_routes
    from portal.auth import mfa_pages, session_pages
    from portal.auth import pages as auth_pages
    from portal.auth import proxy as auth_proxy
    from portal.auth import routes as auth_routes
    from portal.charts import pages as chart_pages
    from portal.charts import routes as chart_routes
    from portal.cli import register_cli
    from portal.heartbeats import routes as ping_routes
    from portal.incidents import pages as incident_pages
    from portal.incidents import routes as incident_routes
    from portal.incidents import webhook
    from portal.notify import pages as notify_pages
    from portal.notify import routes as notify_routes
    from portal.realtime import routes as realtime_routes
    from portal.reports import pages as report_pages
    from portal.reports import routes as report_routes
    from portal.servers import discovery
    from portal.servers import pages as server_pages
    from portal.servers import routes as server_routes
    from portal.servers.pages import logs as log_pages
    from portal.settings import pages as settings_pages
    from portal.settings import routes as settings_routes
    from portal.status_pages import pages as status_pages
    from portal.status_pages import routes as status_page_routes
    from portal.users import routes as user_routes

    for blueprint in (
        auth_routes.bp, auth_routes.tokens_bp, user_routes.bp, server_routes.bp, discovery.bp,
        settings_routes.bp, admin_routes.bp, auth_pages.bp, server_pages.bp, settings_pages.bp,
        admin_pages.bp, incident_pages.bp, report_pages.bp, incident_routes.bp, webhook.bp,
        realtime_routes.bp, report_routes.bp, notify_routes.bp, notify_pages.bp,
        chart_routes.bp, chart_pages.bp, auth_proxy.bp, system_pages.bp, log_pages.bp,
        audit_routes.bp, audit_pages.bp, status_page_routes.bp, status_pages.bp,
        mfa_pages.bp, session_pages.bp, ping_routes.bp,
    ):
        app.register_blueprint(blueprint)
    register_cli(app)


def _register_hooks(app: Flask) -> None:
    from portal.web import init_web

    init_web(app)
