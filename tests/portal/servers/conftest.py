import pytest

from portal.servers import page_cache, registry_cache


@pytest.fixture
def handed_off(monkeypatch):
    """Answers kept until the registry changes (registry_cache) past their lifetime at once,
    and the page cache's background refreshes held, to be run when the test says; whatever
    is left runs at the end, so that no answer stays marked as being refreshed."""
    jobs: list = []
    monkeypatch.setattr(registry_cache, "LIFETIME_S", 0.0)
    monkeypatch.setattr(page_cache, "in_background", jobs.append)
    yield jobs
    while jobs:
        jobs.pop()()
