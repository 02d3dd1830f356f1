"""Every alert has its runbook in docs/runbooks, and its runbook_url, once rendered for a
machine, is the portal's page of it: <PORTAL_URL>/runbooks/<AlertName>."""

from __future__ import annotations

import yaml

from portal.incidents.runbooks import RUNBOOKS_DIR, find, runbooks
from provisioning.render import RULE_FILES, RULES_DIR


def committed_alerts() -> set[str]:
    return {rule["alert"] for path in RULES_DIR.glob(RULE_FILES)
            for group in yaml.safe_load(path.read_text())["groups"]
            for rule in group["rules"] if "alert" in rule}


def test_every_alert_has_a_runbook_and_every_runbook_an_alert():
    assert {path.stem for path in RUNBOOKS_DIR.glob("*.md")} == committed_alerts()


def test_each_runbook_says_what_it_means_how_to_check_fix_and_escalate():
    for book in runbooks():
        text = book.path.read_text()
        assert book.title == book.alert and book.summary, book.alert
        for heading in ("## Check", "## Fix", "## Escalate"):
            assert heading in text, (book.alert, heading)
        assert find(book.alert) == book


def test_every_rendered_runbook_url_is_the_portals_page_of_that_alert(rendered):
    seen = set()
    for path in rendered.rules:
        for group in yaml.safe_load(path.read_text())["groups"]:
            for rule in group["rules"]:
                if "alert" in rule:
                    seen.add(rule["alert"])
                    assert rule["annotations"]["runbook_url"] == \
                        f"https://servermon.bank.example/runbooks/{rule['alert']}"
    assert seen == committed_alerts()
