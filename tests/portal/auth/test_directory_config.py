"""The directory's settings are validated at start-up, each error naming its variable."""

import re

import pytest

from portal.config import Config, ConfigError

BASE = {"SECRET_KEY": "k" * 40, "SD_TOKEN": "s" * 20, "ALERTMANAGER_WEBHOOK_TOKEN": "a" * 20,
        "PROBE_SECRETS_KEY": "p" * 40}
AD = {**BASE, "LDAP_URL": "ldaps://dc1.bank.example", "LDAP_USER_BASE": "OU=Staff,DC=bank,DC=example",
      "LDAP_BIND_DN": "CN=svc-servermon,OU=Service,DC=bank,DC=example",
      "LDAP_BIND_PASSWORD": "service-account-password",
      "LDAP_ROLE_GROUPS": "admin=CN=Servermon Admins, OU=Groups,DC=bank,DC=example;"
                          "it_staff=CN=Servermon IT,OU=Groups,DC=bank,DC=example"}


def test_without_ldap_url_there_is_no_directory():
    assert Config.from_env(BASE).ldap is None


def test_active_directory_defaults():
    ldap = Config.from_env(AD).ldap
    assert ldap.user_filter == "(sAMAccountName={username})"
    assert (ldap.email_attribute, ldap.phone_attributes, ldap.member_of_attribute) == (
        "mail", ("mobile", "telephoneNumber"), "memberOf")
    assert ldap.role_groups == (("cn=servermon admins,ou=groups,dc=bank,dc=example", "admin"),
                                ("cn=servermon it,ou=groups,dc=bank,dc=example", "it_staff"))
    assert (ldap.timeout_s, ldap.recheck_minutes, ldap.group_base) == (5, 10, None)


def test_the_bind_password_may_come_from_a_file(tmp_path):
    secret = tmp_path / "bind"
    secret.write_text("from-a-file\n")
    env = {k: v for k, v in AD.items() if k != "LDAP_BIND_PASSWORD"}
    ldap = Config.from_env({**env, "LDAP_BIND_PASSWORD_FILE": str(secret)}).ldap
    assert ldap.bind_password == "from-a-file"


@pytest.mark.parametrize(("change", "message"), [
    ({"LDAP_URL": "https://dc1.bank.example"}, "LDAP_URL must be ldap://host[:port] (StartTLS) or ldaps://"),
    ({"LDAP_URL": "ldap://dc1.bank.example:port"}, "LDAP_URL has a malformed port"),
    ({"LDAP_USER_BASE": ""}, "LDAP_USER_BASE is required"),
    ({"LDAP_USER_BASE": "staff"}, "LDAP_USER_BASE is not a DN"),
    ({"LDAP_GROUP_BASE": "groups"}, "LDAP_GROUP_BASE is not a DN"),
    ({"LDAP_ROLE_GROUPS": ""}, "LDAP_ROLE_GROUPS is required"),
    ({"LDAP_ROLE_GROUPS": "root=CN=Admins,DC=bank"},
     "LDAP_ROLE_GROUPS: 'root=CN=Admins,DC=bank' must be role=group DN"),
    ({"LDAP_ROLE_GROUPS": "admin"}, "LDAP_ROLE_GROUPS: 'admin' must be role=group DN"),
    ({"LDAP_ROLE_GROUPS": "admin=Servermon Admins"},
     "LDAP_ROLE_GROUPS: 'Servermon Admins' (for admin) is not a DN"),
    ({"LDAP_ROLE_GROUPS": ";;"}, "LDAP_ROLE_GROUPS names no group"),
    ({"LDAP_USER_FILTER": "(uid=alice)"},
     "LDAP_USER_FILTER must be a parenthesised LDAP filter containing {username}"),
    ({"LDAP_USER_FILTER": "uid={username}"}, "LDAP_USER_FILTER must be"),
    ({"LDAP_BIND_PASSWORD": ""}, "LDAP_BIND_DN and LDAP_BIND_PASSWORD go together"),
    ({"LDAP_CA_FILE": "/nonexistent/ca.pem"}, "LDAP_CA_FILE: no such file /nonexistent/ca.pem"),
    ({"LDAP_TIMEOUT_S": "0"}, "LDAP_TIMEOUT_S must be between 1 and 60"),
    ({"LDAP_PHONE_ATTRIBUTES": "mobile;pager"}, "LDAP_PHONE_ATTRIBUTES must name LDAP attributes"),
])
def test_it_names_the_bad_directory_setting(change, message):
    with pytest.raises(ConfigError, match=re.escape(message)):
        Config.from_env({**AD, **change})
