"""blackbox's DNS module options: ``transport_protocol`` and ``validate_answer_rrs``.

``query`` asks a dnspython resolver over UDP or TCP as the target says; ``answer_problem``
checks the answer section's records, each as its zone-file line (``name TTL IN type
rdata``, as blackbox matches ``rr.String()``), against ``dns_answer_regex`` (some record
must match: ``fail_if_none_matching_regexp``) and ``dns_answer_absent_regex`` (none may:
``fail_if_matches_regexp``). Both regexes are RE2, as keyword regexes are.
"""

from __future__ import annotations

from functools import lru_cache

import dns.asyncresolver
import dns.message
import dns.resolver

from exporter.targets import Target
from wire import keyword_regex


def needs_dnspython(target: Target) -> bool:
    """Options the system resolver (getaddrinfo) cannot honour: the probe then asks
    dnspython even for A and AAAA without a named resolver."""
    return bool(target.dns_transport == "tcp" or target.dns_answer_regex
                or target.dns_answer_absent_regex)


async def query(resolver: dns.asyncresolver.Resolver, name: str, record_type: str, *,
                transport: str = "udp", lifetime: float = 10.0) -> dns.resolver.Answer:
    """``resolver.resolve`` over ``transport`` ("udp", dnspython retrying over TCP when
    the answer is truncated, or "tcp" only), without the search list."""
    return await resolver.resolve(name, record_type, tcp=transport == "tcp",
                                  lifetime=lifetime, search=False)


def answer_rr_texts(response: dns.message.Message) -> list[str]:
    """Each record of the answer section as one zone-file line."""
    lines = []
    for rrset in response.answer:
        lines.extend(line for line in rrset.to_text().splitlines() if line)
    return lines


@lru_cache(maxsize=1024)
def _regex(pattern: str):
    return keyword_regex(pattern)


def answer_problem(lines: list[str], matching: str | None = None,
                   absent: str | None = None) -> str | None:
    """None when the records pass both checks, else the reason."""
    if matching and not any(_regex(matching).search(line) is not None for line in lines):
        return f"no answer record matches {matching!r}"
    if absent:
        for line in lines:
            if _regex(absent).search(line) is not None:
                return f"an answer record matches {absent!r}: {line[:120]}"
    return None


def target_answer_problem(target: Target, response: dns.message.Message) -> str | None:
    """``answer_problem`` for ``target``'s regexes over ``response``'s answer section."""
    if not (target.dns_answer_regex or target.dns_answer_absent_regex):
        return None
    return answer_problem(answer_rr_texts(response), target.dns_answer_regex,
                          target.dns_answer_absent_regex)
