"""python -m exporter: probe every registered server and expose Prometheus metrics."""

from __future__ import annotations

import logging
import sys

import uvloop

from exporter.config import ConfigError, ExporterConfig
from exporter.service import serve


def main() -> None:
    logging.basicConfig(level=logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s %(message)s")
    try:
        config = ExporterConfig.from_env()
    except ConfigError as exc:
        print(f"servermon-exporter: configuration error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    # uvloop, libuv's event loop: the probes are mostly the loop's own work (sockets,
    # timers, callbacks), which it does for less CPU than asyncio's.
    uvloop.run(serve(config))


if __name__ == "__main__":
    main()
