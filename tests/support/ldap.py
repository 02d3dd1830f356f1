"""A real OpenLDAP server (Debian's slapd) for the directory tests: a generated config on
the mdb backend, a free loopback port, StartTLS with a test CA made here, and a small
directory of people and groupOfNames groups that tests change as they go.

slapd has no memberOf overlay here, so the portal finds groups by searching
LDAP_GROUP_BASE for ``member=<user DN>``, as it does for OpenLDAP in production.
``security tls=1`` makes slapd refuse anything sent before StartTLS: a test passing
proves the portal never spoke in clear.
"""

from __future__ import annotations

import datetime
import ipaddress
import ssl
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from ldap3 import MODIFY_ADD, MODIFY_DELETE, MODIFY_REPLACE, SUBTREE, Connection, Server, Tls
from ldap3.core.exceptions import (
    LDAPException,
    LDAPNoSuchAttributeResult,
    LDAPOperationsErrorResult,
)

from tests.support.binaries import binary, free_port, stop

BASE = "dc=bank,dc=example"
PEOPLE = f"ou=people,{BASE}"
GROUPS = f"ou=groups,{BASE}"
ROOT_DN = f"cn=admin,{BASE}"
ROOT_PASSWORD = "slapd-root-password-for-tests"
SERVICE_DN = f"cn=servermon,{BASE}"
SERVICE_PASSWORD = "servermon-service-account-pw"
NOBODY = f"cn=nobody,{BASE}"  # groupOfNames needs a member
# group cn -> the role the portal maps it to (None: a group the portal does not know)
GROUP_ROLES = {"servermon-admins": "admin", "servermon-staff": "it_staff",
               "servermon-viewers": "customer_engagement", "payroll": None}
MODULE_PATH = Path("/usr/lib/ldap")
SCHEMAS = ("core", "cosine", "inetorgperson")


def group_dn(cn: str) -> str:
    return f"cn={cn},{GROUPS}"


def person_dn(uid: str) -> str:
    return f"uid={uid},{PEOPLE}"


# --- a test CA ----------------------------------------------------------------------------

def _name(common: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common)])


def make_ca(folder: Path, common: str) -> tuple[Path, ec.EllipticCurvePrivateKey, x509.Certificate]:
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(_name(common)).issuer_name(_name(common))
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=2))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                         content_commitment=False, key_encipherment=False,
                                         data_encipherment=False, key_agreement=False,
                                         encipher_only=False, decipher_only=False), critical=True)
            .sign(key, hashes.SHA256()))
    path = folder / f"{common}.pem"
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return path, key, cert


def make_server_cert(folder: Path, ca_key: ec.EllipticCurvePrivateKey,
                     ca_cert: x509.Certificate) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(_name("localhost"))
            .issuer_name(ca_cert.subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([
                x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                critical=False)
            .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]),
                           critical=False)
            .sign(ca_key, hashes.SHA256()))
    cert_path, key_path = folder / "server.pem", folder / "server.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    key_path.chmod(0o600)
    return cert_path, key_path


# --- slapd --------------------------------------------------------------------------------

@dataclass
class Slapd:
    port: int
    ca_file: Path
    wrong_ca_file: Path  # a CA that did not sign the server's certificate

    @property
    def url(self) -> str:
        return f"ldap://127.0.0.1:{self.port}"

    def env(self, **overrides: object) -> dict[str, object]:
        """The portal's configuration for this directory (OpenLDAP style)."""
        values: dict[str, object] = {
            "LDAP_URL": self.url, "LDAP_CA_FILE": self.ca_file,
            "LDAP_BIND_DN": SERVICE_DN, "LDAP_BIND_PASSWORD": SERVICE_PASSWORD,
            "LDAP_USER_BASE": PEOPLE, "LDAP_USER_FILTER": "(&(objectClass=inetOrgPerson)(uid={username}))",
            "LDAP_GROUP_BASE": GROUPS, "LDAP_TIMEOUT_S": 3,
            "LDAP_ROLE_GROUPS": ";".join(f"{role}={group_dn(cn)}"
                                         for cn, role in GROUP_ROLES.items() if role),
        }
        values.update(overrides)
        return values

    def _admin_connection(self) -> Connection:
        tls = Tls(validate=ssl.CERT_REQUIRED, ca_certs_file=str(self.ca_file))
        connection = Connection(Server("127.0.0.1", port=self.port, tls=tls, connect_timeout=3),
                                ROOT_DN, ROOT_PASSWORD, receive_timeout=5,
                                raise_exceptions=True)
        connection.open()
        connection.start_tls()
        connection.bind()
        return connection

    @contextmanager
    def admin(self) -> Iterator[Connection]:
        """The root DN over StartTLS. slapd 2.5 now and then refuses a new connection's
        StartTLS with "operations are outstanding" while it still finishes the previous
        connection it gave the same descriptor: tried again after a moment."""
        for attempt in range(3):
            try:
                connection = self._admin_connection()
                break
            except LDAPOperationsErrorResult:
                if attempt == 2:
                    raise
                time.sleep(0.05)
        try:
            yield connection
        finally:
            connection.unbind()

    def reset(self) -> None:
        """Nobody in ou=people, every group down to its placeholder member."""
        with self.admin() as ldap:
            ldap.search(PEOPLE, "(uid=*)", SUBTREE, attributes=[])
            for entry in list(ldap.response):
                ldap.delete(entry["dn"])
            for cn in GROUP_ROLES:
                ldap.modify(group_dn(cn), {"member": [(MODIFY_REPLACE, [NOBODY])]})

    def add_person(self, uid: str, password: str, *, groups: tuple[str, ...] = (),
                   mail: str | None = None, phone: str | None = None) -> str:
        attributes: dict[str, object] = {"objectClass": ["inetOrgPerson"], "uid": uid,
                                         "cn": uid, "sn": uid, "userPassword": password}
        if mail:
            attributes["mail"] = mail
        if phone:
            attributes["telephoneNumber"] = phone
        dn = person_dn(uid)
        with self.admin() as ldap:
            ldap.add(dn, attributes=attributes)
        for cn in groups:
            self.join(uid, cn)
        return dn

    def join(self, uid: str, cn: str) -> None:
        with self.admin() as ldap:
            ldap.modify(group_dn(cn), {"member": [(MODIFY_ADD, [person_dn(uid)])]})

    def leave(self, uid: str, cn: str) -> None:
        with self.admin() as ldap:
            ldap.modify(group_dn(cn), {"member": [(MODIFY_DELETE, [person_dn(uid)])]})

    def remove(self, uid: str) -> None:
        with self.admin() as ldap:
            for cn in GROUP_ROLES:
                with suppress(LDAPNoSuchAttributeResult):  # not a member of this one
                    ldap.modify(group_dn(cn), {"member": [(MODIFY_DELETE, [person_dn(uid)])]})
            ldap.delete(person_dn(uid))


def _config(folder: Path, cert: Path, key: Path, ca: Path) -> Path:
    acl = ("access to attrs=userPassword by self =xw by anonymous auth by * none\n"
           "access to * by * read\n")
    lines = [*(f"include /etc/ldap/schema/{name}.schema" for name in SCHEMAS),
             f"modulepath {MODULE_PATH}", "moduleload back_mdb",
             f"pidfile {folder / 'slapd.pid'}", f"argsfile {folder / 'slapd.args'}",
             f"TLSCACertificateFile {ca}", f"TLSCertificateFile {cert}",
             f"TLSCertificateKeyFile {key}", "security tls=1",
             "database mdb", "maxsize 16777216", f'suffix "{BASE}"', f'rootdn "{ROOT_DN}"',
             f"rootpw {ROOT_PASSWORD}", f"directory {folder / 'data'}", acl]
    (folder / "data").mkdir()
    path = folder / "slapd.conf"
    path.write_text("\n".join(lines) + "\n")
    return path


def _wait(slapd: Slapd, process: subprocess.Popen, log: Path, deadline_s: float = 20) -> None:
    deadline = time.monotonic() + deadline_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"slapd exited with {process.returncode}:\n{log.read_text()[-2000:]}")
        try:
            with slapd.admin():
                return
        except LDAPException:
            time.sleep(0.1)
    raise TimeoutError(f"slapd did not answer on {slapd.url}:\n{log.read_text()[-2000:]}")


def _seed(slapd: Slapd) -> None:
    with slapd.admin() as ldap:
        ldap.add(BASE, attributes={"objectClass": ["dcObject", "organization"], "dc": "bank",
                                   "o": "Bank"})
        ldap.add(NOBODY, attributes={"objectClass": ["organizationalRole"], "cn": "nobody"})
        ldap.add(SERVICE_DN, attributes={"objectClass": ["simpleSecurityObject",
                                                         "organizationalRole"],
                                         "cn": "servermon", "userPassword": SERVICE_PASSWORD})
        for ou in ("people", "groups"):
            ldap.add(f"ou={ou},{BASE}", attributes={"objectClass": ["organizationalUnit"],
                                                    "ou": ou})
        for cn in GROUP_ROLES:
            ldap.add(group_dn(cn), attributes={"objectClass": ["groupOfNames"], "cn": cn,
                                               "member": [NOBODY]})


@contextmanager
def running_slapd(folder: Path) -> Iterator[Slapd]:
    """slapd in the foreground on a free port, with its directory seeded; stopped after."""
    ca, ca_key, ca_cert = make_ca(folder, "servermon-test-ca")
    wrong_ca, _, _ = make_ca(folder, "some-other-ca")
    cert, key = make_server_cert(folder, ca_key, ca_cert)
    config = _config(folder, cert, key, ca)
    slapd = Slapd(free_port(), ca, wrong_ca)
    log = folder / "slapd.log"
    with log.open("w") as out:
        process = subprocess.Popen(
            [binary("slapd"), "-f", str(config), "-h", f"ldap://127.0.0.1:{slapd.port}/",
             "-d", "0"], stdout=out, stderr=subprocess.STDOUT)
        try:
            _wait(slapd, process, log)
            _seed(slapd)
            yield slapd
        finally:
            stop(process)
