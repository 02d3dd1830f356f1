"""Render ready-to-run Prometheus and Alertmanager configs from the committed ones.

The files under provisioning/ and alert_rules/ are written for docker-compose (service
names as hosts, secrets under /run/secrets). script/server and the end-to-end tests run
the same configs on one machine, with other addresses, a token file elsewhere, and
sometimes shorter timings; this module rewrites just those values, so what runs is
what is reviewed.

    python -m provisioning.render --out var/provisioning \\
        --exporter 127.0.0.1:9117 --portal 127.0.0.1:8000 --alertmanager 127.0.0.1:9093 \\
        --webhook-token-file var/secrets/alertmanager_webhook_token \\
        [--server-down-for 10s] [--group-wait 5s] [--group-interval 30s] \\
        [--scrape-interval 5s] [--evaluation-interval 5s] [--runbook-base URL]

Writes <out>/prometheus.yml, <out>/rules/*.yml and <out>/alertmanager.yml.
"""

from __future__ import annotations

import argparse
import re
from dataclasses import dataclass
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
RULES_DIR = ROOT / "alert_rules"
PROMETHEUS_YML = ROOT / "provisioning" / "prometheus" / "prometheus.yml"
ALERTMANAGER_YML = ROOT / "provisioning" / "alertmanager" / "alertmanager.yml"
DEFAULT_RUNBOOKS = "https://servermon.internal/runbooks"
_DURATION = re.compile(r"^\d+(ms|s|m|h|d)$")


@dataclass(frozen=True)
class Rendered:
    prometheus: Path
    alertmanager: Path
    rules: list[Path]


def _duration(value: str, name: str) -> str:
    if not _DURATION.match(value):
        raise ValueError(f"{name} must be a Prometheus duration such as 10s, got {value!r}")
    return value


def _load(path: Path) -> dict:
    return yaml.safe_load(path.read_text())


def _dump(data: dict, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(data, sort_keys=False, width=120))
    return path


def render_rules(out: Path, *, server_down_for: str, runbook_base: str) -> list[Path]:
    written = []
    for source in sorted(RULES_DIR.glob("*.yml")):
        data = _load(source)
        for group in data["groups"]:
            for rule in group["rules"]:
                if rule.get("alert") == "ServerDown":
                    rule["for"] = server_down_for
                    rule["annotations"]["description"] = rule["annotations"]["description"] \
                        .replace("at least 10 seconds", f"at least {server_down_for}")
                runbook = rule.get("annotations", {}).get("runbook_url")
                if runbook:
                    rule["annotations"]["runbook_url"] = runbook.replace(DEFAULT_RUNBOOKS,
                                                                         runbook_base)
        written.append(_dump(data, out / "rules" / source.name))
    return written


def render_prometheus(out: Path, *, exporter: str, portal: str, alertmanager: str,
                      scrape_interval: str, evaluation_interval: str) -> Path:
    data = _load(PROMETHEUS_YML)
    data["global"]["evaluation_interval"] = evaluation_interval
    data["rule_files"] = [str((out / "rules" / "*.yml").resolve())]
    data["alerting"]["alertmanagers"][0]["static_configs"][0]["targets"] = [alertmanager]
    for job in data["scrape_configs"]:
        if job["job_name"] == "servermon-exporter":
            job["static_configs"][0]["targets"] = [exporter]
            job["scrape_interval"] = scrape_interval
            job["scrape_timeout"] = scrape_interval
        elif job["job_name"] == "servermon-portal":
            job["static_configs"][0]["targets"] = [portal]
    return _dump(data, out / "prometheus.yml")


def render_alertmanager(out: Path, *, portal: str, webhook_token_file: Path, group_wait: str,
                        group_interval: str) -> Path:
    data = _load(ALERTMANAGER_YML)
    data["route"]["group_wait"] = group_wait
    data["route"]["group_interval"] = group_interval
    webhook = data["receivers"][0]["webhook_configs"][0]
    webhook["url"] = f"http://{portal}/api/alertmanager/webhook"
    webhook["http_config"]["authorization"]["credentials_file"] = str(
        webhook_token_file.resolve())
    return _dump(data, out / "alertmanager.yml")


def render(out: Path, *, exporter: str, portal: str, alertmanager: str,
           webhook_token_file: Path, server_down_for: str = "10s", group_wait: str = "5s",
           group_interval: str = "30s", scrape_interval: str = "5s",
           evaluation_interval: str = "5s", runbook_base: str = DEFAULT_RUNBOOKS) -> Rendered:
    """Write the three configs under ``out``; ValueError names a malformed duration."""
    for value, name in ((server_down_for, "server_down_for"), (group_wait, "group_wait"),
                        (group_interval, "group_interval"), (scrape_interval, "scrape_interval"),
                        (evaluation_interval, "evaluation_interval")):
        _duration(value, name)
    out.mkdir(parents=True, exist_ok=True)
    rules = render_rules(out, server_down_for=server_down_for,
                         runbook_base=runbook_base.rstrip("/"))
    prometheus = render_prometheus(out, exporter=exporter, portal=portal,
                                   alertmanager=alertmanager, scrape_interval=scrape_interval,
                                   evaluation_interval=evaluation_interval)
    manager = render_alertmanager(out, portal=portal, webhook_token_file=webhook_token_file,
                                  group_wait=group_wait, group_interval=group_interval)
    return Rendered(prometheus=prometheus, alertmanager=manager, rules=rules)


def main() -> None:
    parser = argparse.ArgumentParser(description="Render servermon's Prometheus and "
                                                 "Alertmanager configs for this machine.")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--exporter", default="127.0.0.1:9117")
    parser.add_argument("--portal", default="127.0.0.1:8000")
    parser.add_argument("--alertmanager", default="127.0.0.1:9093")
    parser.add_argument("--webhook-token-file", type=Path, required=True)
    parser.add_argument("--server-down-for", default="10s")
    parser.add_argument("--group-wait", default="5s")
    parser.add_argument("--group-interval", default="30s")
    parser.add_argument("--scrape-interval", default="5s")
    parser.add_argument("--evaluation-interval", default="5s")
    parser.add_argument("--runbook-base", default=DEFAULT_RUNBOOKS)
    args = parser.parse_args()
    try:
        rendered = render(args.out, exporter=args.exporter, portal=args.portal,
                          alertmanager=args.alertmanager,
                          webhook_token_file=args.webhook_token_file,
                          server_down_for=args.server_down_for, group_wait=args.group_wait,
                          group_interval=args.group_interval,
                          scrape_interval=args.scrape_interval,
                          evaluation_interval=args.evaluation_interval,
                          runbook_base=args.runbook_base)
    except ValueError as exc:
        parser.error(str(exc))
    print(f"wrote {rendered.prometheus}, {rendered.alertmanager} and "
          f"{len(rendered.rules)} rule files")


if __name__ == "__main__":
    main()
