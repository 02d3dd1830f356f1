"""Configuration fails at start-up with one clear line naming the setting."""

import os
import subprocess
import sys

import pytest

from portal.config import Config, ConfigError

BASE = {"SECRET_KEY": "k" * 40, "SD_TOKEN": "s" * 20, "ALERTMANAGER_WEBHOOK_TOKEN": "a" * 20}


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"SECRET_KEY": ""}, "SECRET_KEY is required"),
        ({"SECRET_KEY": "short"}, "SECRET_KEY must be at least 32"),
        ({"PORTAL_PORT": "eighty"}, "PORTAL_PORT must be a whole number"),
        ({"PORTAL_PORT": "70000"}, "PORTAL_PORT must be between 1 and 65535"),
        ({"DATABASE_URL": "mysql://x"}, "DATABASE_URL must be"),
        ({"REDIS_URL": "http://x"}, "REDIS_URL must be"),
        ({"PROMETHEUS_URL": "localhost:9090"}, "PROMETHEUS_URL must be an http(s) URL"),
        ({"SMTP_STARTTLS": "maybe"}, "SMTP_STARTTLS must be true or false"),
        ({"TWILIO_ACCOUNT_SID": "AC123"}, "TWILIO_AUTH_TOKEN is required"),
        ({"SD_TOKEN_FILE": "/nonexistent/token"}, "SD_TOKEN_FILE: cannot read"),
    ],
)
def test_it_names_the_bad_setting(change, message):
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)")):
        Config.from_env({**BASE, **change})


def test_secrets_can_come_from_files(tmp_path):
    token_file = tmp_path / "sd"
    token_file.write_text("from-a-file-0123456789\n")
    config = Config.from_env({**BASE, "SD_TOKEN": "", "SD_TOKEN_FILE": str(token_file)})
    assert config.sd_token == "from-a-file-0123456789"


def test_postgres_urls_use_psycopg2_and_https_turns_on_secure_cookies():
    config = Config.from_env({**BASE, "DATABASE_URL": "postgres://u@db/x",
                              "PORTAL_URL": "https://servermon.bank.example"})
    assert config.database_url == "postgresql+psycopg2://u@db/x"
    assert config.cookie_secure is True


def test_the_cli_stops_with_one_line_and_no_traceback(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SECRET_KEY", "SD_TOKEN"))}
    env.update({"ALERTMANAGER_WEBHOOK_TOKEN": "a" * 20, "SD_TOKEN": "s" * 20})
    result = subprocess.run([sys.executable, "-m", "flask", "--app", "portal", "users", "--help"],
                            capture_output=True, text=True, env=env, cwd=tmp_path, timeout=60)
    assert result.returncode != 0
    assert "servermon: configuration error: SECRET_KEY is required" in result.stderr
    assert "Traceback" not in result.stderr
