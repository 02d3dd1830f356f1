"""The portal's ``servermon_server_registered`` gauge (TargetMissing joins it against probes),
built once per change of the registry rather than at every 15 s scrape."""

from sqlalchemy import event

from portal.extensions import db
from portal.servers import page_cache
from portal.servers.service import delete_server, spec_of, update_server, validate_spec
from tests.factories import make_server


def _registered(client) -> list[str]:
    response = client.get("/metrics")
    assert response.status_code == 200
    return sorted(line.split('server="')[1].split('"')[0]
                  for line in response.get_data(as_text=True).splitlines()
                  if line.startswith("servermon_server_registered{"))


def _servers_read(statements: list[str]) -> int:
    return sum(1 for sql in statements if "FROM servers" in sql and "count(" not in sql)


def test_scrapes_of_an_unchanged_registry_do_not_read_every_server_again(client):
    make_server("pay-api")
    statements: list[str] = []
    engine = db.engine
    listener = lambda *args: statements.append(args[2])  # noqa: E731
    event.listen(engine, "before_cursor_execute", listener)
    try:
        assert _registered(client) == ["pay-api"]
        assert _servers_read(statements) == 1
        for _ in range(3):
            assert _registered(client) == ["pay-api"]
        assert _servers_read(statements) == 1
    finally:
        event.remove(engine, "before_cursor_execute", listener)


def test_every_change_through_the_service_shows_at_the_next_scrape(client):
    kept = make_server("pay-api")
    gone = make_server("old-ledger")
    assert _registered(client) == ["old-ledger", "pay-api"]
    make_server("cards-api")
    assert _registered(client) == ["cards-api", "old-ledger", "pay-api"]
    update_server(kept, validate_spec({**spec_of(kept), "enabled": False}))
    assert _registered(client) == ["cards-api", "old-ledger"]
    delete_server(gone)
    assert _registered(client) == ["cards-api"]


def test_an_edit_whose_notice_was_lost_shows_once_the_lifetime_check_ran(client, handed_off,
                                                                        monkeypatch):
    server = make_server("pay-api")
    assert _registered(client) == ["pay-api"]
    with monkeypatch.context() as lost:
        lost.setattr(page_cache, "bump", lambda *keys: None)  # Redis failed the notice
        update_server(server, validate_spec({**spec_of(server), "name": "pay-api-2"}))
    assert _registered(client) == ["pay-api"]  # the old text once more, its check handed off
    handed_off.pop()()
    assert _registered(client) == ["pay-api-2"]

