"""Configuration fails at start-up with one clear line naming the setting."""

import os
import re
import subprocess
import sys
from ipaddress import ip_network

import pytest

from portal.config import Config, ConfigError, without_password

BASE = {"SECRET_KEY": "k" * 40, "SD_TOKEN": "s" * 20, "ALERTMANAGER_WEBHOOK_TOKEN": "a" * 20,
        "PROBE_SECRETS_KEY": "p" * 40}


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
        ({"DEPLOYMENT_NAME": "Production"}, "DEPLOYMENT_NAME must be 1-63 lower-case"),
        ({"DEPLOYMENT_NAME": "-prod"}, "DEPLOYMENT_NAME must be"),
        ({"DEPLOYMENT_NAME": "p" * 64}, "DEPLOYMENT_NAME must be"),
        ({"TRUSTED_PROXIES": "nginx"}, "TRUSTED_PROXIES: 'nginx' is not an IP network"),
        ({"TRUSTED_PROXIES": "10.0.0.0/33"}, "TRUSTED_PROXIES: '10.0.0.0/33' is not an IP network"),
        ({"TRUSTED_PROXIES": "10.0.0.1/8"}, "TRUSTED_PROXIES: '10.0.0.1/8' has host bits set"),
        ({"TRUSTED_PROXIES": "10.0.0.0/8,,"}, "TRUSTED_PROXIES: an empty entry"),
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


def _secrets_dir(tmp_path, **secrets):
    folder = tmp_path / "secrets"
    folder.mkdir(parents=True)
    for name, value in secrets.items():
        (folder / name).write_text(value + "\n")
    return folder


def test_secrets_can_come_from_the_secrets_folder(tmp_path):
    folder = _secrets_dir(tmp_path, secret_key="f" * 40, sd_token="from-the-folder-0123")
    config = Config.from_env({"ALERTMANAGER_WEBHOOK_TOKEN": "a" * 20,
                              "PROBE_SECRETS_KEY": "p" * 40}, secrets_dir=folder)
    assert config.secret_key == "f" * 40
    assert config.sd_token == "from-the-folder-0123"


def test_the_variable_and_its_file_win_over_the_secrets_folder(tmp_path):
    folder = _secrets_dir(tmp_path, secret_key="f" * 40, sd_token="from-the-folder-0123")
    token_file = tmp_path / "sd"
    token_file.write_text("from-a-file-0123456789\n")
    config = Config.from_env({**BASE, "SD_TOKEN": "", "SD_TOKEN_FILE": str(token_file)},
                             secrets_dir=folder)
    assert config.secret_key == BASE["SECRET_KEY"]
    assert config.sd_token == "from-a-file-0123456789"


def test_a_mapping_alone_never_reads_the_checkouts_secrets(tmp_path, monkeypatch):
    _secrets_dir(tmp_path / "var", secret_key="f" * 40)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SERVERMON_SECRETS_DIR", str(tmp_path / "var" / "secrets"))
    with pytest.raises(ConfigError, match=r"^SECRET_KEY is required$"):
        Config.from_env({**BASE, "SECRET_KEY": ""})


def test_the_process_environment_reads_var_secrets_under_the_current_directory(
        tmp_path, monkeypatch):
    _secrets_dir(tmp_path / "var", secret_key="f" * 40)
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("SECRET_KEY", raising=False)
    monkeypatch.delenv("SECRET_KEY_FILE", raising=False)
    monkeypatch.delenv("SERVERMON_SECRETS_DIR", raising=False)
    for name in ("SD_TOKEN", "ALERTMANAGER_WEBHOOK_TOKEN", "PROBE_SECRETS_KEY"):
        monkeypatch.setenv(name, BASE[name])
    assert Config.from_env().secret_key == "f" * 40


def test_servermon_secrets_dir_moves_the_secrets_folder(tmp_path, monkeypatch):
    folder = _secrets_dir(tmp_path, secret_key="f" * 40)
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("SECRET_KEY", raising=False)
    monkeypatch.delenv("SECRET_KEY_FILE", raising=False)
    monkeypatch.setenv("SERVERMON_SECRETS_DIR", str(folder))
    for name in ("SD_TOKEN", "ALERTMANAGER_WEBHOOK_TOKEN", "PROBE_SECRETS_KEY"):
        monkeypatch.setenv(name, BASE[name])
    assert Config.from_env().secret_key == "f" * 40


def test_an_unreadable_secrets_file_is_one_line_naming_its_path(tmp_path):
    folder = _secrets_dir(tmp_path)
    (folder / "secret_key").mkdir()  # unreadable even for root, unlike chmod 000
    with pytest.raises(ConfigError) as error:
        Config.from_env({**BASE, "SECRET_KEY": ""}, secrets_dir=folder)
    message = str(error.value)
    assert message.startswith(f"SECRET_KEY: cannot read {folder / 'secret_key'}: ")
    assert "\n" not in message


def test_postgres_urls_use_psycopg2_and_https_turns_on_secure_cookies():
    config = Config.from_env({**BASE, "DATABASE_URL": "postgres://u@db/x",
                              "PORTAL_URL": "https://servermon.bank.example"})
    assert config.database_url == "postgresql+psycopg2://u@db/x"
    assert config.cookie_secure is True


def test_the_deployment_is_named_by_its_database_whatever_the_password():
    first = Config.from_env({**BASE, "DATABASE_URL": "postgresql://servermon:old@db:5432/prod"})
    rotated = Config.from_env({**BASE, "DATABASE_URL": "postgres://servermon:new@db:5432/prod"})
    staging = Config.from_env({**BASE, "DATABASE_URL": "postgresql://servermon:old@db:5432/staging"})
    assert first.deployment == rotated.deployment != staging.deployment
    assert re.fullmatch(r"db-[0-9a-f]{12}", first.deployment)
    assert "old" not in without_password(first.database_url)


def test_trusted_proxies_default_to_nginx_on_this_host():
    assert Config.from_env(BASE).trusted_proxies == (ip_network("127.0.0.1/32"),
                                                      ip_network("::1/128"))


def test_trusted_proxies_are_networks_or_single_addresses():
    config = Config.from_env({**BASE, "TRUSTED_PROXIES": " 172.16.0.0/12, 10.1.2.3 ,fd00::/8"})
    assert config.trusted_proxies == (ip_network("172.16.0.0/12"), ip_network("10.1.2.3/32"),
                                      ip_network("fd00::/8"))


def test_an_empty_trusted_proxies_trusts_no_proxy():
    assert Config.from_env({**BASE, "TRUSTED_PROXIES": ""}).trusted_proxies == ()


def test_deployment_name_names_it_outright():
    config = Config.from_env({**BASE, "DEPLOYMENT_NAME": "bank-prod-2"})
    assert config.deployment == "bank-prod-2"


def test_the_cli_stops_with_one_line_and_no_traceback(tmp_path):
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("SECRET_KEY", "SD_TOKEN", "SERVERMON_SECRETS_DIR"))}
    env.update({"ALERTMANAGER_WEBHOOK_TOKEN": "a" * 20, "SD_TOKEN": "s" * 20})
    result = subprocess.run([sys.executable, "-m", "flask", "--app", "portal", "users", "--help"],
                            capture_output=True, text=True, env=env, cwd=tmp_path, timeout=60)
    assert result.returncode != 0
    assert "servermon: configuration error: SECRET_KEY is required" in result.stderr
    assert "Traceback" not in result.stderr
