"""The runbooks: ``docs/runbooks/<AlertName>.md``, one per alert, rendered for the portal.

Every alert's ``runbook_url`` is ``<PORTAL_URL>/runbooks/<AlertName>`` (set by
provisioning/render.py), so the page an on-call engineer opens from a message, Alertmanager
or Grafana is this file, kept in the repository beside the rules it explains. A name is
only ever looked up among the files present, never joined into a path, so a request can
reach nothing else on disk. Raw HTML in a file is shown as text, not run: the Markdown is
the only markup.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from markdown_it import MarkdownIt

RUNBOOKS_DIR = Path(__file__).resolve().parents[2] / "docs" / "runbooks"

# markdown-it's default preset: CommonMark and tables, raw HTML escaped, and links to
# javascript:, vbscript:, file: and data: (bar images) refused.
_MARKDOWN = MarkdownIt("js-default")


@dataclass(frozen=True)
class Runbook:
    """One alert's runbook: its alert name, its title (the first heading), and the
    first paragraph (what the alert means), for the list."""

    alert: str
    title: str
    summary: str
    path: Path

    def html(self) -> str:
        """The page's body, rendered at each look: the files are small and may be edited."""
        return _MARKDOWN.render(self.path.read_text(encoding="utf-8"))


def _read(path: Path) -> Runbook:
    lines = path.read_text(encoding="utf-8").splitlines()
    title = next((line.lstrip("#").strip() for line in lines if line.startswith("# ")),
                 path.stem)
    paragraphs = "\n".join(lines).split("\n\n")
    summary = next((p.strip().replace("\n", " ") for p in paragraphs
                    if p.strip() and not p.lstrip().startswith("#")), "")
    return Runbook(alert=path.stem, title=title, summary=summary, path=path)


def _present() -> dict[str, Path]:
    return {path.stem: path for path in sorted(RUNBOOKS_DIR.glob("*.md")) if path.is_file()}


def runbooks() -> list[Runbook]:
    """Every runbook present, by alert name."""
    return [_read(path) for path in _present().values()]


def find(alert: str) -> Runbook | None:
    """The runbook of ``alert``, or None: the name must be one of the files present."""
    path = _present().get(alert)
    return _read(path) if path is not None else None
