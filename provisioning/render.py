"""Render ready-to-run Prometheus and Alertmanager configs from the committed ones.

The committed files (``provisioning/prometheus/prometheus.yml``,
``provisioning/alertmanager/alertmanager.yml``, ``alert_rules/*.rules.yml``) are written
for docker-compose: service names as hosts, rules mounted at /etc/prometheus/rules, the
webhook token under /run/secrets. script/server and the end-to-end tests run the same
configs on one machine with other addresses, a token file elsewhere and sometimes shorter
timings. This module changes just those values, so what runs is what was reviewed.

Command line (addresses are ``host:port``; durations are Prometheus durations such as
``15s`` or ``1m30s``; a timing left out keeps its committed value)::

    python -m provisioning.render --out var/provisioning \\
        --webhook-token-file var/secrets/alertmanager_webhook_token \\
        [--exporter 127.0.0.1:9117] [--portal 127.0.0.1:8000] [--alertmanager 127.0.0.1:9093] \\
        [--server-down-for 0s] [--scrape-interval 5s] [--evaluation-interval 5s] \\
        [--group-wait 5s] [--group-interval 1m] [--prometheus localhost:9090] \\
        [--smtp-smarthost 127.0.0.1:25] [--admin-email ops@bank.example] \\
        [--portal-url https://servermon.bank.example] [--rules-dir alert_rules] \\
        [--remote-write http://127.0.0.1:8428/api/v1/write ...] \\
        [--sd-token-file var/secrets/sd_token] [--blackbox-job]

    --out                  directory to write into (created; stale rule files removed)
    --webhook-token-file   file holding the portal's webhook bearer token; must exist,
                           Alertmanager reads it at every post (the token never enters a config)
    --exporter             exporter to scrape (job servermon-exporter)
    --portal               portal to scrape at /metrics and to post alerts to
                           (http://<portal>/api/alertmanager/webhook)
    --alertmanager         Alertmanager that Prometheus sends alerts to (and scrapes)
    --prometheus           Prometheus's own address, which it scrapes (job prometheus)
    --smtp-smarthost       the mail relay Alertmanager mails PortalDown through
    --admin-email          who gets that mail (receiver admins-email)
    --server-down-for      ServerDown's `for` window (committed: none, 0s)
    --scrape-interval      how often the exporter and the servers' node exporters are
                           scraped (scrape_timeout follows)
    --evaluation-interval  how often alerting rules are evaluated
    --group-wait           Alertmanager's wait before a new group's first post
    --group-interval       Alertmanager's wait before posting a change (e.g. resolution)
    --portal-url           the portal's public address (PORTAL_URL): every alert's runbook_url
                           becomes <portal-url>/runbooks/<AlertName>, the page the portal
                           serves from docs/runbooks/ (committed: http://localhost:8080,
                           docker-compose's default PORTAL_URL)
    --rules-dir            where the *.rules.yml files are read from (default alert_rules/)
    --rules-only           write only the rule files, into --out itself (docker-compose's
                           one-shot "rules" service: --portal-url, --rules-dir and
                           --server-down-for count; nothing else is needed)
    --remote-write         a long-term store's remote_write URL (VictoriaMetrics, Thanos
                           Receive, Mimir); repeatable, added after any the committed file has
    --blackbox-job         also write <out>/blackbox_job.yml: a classic blackbox-style job
                           (servermon-blackbox, from provisioning/prometheus/
                           blackbox_job.example.yml) for ANOTHER Prometheus, where Prometheus
                           asks the exporter's /probe for each server of the portal's service
                           discovery, one request per server per scrape. Never added to
                           servermon's own prometheus.yml: its rules, recording rules and the
                           portal read probe_success per server, and a second job writing it
                           would double every figure and page on unconfirmed failures
    --sd-token-file        file holding SD_TOKEN, which Prometheus sends to the portal's
                           /api/sd/nodes (job servermon-nodes, the servers' node_exporter
                           and windows_exporter); without it that job is left out, as
                           Prometheus could not list them. Also the classic job's service
                           discovery and /probe requests (required with --blackbox-job)

Writes ``<out>/prometheus.yml`` (rule_files naming the rendered rules by absolute path),
``<out>/rules/*.rules.yml``, ``<out>/alertmanager.yml`` and, with ``--blackbox-job``,
``<out>/blackbox_job.yml``; a bad value stops it with one
line naming the option (exit status 2), before anything is written. From Python, call
:func:`render`.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
RULES_DIR = ROOT / "alert_rules"
RULE_FILES = "*.rules.yml"
PROMETHEUS_YML = ROOT / "provisioning" / "prometheus" / "prometheus.yml"
ALERTMANAGER_YML = ROOT / "provisioning" / "alertmanager" / "alertmanager.yml"
BLACKBOX_JOB_YML = ROOT / "provisioning" / "prometheus" / "blackbox_job.example.yml"
DEFAULT_PORTAL_URL = "http://localhost:8080"  # docker-compose's PORTAL_URL, as committed
RUNBOOKS_PATH = "/runbooks"  # where the portal serves docs/runbooks/<AlertName>.md
EXPORTER_JOB = "servermon-exporter"
PORTAL_JOB = "servermon-portal"
NODES_JOB = "servermon-nodes"
PROMETHEUS_JOB = "prometheus"
ALERTMANAGER_JOB = "alertmanager"
BLACKBOX_JOB = "servermon-blackbox"
SD_PATH = "/api/sd/targets"
NODES_SD_PATH = "/api/sd/nodes"
ADMIN_RECEIVER = "admins-email"
RECEIVER = "portal"
WEBHOOK_PATH = "/api/alertmanager/webhook"
DOWN_ALERT = "ServerDown"

# Prometheus's own duration syntax: units largest first, each at most once.
_DURATION = re.compile(r"(?:(\d+)y)?(?:(\d+)w)?(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?(?:(\d+)ms)?")
_UNIT_MS = (365 * 86_400_000, 7 * 86_400_000, 86_400_000, 3_600_000, 60_000, 1000, 1)
_ADDRESS = re.compile(r"(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9](?:[A-Za-z0-9_.-]*[A-Za-z0-9])?):(\d{1,5})")


class RenderError(ValueError):
    """A value the configs cannot take; the message names the option."""


@dataclass(frozen=True)
class RenderedPaths:
    """Where the ready-to-run files were written (all absolute)."""

    prometheus: Path
    alertmanager: Path
    rules: tuple[Path, ...]
    blackbox_job: Path | None = None  # with --blackbox-job: the job, for another Prometheus


def _duration(value: str | None, option: str, *, positive: bool = False) -> str | None:
    if value is None:
        return None
    match = _DURATION.fullmatch(value)
    if not value or not match:
        raise RenderError(f"{option} must be a Prometheus duration such as 15s or 1m30s, got {value!r}")
    ms = sum(int(n) * unit for n, unit in zip(match.groups(), _UNIT_MS, strict=True) if n)
    if positive and ms == 0:
        raise RenderError(f"{option} must be longer than 0, got {value!r}")
    return value


def _address(value: str, option: str) -> str:
    match = _ADDRESS.fullmatch(value)
    if not match or not 0 < int(match.group(1)) < 65536:
        raise RenderError(f"{option} must be host:port, such as 127.0.0.1:9117, got {value!r}")
    return value


def _portal_url(value: str) -> str:
    if not re.match(r"^https?://[^\s/]+", value):
        raise RenderError(f"--portal-url must be an http(s) URL, got {value!r}")
    return value.rstrip("/")


def runbook_url(portal_url: str, alert: str) -> str:
    """The page of the portal that explains ``alert``: the one rule for every runbook_url."""
    return f"{portal_url.rstrip('/')}{RUNBOOKS_PATH}/{alert}"


def _remote_write(urls: Sequence[str]) -> list[str]:
    for url in urls:
        if not re.match(r"^https?://[^\s/]+/\S*$", url):
            raise RenderError(f"--remote-write must be an http(s) URL with a path, such as "
                              f"http://127.0.0.1:8428/api/v1/write, got {url!r}")
    return list(urls)


def _token_file(path: Path, option: str = "--webhook-token-file") -> Path:
    if not path.is_file() or path.stat().st_size == 0:
        raise RenderError(f"{option} {path} must be an existing, non-empty file")
    return path.resolve()


def classic_job(*, exporter: str, portal: str, sd_token_file: Path,
                 scrape_interval: str | None = None) -> dict[str, Any]:
    """The committed classic job with this machine's exporter, portal and token file."""
    jobs = _load(BLACKBOX_JOB_YML).get("scrape_configs") or []
    job = next((job for job in jobs if job.get("job_name") == BLACKBOX_JOB), None)
    if job is None:
        raise RenderError(f"{BLACKBOX_JOB_YML} has no scrape job {BLACKBOX_JOB!r}")
    job["authorization"]["credentials_file"] = str(sd_token_file)
    for sd in job["http_sd_configs"]:
        sd["url"] = f"http://{portal}{SD_PATH}"
        sd["authorization"]["credentials_file"] = str(sd_token_file)
    address = next(rule for rule in job["relabel_configs"]
                   if rule.get("target_label") == "__address__" and "source_labels" not in rule)
    address["replacement"] = exporter
    if scrape_interval is not None:
        job["scrape_interval"] = job["scrape_timeout"] = scrape_interval
    return job


def _load(path: Path) -> dict[str, Any]:
    return yaml.safe_load(path.read_text())


class _Dumper(yaml.SafeDumper):
    """Writes multi-line strings (long PromQL) as literal blocks, so the output reads
    like the committed files."""


def _str(dumper: yaml.SafeDumper, value: str) -> yaml.Node:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _str)


def _write(path: Path, data: dict[str, Any], source: Path) -> Path:
    """Write atomically: Prometheus may reload (SIGHUP) at any moment."""
    path.parent.mkdir(parents=True, exist_ok=True)
    shown = source.relative_to(ROOT) if source.is_relative_to(ROOT) else source
    text = f"# Rendered by provisioning/render.py from {shown}; edit that, not this file.\n"
    text += yaml.dump(data, Dumper=_Dumper, sort_keys=False, width=4096, allow_unicode=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "w") as out:
            out.write(text)
        os.chmod(tmp, 0o644)  # readable by the services; no secret in it, the token stays in its file
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def _rules(rules_dir: Path, *, server_down_for: str | None, portal_url: str) -> dict[str, dict]:
    """The rule files by name, with the ServerDown window and the runbook links set."""
    sources = sorted(rules_dir.glob(RULE_FILES))
    if not sources:
        raise RenderError(f"--rules-dir {rules_dir} holds no {RULE_FILES} files")
    rendered: dict[str, dict] = {}
    found_down = False
    for source in sources:
        data = _load(source)
        for group in data.get("groups") or []:
            for rule in group.get("rules") or []:
                name = rule.get("alert")
                if name is None:
                    continue
                rule.setdefault("annotations", {})["runbook_url"] = runbook_url(portal_url, name)
                if name == DOWN_ALERT:
                    found_down = True
                    if server_down_for is not None:
                        rule["for"] = server_down_for
        rendered[source.name] = data
    if server_down_for is not None and not found_down:
        raise RenderError(f"--server-down-for: no {DOWN_ALERT} alert in {rules_dir}")
    return rendered


def _jobs(config: dict[str, Any]) -> dict[str, dict]:
    jobs = {job["job_name"]: job for job in config.get("scrape_configs") or []}
    for name in (EXPORTER_JOB, PORTAL_JOB, NODES_JOB, PROMETHEUS_JOB, ALERTMANAGER_JOB):
        if name not in jobs:
            raise RenderError(f"{PROMETHEUS_YML} has no scrape job {name!r}")
    return jobs


def _prometheus(rule_paths: Sequence[Path], *, exporter: str, portal: str, alertmanager: str,
                prometheus: str, scrape_interval: str | None,
                evaluation_interval: str | None, remote_write: Sequence[str],
                sd_token_file: Path | None) -> dict[str, Any]:
    config = _load(PROMETHEUS_YML)
    if evaluation_interval is not None:
        config.setdefault("global", {})["evaluation_interval"] = evaluation_interval
    config["rule_files"] = [str(path) for path in rule_paths]
    config["alerting"] = {"alertmanagers": [{"static_configs": [{"targets": [alertmanager]}]}]}
    jobs = _jobs(config)
    jobs[EXPORTER_JOB]["static_configs"] = [{"targets": [exporter]}]
    if scrape_interval is not None:
        # A timeout longer than the interval is refused by Prometheus.
        jobs[EXPORTER_JOB]["scrape_interval"] = scrape_interval
        jobs[EXPORTER_JOB]["scrape_timeout"] = scrape_interval
    jobs[PORTAL_JOB]["static_configs"] = [{"targets": [portal]}]
    _nodes_job(config, jobs[NODES_JOB], portal=portal, sd_token_file=sd_token_file,
               scrape_interval=scrape_interval)
    jobs[PROMETHEUS_JOB]["static_configs"] = [{"targets": [prometheus]}]
    jobs[ALERTMANAGER_JOB]["static_configs"] = [{"targets": [alertmanager]}]
    if BLACKBOX_JOB in jobs:
        raise RenderError(f"{PROMETHEUS_YML} must not have the job {BLACKBOX_JOB!r}: "
                          "it belongs in another Prometheus (--blackbox-job)")
    if remote_write:
        config["remote_write"] = [*(config.get("remote_write") or []),
                                  *({"url": url} for url in remote_write)]
    return config


def _nodes_job(config: dict[str, Any], job: dict[str, Any], *, portal: str,
               sd_token_file: Path | None, scrape_interval: str | None) -> None:
    """The servers' node exporters, listed by this portal; left out without SD_TOKEN's
    file, which Prometheus needs to ask for the list."""
    if sd_token_file is None:
        config["scrape_configs"].remove(job)
        return
    for sd in job["http_sd_configs"]:
        sd["url"] = f"http://{portal}{NODES_SD_PATH}"
        sd["authorization"]["credentials_file"] = str(sd_token_file)
    if scrape_interval is not None:
        job["scrape_interval"] = job["scrape_timeout"] = scrape_interval


def _alertmanager(*, portal: str, webhook_token_file: Path, group_wait: str | None,
                  group_interval: str | None, smtp_smarthost: str | None,
                  admin_email: str | None) -> dict[str, Any]:
    config = _load(ALERTMANAGER_YML)
    if smtp_smarthost is not None:
        config["global"]["smtp_smarthost"] = smtp_smarthost
    admins = next((r for r in config.get("receivers") or [] if r.get("name") == ADMIN_RECEIVER),
                  None)
    if admins is None:
        raise RenderError(f"{ALERTMANAGER_YML} has no receiver {ADMIN_RECEIVER!r}")
    if admin_email is not None:
        for mail in admins["email_configs"]:
            mail["to"] = admin_email
    route = config["route"]
    if group_wait is not None:
        route["group_wait"] = group_wait
    if group_interval is not None:
        route["group_interval"] = group_interval
    receiver = next((r for r in config.get("receivers") or [] if r.get("name") == RECEIVER), None)
    if receiver is None:
        raise RenderError(f"{ALERTMANAGER_YML} has no receiver {RECEIVER!r}")
    for hook in receiver["webhook_configs"]:
        hook["url"] = f"http://{portal}{WEBHOOK_PATH}"
        hook["http_config"]["authorization"]["credentials_file"] = str(webhook_token_file)
    return config


def render(out_dir: Path, *, exporter: str, portal: str, alertmanager: str,
           webhook_token_file: Path, server_down_for: str | None = None,
           scrape_interval: str | None = None, evaluation_interval: str | None = None,
           group_wait: str | None = None, group_interval: str | None = None,
           portal_url: str = DEFAULT_PORTAL_URL, rules_dir: Path = RULES_DIR,
           prometheus: str = "localhost:9090", smtp_smarthost: str | None = None,
           admin_email: str | None = None, remote_write: Sequence[str] = (),
           blackbox_job: bool = False, sd_token_file: Path | None = None) -> RenderedPaths:
    """Write prometheus.yml, rules/*.rules.yml and alertmanager.yml under ``out_dir``.

    Timings left as None keep their committed values (ServerDown 5s, scrape and
    evaluation 5s, group_wait 5s, group_interval 1m). ``remote_write`` URLs (a long-term
    store's) are added to any the committed file has. ``sd_token_file`` (SD_TOKEN's file)
    keeps the job servermon-nodes, which asks the portal for the servers' node exporters
    with it; without it that job is left out. ``blackbox_job`` also writes the classic job,
    for another Prometheus, to ``blackbox_job.yml`` (``sd_token_file`` required). Every
    value is checked, and every source read, before anything is written; a bad one raises
    :class:`RenderError`.
    """
    exporter = _address(exporter, "--exporter")
    portal = _address(portal, "--portal")
    alertmanager = _address(alertmanager, "--alertmanager")
    prometheus = _address(prometheus, "--prometheus")
    if smtp_smarthost is not None:
        smtp_smarthost = _address(smtp_smarthost, "--smtp-smarthost")
    if admin_email is not None and not re.fullmatch(r"[^@\s]+@[^@\s]+", admin_email):
        raise RenderError(f"--admin-email must be an e-mail address, got {admin_email!r}")
    server_down_for = _duration(server_down_for, "--server-down-for")
    scrape_interval = _duration(scrape_interval, "--scrape-interval", positive=True)
    evaluation_interval = _duration(evaluation_interval, "--evaluation-interval", positive=True)
    group_wait = _duration(group_wait, "--group-wait")
    group_interval = _duration(group_interval, "--group-interval", positive=True)
    portal_url = _portal_url(portal_url)
    remote_write = _remote_write(remote_write)
    token = _token_file(Path(webhook_token_file))
    if blackbox_job and sd_token_file is None:
        raise RenderError("--blackbox-job needs --sd-token-file (the file holding SD_TOKEN)")
    sd_token = None if sd_token_file is None else _token_file(Path(sd_token_file),
                                                              "--sd-token-file")

    out_dir = Path(out_dir).resolve()
    rules_out = out_dir / "rules"
    rules = _rules(Path(rules_dir), server_down_for=server_down_for, portal_url=portal_url)
    rule_paths = tuple(rules_out / name for name in rules)
    prometheus_config = _prometheus(rule_paths, exporter=exporter, portal=portal,
                                    alertmanager=alertmanager, prometheus=prometheus,
                                    scrape_interval=scrape_interval,
                                    evaluation_interval=evaluation_interval,
                                    remote_write=remote_write, sd_token_file=sd_token)
    classic = None if not blackbox_job or sd_token is None else {"scrape_configs": [classic_job(
        exporter=exporter, portal=portal, sd_token_file=sd_token,
        scrape_interval=scrape_interval)]}
    manager = _alertmanager(portal=portal, webhook_token_file=token, group_wait=group_wait,
                            group_interval=group_interval, smtp_smarthost=smtp_smarthost,
                            admin_email=admin_email)

    _write_rules(rule_paths, rules, Path(rules_dir))
    if classic is None:
        (out_dir / "blackbox_job.yml").unlink(missing_ok=True)
    return RenderedPaths(
        prometheus=_write(out_dir / "prometheus.yml", prometheus_config, PROMETHEUS_YML),
        alertmanager=_write(out_dir / "alertmanager.yml", manager, ALERTMANAGER_YML),
        rules=rule_paths,
        blackbox_job=None if classic is None else _write(out_dir / "blackbox_job.yml", classic,
                                                         BLACKBOX_JOB_YML),
    )


def _write_rules(rule_paths: Sequence[Path], rules: dict[str, dict], rules_dir: Path) -> None:
    for path, data in zip(rule_paths, rules.values(), strict=True):
        _write(path, data, rules_dir / path.name)
    # A rule file renamed or removed since the last render must not linger.
    for folder in {path.parent for path in rule_paths}:
        for stale in set(folder.glob("*.rules.yml")) - set(rule_paths):
            stale.unlink()


def render_rules(out_dir: Path, *, portal_url: str = DEFAULT_PORTAL_URL,
                 rules_dir: Path = RULES_DIR,
                 server_down_for: str | None = None) -> tuple[Path, ...]:
    """Only the rule files, into ``out_dir`` itself: what docker-compose's one-shot
    ``rules`` service writes into the volume Prometheus reads its rules from, so every
    runbook_url there is built from the deployment's PORTAL_URL."""
    portal_url = _portal_url(portal_url)
    server_down_for = _duration(server_down_for, "--server-down-for")
    rules = _rules(Path(rules_dir), server_down_for=server_down_for, portal_url=portal_url)
    rule_paths = tuple(Path(out_dir).resolve() / name for name in rules)
    _write_rules(rule_paths, rules, Path(rules_dir))
    return rule_paths


def main(argv: Sequence[str] | None = None) -> int:
    """The command line; see the module docstring. Returns 2 after one line on a bad value."""
    parser = argparse.ArgumentParser(
        prog="python -m provisioning.render",
        description="Render servermon's Prometheus and Alertmanager configs for this machine.")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--webhook-token-file", type=Path)
    parser.add_argument("--rules-only", action="store_true")
    parser.add_argument("--exporter", default="127.0.0.1:9117")
    parser.add_argument("--portal", default="127.0.0.1:8000")
    parser.add_argument("--alertmanager", default="127.0.0.1:9093")
    parser.add_argument("--server-down-for")
    parser.add_argument("--scrape-interval")
    parser.add_argument("--evaluation-interval")
    parser.add_argument("--group-wait")
    parser.add_argument("--group-interval")
    parser.add_argument("--portal-url", default=DEFAULT_PORTAL_URL)
    parser.add_argument("--prometheus", default="localhost:9090")
    parser.add_argument("--smtp-smarthost")
    parser.add_argument("--admin-email")
    parser.add_argument("--rules-dir", type=Path, default=RULES_DIR)
    parser.add_argument("--remote-write", action="append", default=[])
    parser.add_argument("--blackbox-job", action="store_true")
    parser.add_argument("--sd-token-file", type=Path)
    args = parser.parse_args(argv)
    if args.rules_only:
        try:
            paths = render_rules(args.out, portal_url=args.portal_url, rules_dir=args.rules_dir,
                                 server_down_for=args.server_down_for)
        except RenderError as exc:
            print(f"servermon: configuration error: {exc}", file=sys.stderr)
            return 2
        print(f"wrote {len(paths)} rule files in {Path(args.out).resolve()}")
        return 0
    if args.webhook_token_file is None:
        parser.error("--webhook-token-file is required (all but --rules-only)")
    try:
        rendered = render(
            args.out, exporter=args.exporter, portal=args.portal, alertmanager=args.alertmanager,
            webhook_token_file=args.webhook_token_file, server_down_for=args.server_down_for,
            scrape_interval=args.scrape_interval, evaluation_interval=args.evaluation_interval,
            group_wait=args.group_wait, group_interval=args.group_interval,
            portal_url=args.portal_url, rules_dir=args.rules_dir,
            prometheus=args.prometheus, smtp_smarthost=args.smtp_smarthost,
            admin_email=args.admin_email, remote_write=args.remote_write,
            blackbox_job=args.blackbox_job, sd_token_file=args.sd_token_file)
    except RenderError as exc:
        print(f"servermon: configuration error: {exc}", file=sys.stderr)
        return 2
    print(f"wrote {rendered.prometheus}, {rendered.alertmanager} and "
          f"{len(rendered.rules)} rule files in {rendered.rules[0].parent}")
    if args.sd_token_file is None:
        print(f"no --sd-token-file: job {NODES_JOB} (the servers' node exporters) left out")
    if rendered.blackbox_job is not None:
        print(f"wrote {rendered.blackbox_job}: add its job to another Prometheus")
    return 0


if __name__ == "__main__":
    sys.exit(main())
