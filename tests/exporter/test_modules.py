"""BLACKBOX_CONFIG: read at start, every module checked, or the exporter does not start."""

import pytest

from exporter.config import ConfigError
from exporter.modules import Modules, check, load_modules
from tests.exporter.conftest import SD_TOKEN, exporter_config
from wire.blackbox import BlackboxError, Module

ENV = {"SD_TOKEN": SD_TOKEN}


def test_without_a_file_the_defaults_and_the_kinds_answer():
    modules = Modules()
    assert modules.get("http_2xx").settings["http_accepted_statuses"] == "200-299"
    plain = modules.get("tcp")
    assert plain.kind == "tcp" and plain.settings == {}
    with pytest.raises(ValueError, match=r"unknown module 'smtp' \(known: http, tcp, icmp, dns, "
                                         r"http_2xx, http_post_2xx, pop3s_banner"):
        modules.get("smtp")


def test_the_file_replaces_the_defaults(tmp_path):
    (tmp_path / "blackbox.yml").write_text(
        "modules:\n  web:\n    prober: http\n    timeout: 3s\n")
    config = exporter_config("http://127.0.0.1:9", BLACKBOX_CONFIG=str(tmp_path / "blackbox.yml"))
    assert config.modules.get("web").timeout_s == 3
    assert config.modules.source == str(tmp_path / "blackbox.yml")
    with pytest.raises(ValueError, match="unknown module 'http_2xx'"):
        config.modules.get("http_2xx")


def test_a_bad_file_stops_the_start_naming_module_and_field(tmp_path):
    path = tmp_path / "blackbox.yml"
    path.write_text("modules:\n  web:\n    prober: http\n    http:\n      proxy_url: http://p:1\n"
                    "  ping:\n    prober: icmp\n    icmp: {ttl: 3}\n")
    with pytest.raises(ConfigError) as caught:
        exporter_config("http://127.0.0.1:9", BLACKBOX_CONFIG=str(path))
    message = str(caught.value)
    assert message.startswith("BLACKBOX_CONFIG: module web: http.proxy_url: ")
    assert "; module ping: icmp.ttl: " in message
    with pytest.raises(ConfigError, match=f"BLACKBOX_CONFIG: cannot read {tmp_path / 'nope.yml'}"):
        exporter_config("http://127.0.0.1:9", BLACKBOX_CONFIG=str(tmp_path / "nope.yml"))


def test_a_module_the_target_rules_refuse_is_named_at_start(tmp_path):
    path = tmp_path / "blackbox.yml"
    path.write_text("modules:\n  odd:\n    prober: http\n    http:\n"
                    "      valid_status_codes: [600]\n")
    with pytest.raises(BlackboxError, match=r"module odd: http.valid_status_codes: must be a list"):
        load_modules(path)
    refused = {"statuses": Module("statuses", "http", {"http_accepted_statuses": "2xx"}),
               "newer": Module("newer", "tcp", {"tcp_frobnicate": "1"})}
    with pytest.raises(BlackboxError) as caught:
        check(refused)
    assert caught.value.problems == [
        "module statuses: '2xx' is not a status code or range like 200-299",
        "module newer: needs the setting(s) tcp_frobnicate, which this exporter does not have"]
