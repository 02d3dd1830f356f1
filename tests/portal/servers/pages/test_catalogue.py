"""The server list: filters, paging, and what viewers may do from it."""



from tests.factories import make_server
from tests.portal.servers.pages import server_count, server_form
from tests.support.pages import post_form, sign_in


def test_signed_out_visitors_are_sent_to_sign_in(client):
    for path in ("/servers", "/servers/new"):
        response = client.get(path)
        assert response.status_code == 302 and "/login" in response.location


def test_the_list_shows_servers_and_filters_them(client):
    sign_in(client, "flexipay_support")
    make_server("pay-api", labels={"team": "payments"}, environment="production")
    make_server("ledger-db", kind="tcp", environment="production")
    response = client.get("/servers")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "pay-api" in html and "ledger-db" in html
    filtered = client.get("/servers?label=team%3Dpayments&kind=").get_data(as_text=True)
    assert "pay-api" in filtered and "ledger-db" not in filtered
    by_kind = client.get("/servers?kind=tcp&name=&status=").get_data(as_text=True)
    assert "ledger-db" in by_kind and "pay-api" not in by_kind
    by_name = client.get("/servers?name=LEDGER").get_data(as_text=True)
    assert "ledger-db" in by_name and "pay-api" not in by_name


def test_the_list_pages_through_many_servers(client):
    sign_in(client)
    for n in range(12):
        make_server(f"srv-{n:02d}")
    html = client.get("/servers?per_page=5&page=3").get_data(as_text=True)
    assert "srv-10" in html and "srv-11" in html and "srv-09" not in html
    assert "page 3 of 3" in html


def test_viewers_see_no_management_buttons(client):
    sign_in(client, "customer_engagement")
    server = make_server("web-1")
    assert "/servers/new" not in client.get("/servers").get_data(as_text=True)
    detail = client.get(f"/servers/{server.id}").get_data(as_text=True)
    assert "web-1" in detail
    assert f"/servers/{server.id}/edit" not in detail and f"/servers/{server.id}/delete" not in detail


def test_viewers_are_refused_the_forms(client):
    sign_in(client, "customer_engagement")
    server = make_server("web-1")
    for path in ("/servers/new", f"/servers/{server.id}/edit", f"/servers/{server.id}/delete"):
        response = client.get(path)
        assert response.status_code == 403
        assert "servers.manage" in response.get_data(as_text=True)
    assert post_form(client, "/servers/new", server_form()).status_code == 403
    assert server_count() == 1
