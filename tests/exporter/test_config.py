"""Configuration from the environment: defaults, and one clear line for a bad value."""

import os
import subprocess
import sys

import pytest

from exporter.config import ConfigError, ExporterConfig

TOKEN = "x" * 16


def test_defaults():
    config = ExporterConfig.from_env({"SD_TOKEN": TOKEN})
    assert config.portal_url == "http://127.0.0.1:8000"
    assert config.redis_url == "redis://127.0.0.1:6379/0"
    assert (config.port, config.listen, config.sd_refresh_s) == (9117, "0.0.0.0", 30)  # noqa: S104
    assert (config.shard, config.shards) == (0, 1)


def test_the_probe_policy_denies_the_stacks_own_services_and_link_local():
    config = ExporterConfig.from_env({
        "SD_TOKEN": TOKEN, "EXPORTER_PORT": "9200", "REDIS_URL": "redis://127.0.0.1:6390/0",
        "PROMETHEUS_URL": "http://127.0.0.1:9091", "ALERTMANAGER_URL": "http://127.0.0.1:9094",
        "PROBE_DENY_ENDPOINTS": "10.1.1.1:3000", "PROBE_ALLOW_NETWORKS": "10.0.0.0/8,127.0.0.0/8"})
    policy = config.probe_policy
    for port in (9200, 6390, 9091, 9094):
        assert policy.refusal("127.0.0.1", port), port
    assert policy.refusal("10.1.1.1", 3000)
    assert policy.refusal("169.254.169.254", 80)
    assert policy.refusal("192.168.1.1", 80)  # outside the allow list
    assert policy.refusal("10.1.1.2", 3000) is None


def test_the_token_may_come_from_a_file(tmp_path):
    secret = tmp_path / "token"
    secret.write_text("from-a-file-0123456789\n")
    assert ExporterConfig.from_env({"SD_TOKEN_FILE": str(secret)}).sd_token == \
        "from-a-file-0123456789"


@pytest.mark.parametrize(("env", "message"), [
    ({"SD_TOKEN": None}, "SD_TOKEN is required (the portal's service discovery token)"),
    ({"SD_TOKEN": "short"}, "SD_TOKEN must be at least 16 characters long"),
    ({"EXPORTER_PORT": "99999"}, "EXPORTER_PORT must be between 1 and 65535, got 99999"),
    ({"EXPORTER_PORT": "http"}, "EXPORTER_PORT must be a whole number, got 'http'"),
    ({"SD_REFRESH_S": "0"}, "SD_REFRESH_S must be between 1 and 3600, got 0"),
    ({"EXPORTER_CONCURRENCY": "-1"}, "EXPORTER_CONCURRENCY must be between 1 and 100000, got -1"),
    ({"PORTAL_URL": "portal:8000"}, "PORTAL_URL must be a http/https URL, got 'portal:8000'"),
    ({"REDIS_URL": "http://r"}, "REDIS_URL must be a redis/rediss/unix URL, got 'http://r'"),
    ({"EXPORTER_SHARDS": "4", "EXPORTER_SHARD": "4"},
     "EXPORTER_SHARD must be below EXPORTER_SHARDS (4), got 4"),
    ({"PROBE_DENY_NETWORKS": "169.254.0.0/33"}, "PROBE_DENY_NETWORKS must be "
     "comma-separated networks such as 10.0.0.0/8: '169.254.0.0/33' does not appear to be an "
     "IPv4 or IPv6 network"),
    ({"PROBE_DENY_ENDPOINTS": "grafana"},
     "PROBE_DENY_ENDPOINTS: 'grafana' is not host:port or a URL with a port"),
    ({"SD_TOKEN": None, "SD_TOKEN_FILE": "/nonexistent/token"},
     "SD_TOKEN_FILE: cannot read /nonexistent/token: No such file or directory"),
])
def test_a_bad_setting_is_named(env, message):
    values = {k: v for k, v in {"SD_TOKEN": TOKEN, **env}.items() if v is not None}
    with pytest.raises(ConfigError) as error:
        ExporterConfig.from_env(values)
    assert str(error.value) == message


def test_start_up_stops_with_one_line_naming_the_variable():
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("EXPORTER_", "SD_", "PORTAL_", "REDIS_"))}
    env.update(SD_TOKEN=TOKEN, EXPORTER_PORT="99999")
    result = subprocess.run([sys.executable, "-m", "exporter"], capture_output=True, text=True,
                            env=env, timeout=30)
    assert result.returncode == 2
    assert result.stderr == ("servermon-exporter: configuration error: EXPORTER_PORT must be "
                             "between 1 and 65535, got 99999\n")
