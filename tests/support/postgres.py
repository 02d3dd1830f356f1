"""A private PostgreSQL cluster (Debian's binaries, run as the postgres user) that a test
can stop and start: the shared server at 127.0.0.1:5432 must never be touched."""

from __future__ import annotations

import glob
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support.binaries import free_port


def _bin() -> Path:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
    if not found:
        pytest.skip("PostgreSQL's server binaries are not installed")
    return Path(found[-1]).parent


@dataclass
class Cluster:
    folder: Path
    port: int
    bin: Path

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/servermon"

    def _as_postgres(self, *args: str) -> None:
        subprocess.run(["runuser", "-u", "postgres", "--", *args], check=True,
                       capture_output=True, timeout=60)

    def start(self) -> None:
        self._as_postgres(str(self.bin / "pg_ctl"), "-D", str(self.folder / "data"), "-w",
                          "-l", str(self.folder / "postgres.log"), "-o",
                          f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1",
                          "start")

    def stop(self) -> None:
        """Fast shutdown: open connections are cut, as when the database host goes away."""
        self._as_postgres(str(self.bin / "pg_ctl"), "-D", str(self.folder / "data"), "-w",
                          "-m", "fast", "stop")


@contextmanager
def private_postgres() -> Iterator[Cluster]:
    folder = Path(tempfile.mkdtemp(prefix="servermon-pg-"))
    shutil.chown(folder, "postgres", "postgres")
    cluster = Cluster(folder=folder, port=free_port(), bin=_bin())
    try:
        cluster._as_postgres(str(cluster.bin / "initdb"), "-D", str(folder / "data"), "-A",
                             "trust", "-U", "postgres")
        cluster.start()
        cluster._as_postgres(str(cluster.bin / "createdb"), "-h", "127.0.0.1", "-p",
                             str(cluster.port), "-U", "postgres", "servermon")
        yield cluster
    finally:
        subprocess.run(["runuser", "-u", "postgres", "--", str(cluster.bin / "pg_ctl"), "-D",
                        str(folder / "data"), "-m", "immediate", "stop"], capture_output=True,
                       timeout=60)
        shutil.rmtree(folder, ignore_errors=True)
