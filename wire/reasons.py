"""Why a probe failed, as a code from a fixed vocabulary: ``probe_failure_info{reason}``.

A label value must come from a small set, or every distinct message (``slow: 2345 ms``)
becomes a series of its own. The probes set ``ProbeResult.reason_code`` to one of these
and keep the words staff read, measured values included, in ``ProbeResult.reason``, which
travels to the portal through Redis. Alert rules and dashboards may match on these codes.
"""

from __future__ import annotations

REASON_CODES = (
    "refused",             # the port answered with a reset to the SYN: nothing listens
    "reset",               # the connection was reset or closed before an answer
    "timeout",             # no answer within the probe's timeout
    "unreachable",         # no route to the host or network
    "nxdomain",            # the name does not exist
    "dns_no_record",       # the name exists but has no record of the type asked for
    "dns_error",           # any other failure to resolve (resolver away, SERVFAIL seen locally)
    "dns_rcode",           # a DNS server answered with an error code (SERVFAIL, REFUSED, ...)
    "dns_answer",          # the answer is not the expected one
    "tls_expired",         # the certificate has expired
    "tls_hostname",        # the certificate is not for this name
    "tls_untrusted",       # the certificate chain is not trusted (self-signed, unknown CA)
    "tls_error",           # the handshake failed otherwise
    "status",              # an HTTP status outside the accepted ones
    "keyword",             # the keyword is missing (or present, when it must be absent)
    "regex",               # the same for a keyword regex
    "slow",                # the answer came, later than the latency limit
    "too_many_redirects",  # more redirects than the probe follows
    "invalid_response",    # not a valid HTTP response, or its body was cut short
    "query_response",      # a TCP dialogue step (expect, send, starttls) failed
    "no_reply",            # no echo reply to any ICMP request
    "icmp_not_permitted",  # this host does not let the exporter send ICMP
    "denied",              # the probe target policy forbids the address: nothing was sent
    "late",                # a heartbeat monitor's job did not ping by its deadline
    "run_failed",          # a heartbeat monitor's job pinged /fail or a non-zero exit code
    "error",               # anything else (an unexpected error in the probe)
)
