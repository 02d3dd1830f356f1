"""The live scripts (portal/static/live/) take every status style from the page, put text
in as text, and each page loads the live modules it needs and no others. Read from the
files themselves: no app, no browser."""

import re
from pathlib import Path

import pytest
from jinja2 import Environment, FileSystemLoader

PORTAL = Path(__file__).resolve().parents[3] / "portal"
LIVE = PORTAL / "static" / "live"
# Which page loads which live module; base.html loads the core on every signed-in page.
MODULES = {
    "templates/base.html": ["core.js"],
    "servers/templates/servers/dashboard.html": ["servers.js", "fleet.js", "warnings.js"],
    "servers/templates/servers/wall.html": ["core.js", "servers.js", "fleet.js", "wall.js"],
    "servers/templates/servers/list.html": ["servers.js"],
    "servers/templates/servers/detail.html": ["servers.js", "server_incidents.js", "warnings.js"],
    "servers/templates/servers/log.html": ["logs.js"],
    "incidents/templates/incidents/alerts.html": ["alerts.js"],
    "incidents/templates/incidents/maintenance.html": ["maintenance.js"],
    "notify/templates/notify/notifications.html": ["notifications.js"],
}
LOADS = re.compile(r"""filename=['"]live/([\w.-]+)['"]""")


def status_styles() -> dict[str, tuple[str, str, str]]:
    """STATUS_STYLES as _macros.html defines it: status -> (colour, icon, word)."""
    env = Environment(loader=FileSystemLoader(PORTAL / "templates"), autoescape=True)
    return env.get_template("_macros.html").module.STATUS_STYLES


def forbidden() -> list[str]:
    """Patterns that would mean a script copies the status_badge macro."""
    patterns = [r"text-bg-", r"\bbi-", r"""["']status-["']"""]
    for colour, icon, word in status_styles().values():
        patterns += [rf"\b{colour}\b", rf"\b{re.escape(icon)}\b",
                     rf"\b{re.escape(icon.removesuffix('-fill'))}\b", rf"\b{word}\b"]
    return list(dict.fromkeys(patterns))


def scripts() -> list[Path]:
    return sorted(LIVE.glob("*.js"))


def test_the_status_styles_are_read_where_the_test_expects_them():
    styles = status_styles()
    assert set(styles) == {"up", "down", "unknown", "maintenance"}
    assert styles["maintenance"][2] == "Maintenance"  # else forbidden() checks nothing


@pytest.mark.parametrize("script", scripts(), ids=lambda path: path.name)
def test_no_live_script_copies_a_status_colour_icon_or_word(script):
    text = script.read_text()
    found = [pattern for pattern in forbidden() if re.search(pattern, text)]
    assert found == [], f"{script.name} copies status styles: {found}"


@pytest.mark.parametrize("script", scripts(), ids=lambda path: path.name)
def test_no_live_script_writes_html(script):
    assert not re.search(r"innerHTML|outerHTML|insertAdjacentHTML|document\.write", script.read_text())


def test_each_page_loads_exactly_the_live_modules_it_needs():
    loaded = {}
    for template in sorted(PORTAL.glob("**/templates/**/*.html")):
        names = LOADS.findall(template.read_text())
        if names:
            loaded[template.relative_to(PORTAL).as_posix()] = names
    assert loaded == MODULES


def test_every_live_module_exists_and_some_page_loads_it():
    on_disk = {path.name for path in scripts()}
    assert {name for names in MODULES.values() for name in names} == on_disk
    assert not (PORTAL / "static" / "live.js").exists()
