"""probe_ip_protocol and probe_ip_addr_hash as blackbox computes them."""

from exporter.probes.address import address_facts, fnv32a


def test_the_hash_is_fnv1a_of_the_packed_address_as_blackbox_writes_it():
    # blackbox 0.23 probing 127.0.0.1 wrote probe_ip_addr_hash 3.668918509e+09
    assert address_facts("127.0.0.1") == (4, 3668918509.0)
    assert address_facts("::ffff:127.0.0.1") == (4, 3668918509.0)  # as the kernel uses it
    assert address_facts("::1") == (6, float(fnv32a(bytes(15) + b"\x01")))
    assert address_facts("fe80::1%eth0")[0] == 6


def test_a_name_has_no_facts():
    assert address_facts("localhost") is None
