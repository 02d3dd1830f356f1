"""The Query table's values for people: significant digits and the metric's unit."""

import pytest

from portal.charts.numbers import human_value, significant


@pytest.mark.parametrize(("raw", "name", "shown"), [
    ("0.003372717999809538", "probe_duration_seconds", "3.37 ms"),
    ("0.003372717999809538", "", "0.003373"),
    ("0.25", "probe_duration_seconds", "250 ms"),
    ("0.0000412", "probe_dns_lookup_time_seconds", "41.2 µs"),
    ("12.5", "probe_duration_seconds", "12.5 s"),
    ("5400", "process_cpu_seconds_total", "90 min"),
    ("1", "probe_success", "1"),
    ("99.98765432", "", "99.99"),
    ("12345678", "", "12 345 678"),
    ("1536", "probe_http_content_length_bytes", "1.5 KiB"),
    ("-3.5", "", "-3.5"),
    ("0.00000012", "", "1.2e-07"),
    ("NaN", "probe_duration_seconds", "NaN"),
    ("+Inf", "", "+Inf"),
])
def test_values_are_written_for_people(raw, name, shown):
    assert human_value(raw, name) == shown


def test_timestamps_are_written_as_times_in_the_zone_the_page_gives():
    assert human_value("1900000000", "probe_ssl_earliest_cert_expiry") == "2030-03-17 17:46:40 UTC"
    assert human_value("1900000000", "probe_ssl_earliest_cert_expiry",
                       lambda ts: f"at {ts:.0f}") == "at 1900000000"


def test_significant_digits_drop_trailing_zeros():
    assert [significant(v) for v in (0, 2.0, 0.1, 1234.4, 9999.6)] == ["0", "2", "0.1", "1234", "10 000"]
