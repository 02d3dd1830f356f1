"""The code keeps its layers (docs/design.md, "Layers"): script/import-graph --check."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "script" / "import-graph"


def check(root: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(SCRIPT), "--check", "--root", str(root)],
                          capture_output=True, text=True, timeout=60)


def test_the_tree_has_no_import_that_breaks_the_layers():
    result = check(ROOT)
    assert result.returncode == 0, result.stdout
    assert "Imports that break the layering: 0" in result.stdout


@pytest.fixture
def copy(tmp_path: Path) -> Path:
    for package in ("portal", "exporter", "wire"):
        shutil.copytree(ROOT / package, tmp_path / package,
                        ignore=shutil.ignore_patterns("__pycache__", "static", "templates"))
    return tmp_path


@pytest.mark.parametrize(("module", "line", "why"), [
    ("portal/servers/pages/catalogue.py", "from portal.servers.routes import bp as _api",
     "a page imports a routes module"),
    ("portal/notify/outbox.py", "from portal.incidents.service import receive_alerts",
     "domain imports a later area"),
    ("portal/servers/service.py", "from portal.servers.pages import KIND_LABELS",
     "domain imports web"),
    ("portal/incidents/pages/alerts.py", "from portal.servers.pages import KIND_LABELS",
     "imports another area's web module"),
    ("exporter/publish.py", "from portal.servers.ingest import StateChange",
     "exporter and portal share only wire"),
])
def test_each_kind_of_break_is_caught(copy: Path, module: str, line: str, why: str):
    path = copy / module
    path.write_text(path.read_text() + f"\n{line}\n")
    result = check(copy)
    assert result.returncode == 1
    assert why in result.stdout, result.stdout
