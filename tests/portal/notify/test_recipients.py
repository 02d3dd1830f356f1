"""Who is paged for an incident, on which channel, and who gets the bell."""

from portal.extensions import db
from portal.notify.models import ServerContact
from portal.notify.recipients import in_app, paged
from portal.settings.service import load_settings, update_settings
from tests.factories import make_server, make_user
from tests.portal.notify.helpers import incident, on_call


def addresses(found):
    return {(r.channel, r.address) for r in found}


def add_contact(server, **fields):
    db.session.add(ServerContact(server_id=server.id, name="Vendor NOC", **fields))
    db.session.commit()


def test_it_pages_opted_in_users_of_the_notify_roles_and_the_server_contacts(notify_app):
    server = make_server()
    staff = on_call("it_staff")
    make_user("it_staff", notify_email=False)          # opted out of e-mail, no SMS either
    make_user("flexipay_support", phone="+256700000002", notify_sms=True)  # role not paged
    on_call("admin", is_active=False, phone="+256700000003")  # disabled
    add_contact(server, email="noc@vendor.example", phone="+256700000099")
    add_contact(make_server(), email="other@vendor.example")  # another server's contact
    found = paged(incident(server_id=server.id), load_settings())
    assert addresses(found) == {("email", staff.email), ("sms", "+256700000001"),
                                ("email", "noc@vendor.example"), ("sms", "+256700000099")}
    assert {r.user_id for r in found} == {staff.id, None}


def test_the_notify_roles_setting_chooses_who_is_paged(notify_app):
    support = on_call("flexipay_support")
    on_call("it_staff", phone="+256700000002")
    update_settings({"notify_roles": ["flexipay_support"]}, None)
    assert addresses(paged(incident(), load_settings())) == {("email", support.email),
                                                             ("sms", "+256700000001")}


def test_each_address_is_paged_once(notify_app):
    server = make_server()
    user = on_call()
    on_call("admin", phone="+256700000001")  # shares the duty phone
    add_contact(server, email=user.email.upper(), phone="+256700000001")
    found = paged(incident(server_id=server.id), load_settings())
    assert sorted(r.channel for r in found) == ["email", "email", "sms"]


def test_the_global_switches_turn_a_channel_off(notify_app):
    on_call()
    update_settings({"notify_sms": False}, None)
    assert {r.channel for r in paged(incident(), load_settings())} == {"email"}
    update_settings({"notify_sms": True, "notify_email": False}, None)
    assert {r.channel for r in paged(incident(), load_settings())} == {"sms"}


def test_a_channel_without_smtp_or_twilio_configured_is_skipped(app):
    on_call()
    assert paged(incident(), load_settings()) == []


def test_warnings_and_incidents_in_maintenance_page_nobody(notify_app):
    on_call()
    assert paged(incident(severity="warning"), load_settings()) == []
    assert paged(incident(in_maintenance=True), load_settings()) == []


def test_the_bell_rings_for_every_active_user_who_can_see_alerts(notify_app):
    users = [make_user(role) for role in ("admin", "customer_engagement", "flexipay_support")]
    make_user("it_staff", is_active=False)
    assert [u.id for u in in_app(incident(severity="warning"))] == [u.id for u in users]
