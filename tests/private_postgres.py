"""A PostgreSQL cluster of a test's own, which the test may stop, start and restart at will.

The shared server (``ASSAY_TEST_POSTGRES_URL``) serves every other test and session, so a fault test never
touches it: :func:`private_cluster` runs ``initdb`` into a temporary folder (as the ``postgres`` OS user when run
as root, since PostgreSQL refuses to run as root), starts it on a free port with its socket in that folder, and
removes everything afterwards. Tests skip with the reason when ``initdb`` is not installed.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path


def find_binary(name: str) -> str | None:
    """``initdb``/``pg_ctl`` from PATH, else from the newest ``/usr/lib/postgresql/*/bin`` (Debian, Ubuntu)."""
    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), key=_version, reverse=True)
    return candidates[0] if candidates else shutil.which(name)


def _version(path: str) -> float:
    try:
        return float(Path(path).parts[-3])
    except ValueError:
        return 0.0


def unavailable_reason() -> str | None:
    """Why a private cluster cannot be made here, or ``None`` when it can."""
    if find_binary("initdb") is None or find_binary("pg_ctl") is None:
        return "initdb/pg_ctl not installed (apt-get install postgresql) for a private PostgreSQL cluster"
    if os.geteuid() == 0:
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            return "running as root without a 'postgres' OS user to run a private PostgreSQL cluster"
        if shutil.which("runuser") is None:
            return "running as root without runuser to start a private PostgreSQL cluster as 'postgres'"
    try:
        import psycopg  # noqa: F401
    except ImportError:
        return "psycopg is not installed"
    return None


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Cluster:
    """One private cluster: :attr:`url`, and :meth:`stop`, :meth:`start`, :meth:`restart` like ``pg_ctl``."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.data = folder / "data"
        self.log = folder / "server.log"
        self.port = free_port()
        self.url = f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"
        self.restarts = 0

    def _run(self, *args: str, timeout: float = 60) -> subprocess.CompletedProcess:
        command = list(args)
        if os.geteuid() == 0:
            command = ["runuser", "-u", "postgres", "--", *command]
        return subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=True)

    def init(self) -> None:
        self._run(find_binary("initdb"), "-D", str(self.data), "-A", "trust", "-U", "postgres", "--no-sync",
                  "-E", "UTF8", "--locale=C")

    def start(self) -> None:
        options = (f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 -c fsync=off "
                   "-c synchronous_commit=off -c full_page_writes=off -c max_connections=40")
        self._run(find_binary("pg_ctl"), "-D", str(self.data), "-l", str(self.log), "-o", options, "-w", "start")

    def stop(self, mode: str = "fast") -> None:
        """Stop the server; ``fast`` terminates every connection ("terminating connection due to administrator
        command"), as ``pg_ctlcluster ... restart`` does."""
        self._run(find_binary("pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "stop")

    def restart(self, mode: str = "fast") -> None:
        self._run(find_binary("pg_ctl"), "-D", str(self.data), "-l", str(self.log), "-m", mode, "-w", "restart")
        self.restarts += 1

    def running(self) -> bool:
        result = subprocess.run(
            (["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []) + [
                find_binary("pg_ctl"), "-D", str(self.data), "status"],
            capture_output=True, text=True, timeout=30)
        return result.returncode == 0


@contextlib.contextmanager
def private_cluster() -> Iterator[Cluster]:
    """A started private cluster, stopped and deleted afterwards (whatever state the test left it in)."""
    folder = Path(tempfile.mkdtemp(prefix="assay-pg-"))
    if os.geteuid() == 0:
        entry = pwd.getpwnam("postgres")
        os.chown(folder, entry.pw_uid, entry.pw_gid)
    folder.chmod(0o700)
    cluster = Cluster(folder)
    try:
        cluster.init()
        cluster.start()
        yield cluster
    finally:
        with contextlib.suppress(Exception):
            if cluster.running():
                cluster.stop("immediate")
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and (folder / "data" / "postmaster.pid").exists():
            time.sleep(0.1)
        shutil.rmtree(folder, ignore_errors=True)
