"""The portal as production serves it, gunicorn with portal/gunicorn_conf.py: on this host
only unless told otherwise, and without naming its server software."""

import socket
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from tests.support.binaries import free_port, running
from tests.support.browser import GUNICORN_CONF, portal_env

ROOT = Path(__file__).resolve().parents[2]
GUNICORN = str(Path(sys.executable).with_name("gunicorn"))


def _serve(config, tmp_path, **env):
    port = free_port()
    environment = {**portal_env(config, port), **env}
    return port, running([GUNICORN, "-c", GUNICORN_CONF, "--workers", "1", "portal:create_app()"],
                         f"http://127.0.0.1:{port}/login", tmp_path / "portal.log",
                         env=environment, cwd=ROOT)


def _accepts(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=2):
            return True
    except OSError:
        return False


def test_it_listens_on_this_host_only_and_does_not_say_gunicorn(config, tmp_path):
    port, server = _serve(config, tmp_path)
    with server:
        response = requests.get(f"http://127.0.0.1:{port}/login", timeout=5)
        assert response.status_code == 200
        assert response.headers["Server"] == "servermon"
        # 127.0.0.2 is this host too, but not the address bound: 0.0.0.0 would take it.
        assert not _accepts("127.0.0.2", port)
    assert f"Listening at: http://127.0.0.1:{port}" in (tmp_path / "portal.log").read_text()


def test_portal_listen_opens_it_to_other_hosts(config, tmp_path):
    port, server = _serve(config, tmp_path, PORTAL_LISTEN="0.0.0.0")  # noqa: S104 - the point
    with server:
        assert _accepts("127.0.0.2", port)


def test_a_bad_trusted_proxies_stops_it_with_the_line_naming_it(config, tmp_path):
    env = {**portal_env(config, free_port()), "TRUSTED_PROXIES": "10.0.0.0/33"}
    result = subprocess.run([GUNICORN, "-c", GUNICORN_CONF, "portal:create_app()"], env=env,
                            cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode != 0
    assert ("servermon: configuration error: TRUSTED_PROXIES: '10.0.0.0/33' is not an IP "
            "network") in result.stderr


def test_the_settings_are_those_of_production(monkeypatch):
    monkeypatch.delenv("PORTAL_LISTEN", raising=False)
    monkeypatch.setenv("PORTAL_PORT", "8123")
    settings = {}
    exec(compile(Path(GUNICORN_CONF).read_text(), GUNICORN_CONF, "exec"), settings)  # noqa: S102
    assert settings["bind"] == ["127.0.0.1:8123"]
    assert (settings["workers"], settings["threads"], settings["accesslog"]) == (2, 32, "-")


@pytest.mark.parametrize(("listen", "bind"), [("::", "[::]:8000"), ("[::1]", "[::1]:8000"),
                                              ("10.0.0.5", "10.0.0.5:8000")])
def test_an_ipv6_listen_address_is_bracketed(monkeypatch, listen, bind):
    monkeypatch.setenv("PORTAL_LISTEN", listen)
    monkeypatch.delenv("PORTAL_PORT", raising=False)
    settings = {}
    exec(compile(Path(GUNICORN_CONF).read_text(), GUNICORN_CONF, "exec"), settings)  # noqa: S102
    assert settings["bind"] == [bind]


def test_a_worker_moves_the_loaded_app_out_of_the_collectors_way():
    """A full collection over a loaded portal's objects held every thread for 55-270 ms."""
    import gc

    settings = {}
    exec(compile(Path(GUNICORN_CONF).read_text(), GUNICORN_CONF, "exec"), settings)  # noqa: S102
    before = gc.get_freeze_count()
    try:
        settings["post_worker_init"](None)
        assert gc.get_freeze_count() > before + 10_000
        assert gc.get_count()[0] < 100  # young objects collected first, then frozen
    finally:
        gc.unfreeze()
