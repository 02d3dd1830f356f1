"""Keyword regexes cannot stall the exporter: RE2, searched beside the event loop."""

import asyncio
import random
import time

import pytest
from aiohttp import web

from exporter.probes import run_probe
from exporter.targets import Target
from tests.exporter.conftest import _start_site, run, target

# 26 a's and a '!': Python's re backtracks through 2**26 ways to split the a's (seconds).
HOSTILE = r"^(a+)+$"
HOSTILE_BODY = "a" * 26 + "!"
# Valid RE2, but its DFA has too many states for its memory, so RE2 falls back to its NFA:
# linear, yet about a second for a few hundred KiB of a's and b's.
SLOW_LINEAR = r"(?s).*a.{400}c"


@pytest.fixture(scope="module")
def site(background) -> str:
    """/hostile (HOSTILE_BODY), /ab (300 KiB of a's and b's), /late (fine, after 0.3 s)."""
    rng = random.Random(1)
    ab = "".join(rng.choice("ab") for _ in range(300 * 1024))

    async def hostile(_r):
        return web.Response(text=HOSTILE_BODY)

    async def ab_page(_r):
        return web.Response(text=ab)

    async def late(_r):
        await asyncio.sleep(0.3)
        return web.Response(text="fine")

    app = web.Application()
    for path, handler in (("/hostile", hostile), ("/ab", ab_page), ("/late", late)):
        app.router.add_get(path, handler)
    return f"http://127.0.0.1:{background.call(_start_site(app))}"


async def timed(t: Target):
    started = time.perf_counter()
    result = await run_probe(t)
    return result, time.perf_counter() - started


def side_by_side(slow: Target, plain: Target):
    """Both probes at once on one loop, as the scheduler runs them; each with its time."""
    async def both():
        return await asyncio.gather(timed(slow), timed(plain))

    return run(both())


def test_a_backtracking_pattern_answers_at_once(site):
    (result, seconds), _ = side_by_side(
        target("http", f"{site}/hostile", http_keyword=HOSTILE, http_keyword_regex=True),
        target("http", f"{site}/late", server_id=2))
    assert not result.success and result.reason == f"keyword {HOSTILE!r} missing"
    assert seconds < 0.5


def test_a_backtracking_pattern_does_not_stall_another_probe(site):
    _, (plain, seconds) = side_by_side(
        target("http", f"{site}/hostile", http_keyword=HOSTILE, http_keyword_regex=True),
        target("http", f"{site}/late", server_id=2, http_keyword="fine"))
    assert plain.success, plain.reason
    assert seconds < 0.8  # /late answers after 0.3 s


@pytest.mark.timeout(60)  # Python's re takes minutes here
def test_a_slow_linear_search_runs_beside_the_loop(site):
    (slow, _), (plain, seconds) = side_by_side(
        target("http", f"{site}/ab", http_keyword=SLOW_LINEAR, http_keyword_regex=True,
               timeout_s=5),
        target("http", f"{site}/late", server_id=2, http_keyword="fine"))
    assert not slow.success and slow.reason == f"keyword {SLOW_LINEAR!r} missing"
    assert plain.success, plain.reason
    assert seconds < 0.8


def test_a_pattern_re2_refuses_fails_the_probe_with_a_reason(site):
    # Service discovery checks patterns (test_targets_keyword_regex.py); a Target built
    # by hand skips that, and the probe must still answer rather than raise.
    bad = Target(server_id=1, name="s1", kind="http", address=f"{site}/hostile",
                 labels_text='server_id="1"', http_keyword=r"(a)\1", http_keyword_regex=True)
    result = run(run_probe(bad))
    assert not result.success
    assert result.reason.startswith(r"keyword '(a)\\1' is not a valid regular expression (")


def test_a_plain_keyword_is_text_not_a_pattern(site):
    assert run(run_probe(target("http", f"{site}/hostile", http_keyword="a!"))).success
    assert not run(run_probe(target("http", f"{site}/hostile", http_keyword="a+!"))).success


def test_an_unknown_charset_is_read_as_utf8(background):
    async def odd(_request):
        return web.Response(body=b"status: ALL GOOD",
                            headers={"Content-Type": "text/plain; charset=no-such-charset"})

    app = web.Application()
    app.router.add_get("/odd", odd)
    port = background.call(_start_site(app))
    result = run(run_probe(target("http", f"http://127.0.0.1:{port}/odd", http_keyword="ALL GOOD")))
    assert result.success, result.reason
