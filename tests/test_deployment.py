"""The compose stack and image, checked by parsing (no Docker engine on these machines)."""

import subprocess
import sys
from pathlib import Path

import yaml

from tests.support.binaries import binary

ROOT = Path(__file__).resolve().parent.parent
SECRETS = {"SECRET_KEY": "s" * 40, "SD_TOKEN": "t" * 20, "ALERTMANAGER_WEBHOOK_TOKEN": "a" * 20,
           "PROBE_SECRETS_KEY": "k" * 40,
           "POSTGRES_PASSWORD": "p" * 20}


def env_file(tmp_path: Path, **overrides: str) -> Path:
    lines = []
    for line in (ROOT / ".env.example").read_text().splitlines():
        key = line.split("=", 1)[0]
        if key in {**SECRETS, **overrides}:
            line = f"{key}={ {**SECRETS, **overrides}[key]}"
        lines.append(line)
    path = tmp_path / ".env"
    path.write_text("\n".join(lines) + "\n")
    return path


def compose_config(env: Path) -> subprocess.CompletedProcess:
    return subprocess.run([binary("docker-compose"), "--env-file", str(env), "-f",
                           str(ROOT / "docker-compose.yml"), "config"],
                          capture_output=True, text=True, timeout=60, cwd=ROOT)


def test_the_compose_file_is_valid_with_the_example_env(tmp_path):
    result = compose_config(env_file(tmp_path))
    assert result.returncode == 0, result.stderr
    services = yaml.safe_load(result.stdout)["services"]
    assert set(services) >= {"postgres", "redis", "prometheus", "alertmanager", "grafana",
                             "portal", "worker", "exporter", "nginx"}
    assert list(services["nginx"]["ports"])
    published = [name for name, service in services.items() if service.get("ports")]
    assert published == ["nginx"]


def test_a_missing_secret_is_named(tmp_path):
    result = compose_config(env_file(tmp_path, SECRET_KEY=""))
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr


def test_every_mounted_path_exists():
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    mounts = [volume.split(":")[0] for service in compose["services"].values()
              for volume in service.get("volumes", []) if volume.startswith("./")]
    assert mounts
    for mount in mounts:
        assert (ROOT / mount).exists(), mount


def test_the_image_runs_as_a_user_with_a_healthcheck_and_copies_what_exists():
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "\nUSER servermon\n" in dockerfile
    assert "HEALTHCHECK" in dockerfile
    for line in dockerfile.splitlines():
        if line.startswith("COPY ") and "--from" not in line:
            for source in line.split()[1:-1]:
                assert (ROOT / source).exists(), source


def test_the_webhook_token_is_read_from_a_file_not_written_in_the_config():
    manager = yaml.safe_load((ROOT / "provisioning/alertmanager/alertmanager.yml").read_text())
    auth = manager["receivers"][0]["webhook_configs"][0]["http_config"]["authorization"]
    assert set(auth) == {"type", "credentials_file"}


def test_prometheus_and_alertmanager_have_no_lifecycle_endpoint_and_probes_avoid_them(tmp_path):
    """POST http://127.0.0.1:9090/-/quit, sent as a server's probe, shut Prometheus down."""
    result = compose_config(env_file(tmp_path))
    assert result.returncode == 0, result.stderr
    services = yaml.safe_load(result.stdout)["services"]
    for name in ("prometheus", "alertmanager"):
        command = " ".join(services[name].get("command") or [])
        assert "enable-lifecycle" not in command and "enable-admin-api" not in command
    exporter = services["exporter"]["environment"]
    assert exporter["PROMETHEUS_URL"] == "http://prometheus:9090"
    assert exporter["ALERTMANAGER_URL"] == "http://alertmanager:9093"
    assert "169.254.0.0/16" in exporter["PROBE_DENY_NETWORKS"]
    server = (ROOT / "script/server").read_text()
    assert "enable-lifecycle" not in server and "enable-admin-api" not in server
    # One machine: the exporter (its /probe endpoint) answers on loopback only.
    assert 'EXPORTER_LISTEN="${EXPORTER_LISTEN:-127.0.0.1}"' in server


def test_the_portal_runs_the_gunicorn_config_open_to_the_network_behind_nginx(tmp_path):
    """In compose nginx is another container: the portal listens beyond loopback and
    believes forwarded addresses from the private networks only."""
    services = yaml.safe_load(compose_config(env_file(tmp_path)).stdout)["services"]
    portal = services["portal"]
    assert portal["command"][:3] == ["gunicorn", "-c", "portal/gunicorn_conf.py"]
    assert portal["environment"]["PORTAL_LISTEN"] == "0.0.0.0"  # noqa: S104 - its network
    assert portal["environment"]["TRUSTED_PROXIES"] == "172.16.0.0/12,10.0.0.0/8,192.168.0.0/16"
    for name in ("worker", "exporter", "migrate"):
        assert "PORTAL_LISTEN" not in services[name].get("environment", {}), name


def test_the_image_serves_the_portal_with_the_gunicorn_config():
    cmd = next(line for line in (ROOT / "Dockerfile").read_text().splitlines()
               if line.startswith("CMD "))
    assert '"-c", "portal/gunicorn_conf.py"' in cmd
    assert "--bind" not in cmd and "0.0.0.0" not in cmd  # noqa: S104 - checks it is not


def test_prometheus_keeps_30_days_unless_the_env_says_otherwise(tmp_path):
    """400 days at a 5 s scrape was terabytes at 10,000 servers; 30 days is what the charts
    and the 30-day availability rule read."""
    def prometheus_flags(**env: str) -> list[str]:
        result = compose_config(env_file(tmp_path, **env))
        assert result.returncode == 0, result.stderr
        return yaml.safe_load(result.stdout)["services"]["prometheus"]["command"]

    assert {"--storage.tsdb.retention.time=30d",
            "--storage.tsdb.retention.size=0"} <= set(prometheus_flags())
    assert {"--storage.tsdb.retention.time=45d", "--storage.tsdb.retention.size=200GB"} <= set(
        prometheus_flags(PROMETHEUS_RETENTION_TIME="45d", PROMETHEUS_RETENTION_SIZE="200GB"))
    server = (ROOT / "script/server").read_text()
    assert 'prometheus_retention_time="${PROMETHEUS_RETENTION_TIME:-30d}"' in server
    assert '--storage.tsdb.retention.time="$prometheus_retention_time"' in server
    assert '--remote-write "$PROMETHEUS_REMOTE_WRITE_URL"' in server


def test_the_longterm_profile_is_the_store_the_remote_write_example_writes_to(tmp_path):
    result = compose_config(env_file(tmp_path))
    assert result.returncode == 0, result.stderr
    store = yaml.safe_load(result.stdout)["services"]["victoriametrics"]
    assert store["profiles"] == ["longterm"]  # not started by a plain `docker compose up`
    assert "-retentionPeriod=400d" in store["command"]
    assert not store.get("ports")
    port = next(flag.rsplit(":", 1)[1] for flag in store["command"]
                if flag.startswith("-httpListenAddr="))
    example = yaml.safe_load((ROOT / "provisioning/prometheus/remote_write.example.yml").read_text())
    assert [w["url"] for w in example["remote_write"]] == [
        f"http://victoriametrics:{port}/api/v1/write"]


def test_compose_renders_the_rules_with_runbook_links_to_this_deployments_portal(tmp_path):
    """Prometheus reads the rules the one-shot ``rules`` service rendered into a volume, so
    each runbook_url is <PORTAL_URL>/runbooks/<Alert> for this deployment, not the
    committed default. The service's own command runs here, with the image's paths
    pointed at this checkout."""
    result = compose_config(env_file(tmp_path, PORTAL_URL="https://servermon.bank.example"))
    assert result.returncode == 0, result.stderr
    services = yaml.safe_load(result.stdout)["services"]
    rules, prometheus = services["rules"], services["prometheus"]
    assert prometheus["depends_on"]["rules"]["condition"] == "service_completed_successfully"
    [(volume, written_at, _mode)] = [v.split(":") for v in rules["volumes"]]
    [(read_at, mode)] = [v.split(":")[1:] for v in prometheus["volumes"]
                         if v.split(":")[0] == volume]
    committed = yaml.safe_load((ROOT / "provisioning/prometheus/prometheus.yml").read_text())
    assert committed["rule_files"] == [f"{read_at}/*.rules.yml"] and mode == "ro"
    out = tmp_path / "rendered"
    command = rules["command"][-1].replace(written_at, str(out)).replace(
        "/app/alert_rules", str(ROOT / "alert_rules")).replace("$$", "$")
    run = subprocess.run([*rules["command"][:-1], command], cwd=ROOT, capture_output=True,
                         text=True, timeout=60,
                         env={**rules["environment"], "PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin"})
    assert run.returncode == 0, run.stderr
    written = sorted(out.glob("*.rules.yml"))
    assert [p.name for p in written] == [
        "baselines.rules.yml", "recording.rules.yml", "resources.rules.yml", "servermon.rules.yml",
        "warnings.rules.yml"]
    links = [rule["annotations"]["runbook_url"]
             for path in written for group in yaml.safe_load(path.read_text())["groups"]
             for rule in group["rules"] if "alert" in rule]
    assert links and all(link == f"https://servermon.bank.example/runbooks/{link.rsplit('/', 1)[1]}"
                         for link in links)


def test_prometheus_gets_the_sd_token_as_the_file_its_nodes_job_reads(tmp_path):
    """Job servermon-nodes asks the portal's /api/sd/nodes with SD_TOKEN, from a file the
    entrypoint writes before it starts Prometheus with the service's flags. The entrypoint
    runs here, with the container's paths pointed into tmp_path."""
    result = compose_config(env_file(tmp_path))
    assert result.returncode == 0, result.stderr
    prometheus = yaml.safe_load(result.stdout)["services"]["prometheus"]
    committed = yaml.safe_load((ROOT / "provisioning/prometheus/prometheus.yml").read_text())
    [nodes] = [job for job in committed["scrape_configs"] if job["job_name"] == "servermon-nodes"]
    [sd] = nodes["http_sd_configs"]
    assert sd["url"] == "http://portal:8000/api/sd/nodes"
    token_file = sd["authorization"]["credentials_file"]
    assert prometheus["environment"]["SD_TOKEN"] == SECRETS["SD_TOKEN"]
    shell, flag, script, name = prometheus["entrypoint"]
    script = script.replace("$$", "$").replace("/run/secrets", str(tmp_path / "run")).replace(
        "/bin/prometheus", "/bin/echo")
    run = subprocess.run([shell, flag, script, name, *prometheus["command"]], capture_output=True,
                         text=True, timeout=30, env={"SD_TOKEN": SECRETS["SD_TOKEN"]})
    assert run.returncode == 0, run.stderr
    assert run.stdout.split() == prometheus["command"]
    written = tmp_path / "run" / token_file.removeprefix("/run/secrets/")
    assert written.read_text() == SECRETS["SD_TOKEN"]
