"""Certificate expiry from a live connection, and the wording of verification failures."""

import asyncio
import ssl

from exporter.probes.tls import client_context, peer_cert_expiry, verify_reason


def test_expiry_is_read_even_with_verification_off(tls_site):
    async def handshake():
        _, writer = await asyncio.open_connection(
            "localhost", tls_site.port, ssl=client_context(False), server_hostname="localhost")
        try:
            return peer_cert_expiry(writer.get_extra_info("ssl_object"))
        finally:
            writer.close()
            await writer.wait_closed()

    assert asyncio.run(handshake()) == tls_site.expiry


def test_no_tls_means_no_expiry():
    assert peer_cert_expiry(None) is None


def test_contexts_are_shared_per_mode():
    assert client_context(True) is client_context(True)
    assert client_context(False).verify_mode == ssl.CERT_NONE
    assert client_context(True).verify_mode == ssl.CERT_REQUIRED


def test_reasons():
    expired = ssl.SSLCertVerificationError(1, "certificate verify failed")
    expired.verify_message = "certificate has expired"
    assert verify_reason(expired) == "certificate expired"
    mismatch = ssl.SSLCertVerificationError(1, "certificate verify failed")
    mismatch.verify_message = "Hostname mismatch, certificate is not valid for 'x'."
    assert verify_reason(mismatch) == ("certificate verify failed: Hostname mismatch, "
                                       "certificate is not valid for 'x'.")
