"""Shared fixtures: a fresh app per test on a real database and a real Redis.

The backend comes from TEST_DATABASE_URL (script/test runs the suite on PostgreSQL and
again on SQLite); the schema is built once per run by the real Alembic migrations, and
every test starts from empty tables and an empty Redis database.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import redis
from sqlalchemy import create_engine, text

from portal import create_app
from portal.config import Config

ROOT = Path(__file__).resolve().parent.parent
TEST_REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = os.environ.get("TEST_DATABASE_URL")
    if not url:
        url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'servermon.db'}"
    if url.startswith("postgresql"):
        engine = create_engine(make_config(url).database_url)
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
        engine.dispose()
    return url


def make_config(database_url: str, **overrides: object) -> Config:
    values = {
        "SECRET_KEY": "test-secret-key-" + "x" * 32,
        "DATABASE_URL": database_url,
        "REDIS_URL": TEST_REDIS_URL,
        "SD_TOKEN": "sd-token-for-tests-0123456789",
        "PROBE_SECRETS_KEY": "probe-secrets-key-for-tests-0123456789",
        "ALERTMANAGER_WEBHOOK_TOKEN": "am-token-for-tests-0123456789",
        "PROMETHEUS_URL": "http://127.0.0.1:1",
        "EXPORTER_URL": "http://127.0.0.1:1",
        "ALERTMANAGER_URL": "http://127.0.0.1:1",
        "SERVERMON_TESTING": "true",
        # Unthrottled: tests that retry at once would wait out the provider's rate;
        # tests/portal/notify/test_rate.py sets one.
        "SMS_PER_MINUTE": "0",
    }
    values.update({k: str(v) for k, v in overrides.items()})
    return Config.from_env(values)


def paging_config(database_url: str, **overrides: object) -> Config:
    """Both channels configured, so pages are planned; tests using it run no worker, so
    nothing is sent."""
    return make_config(database_url, SMTP_HOST="127.0.0.1", SMTP_PORT=2525,
                       SMTP_FROM="servermon@bank.example", TWILIO_ACCOUNT_SID="AC" + "0" * 32,
                       TWILIO_AUTH_TOKEN="twilio-token-0123", TWILIO_FROM="+15005550006",
                       **overrides)


@pytest.fixture(scope="session")
def migrated(database_url: str) -> str:
    from flask_migrate import upgrade

    app = create_app(make_config(database_url))
    with app.app_context():
        upgrade()
        from portal.extensions import db

        db.engine.dispose()
    return database_url


def _empty_tables() -> None:
    from portal.extensions import db

    tables = [t.name for t in reversed(db.metadata.sorted_tables)]
    with db.engine.begin() as conn:
        if db.engine.dialect.name == "postgresql":
            conn.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
        else:
            for table in tables:
                conn.execute(text(f"DELETE FROM {table}"))  # noqa: S608 - our own table names
        # Two-factor sign-in is required of admins and developers by default (production);
        # tests sign in with a password alone unless they turn it on (tests/portal/auth/test_mfa*).
        settings = db.metadata.tables["settings"]
        conn.execute(settings.insert().values(key="mfa_required_roles", value=[]))


@pytest.fixture
def config(migrated: str) -> Config:
    return make_config(migrated)


@contextmanager
def fresh_app(config: Config) -> Iterator:
    """An app on empty tables and an empty Redis database, inside its app context."""
    from portal.extensions import db
    from portal.jobs.actors import bind_app

    app = create_app(config)
    bind_app(app)
    redis.Redis.from_url(TEST_REDIS_URL).flushdb()
    with app.app_context():
        _empty_tables()
        try:
            yield app
        finally:
            db.session.remove()
            db.engine.dispose()


@pytest.fixture
def app(config: Config) -> Iterator:
    with fresh_app(config) as app:
        yield app


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture(scope="module")
def prometheus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The real Prometheus scraping a page that says server 1 ("cbs") is up, rules every
    second; its URL. Module-scoped: starting it costs a few seconds."""
    from tests.support.prometheus import ONE_SERVER_UP, scraping_fixed_page

    with scraping_fixed_page(ONE_SERVER_UP, tmp_path_factory.mktemp("prometheus")) as url:
        yield url
