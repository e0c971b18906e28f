"""A Redis Cluster of a test's own: masters and replicas on free loopback ports, removed after.

:class:`LocalCluster` starts one ``redis-server`` per node (cluster mode,
no persistence, ``--cluster-node-timeout`` as given) in a temporary
directory, joins them with ``redis-cli --cluster create``, and waits until
every node sees every slot served and every replica in sync.  Whatever
fails while it starts, the processes it started are killed and the
directory removed before :class:`ClusterUnavailable` is raised; :meth:`stop`
does the same at the end.  The nodes die with the test process even when
it is killed (Linux), and the next start removes what a killed one left
behind.  Needs Redis 7.0 or later (``--cluster-port``).  :func:`city_prefix`
finds a hash tag whose slot a chosen master serves.  :func:`local_server`
is one plain Redis, likewise.

>>> from redis.crc import key_slot
>>> key_slot(b"vtc:{douala}:o:1") == key_slot(b"{douala}")
True
"""

from __future__ import annotations

import ctypes
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import NoReturn

import pytest
import redis
from faultproxy import free_port
from redis.crc import key_slot

__all__ = [
    "ClusterUnavailable",
    "LocalCluster",
    "city_prefix",
    "local_cluster",
    "local_server",
    "unavailable",
]

HOST = "127.0.0.1"
REQUIRE_SERVICES = os.environ.get("VTC_REQUIRE_SERVICES") == "1"


def unavailable(reason: str) -> NoReturn:
    """Skip the test, or fail it under ``VTC_REQUIRE_SERVICES=1`` (CI)."""
    if REQUIRE_SERVICES:
        pytest.fail(f"VTC_REQUIRE_SERVICES=1 but {reason}")
    pytest.skip(reason)


class ClusterUnavailable(RuntimeError):
    """The cluster could not be started here (no binaries, a node that would not come up...)."""


class LocalCluster:
    """``masters`` masters with ``replicas`` replicas each, on loopback; see the module."""

    def __init__(self, *, masters: int = 3, replicas: int = 1, node_timeout_ms: int = 2000) -> None:
        self.masters = masters
        self.replicas = replicas
        self.node_timeout_ms = node_timeout_ms
        self.ports: list[int] = []
        self._servers: dict[int, subprocess.Popen[bytes]] = {}
        self._dir: Path | None = None

    def start(self, timeout_s: float = 30.0) -> None:
        """Start the nodes and join them; ClusterUnavailable (everything removed) on failure."""
        binaries = [shutil.which(name) for name in ("redis-server", "redis-cli")]
        if None in binaries:
            raise ClusterUnavailable("redis-server and redis-cli are needed on PATH")
        _remove_left_behind()
        try:
            self._dir = Path(tempfile.mkdtemp(prefix=f"vtc-cluster-{os.getpid()}-"))
            self._start_nodes(timeout_s)
            self._create()
            self.wait_healthy(timeout_s)
        except BaseException as exc:
            logs = self._logs()
            self.stop()
            if isinstance(exc, ClusterUnavailable | redis.RedisError | OSError):
                raise ClusterUnavailable(f"{exc}\n{logs}") from exc
            raise

    def _start_nodes(self, timeout_s: float) -> None:
        assert self._dir is not None
        while len(self.ports) < self.masters * (1 + self.replicas):
            port, bus = free_port(), free_port()
            if port in self.ports or bus in self.ports or port == bus:
                continue
            self.ports.append(port)
            node = self._dir / str(port)
            self._servers[port] = _spawn(
                port,
                node,
                *("--cluster-enabled", "yes", "--cluster-port", str(bus)),
                *("--cluster-node-timeout", str(self.node_timeout_ms)),
                *("--cluster-config-file", str(node / "nodes.conf")),
                # DEBUG SLEEP holds a node's replies back (clients on loopback only).
                *("--enable-debug-command", "local"),
            )
        deadline = time.monotonic() + timeout_s
        for port in self.ports:
            _wait_answers(self._servers[port], port, deadline)

    def _create(self) -> None:
        done = subprocess.run(
            [
                "redis-cli",
                "--cluster",
                "create",
                *(f"{HOST}:{port}" for port in self.ports),
                *("--cluster-replicas", str(self.replicas), "--cluster-yes"),
            ],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        if done.returncode != 0:
            raise ClusterUnavailable(f"redis-cli --cluster create failed: {done.stdout[-2000:]}")

    def wait_healthy(self, timeout_s: float = 30.0) -> None:
        """Until every live node sees the whole cluster ok and every replica is in sync."""
        deadline = time.monotonic() + timeout_s
        while True:
            problem = self._problem()
            if problem is None:
                return
            if time.monotonic() > deadline:
                raise ClusterUnavailable(
                    f"the cluster is not healthy after {timeout_s} s: {problem}"
                )
            time.sleep(0.1)

    def _problem(self) -> str | None:
        masters = 0
        for port in self.live_ports():
            with redis.Redis(HOST, port, socket_timeout=1.0, decode_responses=True) as client:
                info = client.cluster("INFO")
                if info["cluster_state"] != "ok" or int(info["cluster_slots_ok"]) != 16384:
                    return f"node {port}: {info['cluster_state']}, {info['cluster_slots_ok']} slots"
                replication = client.info("replication")
                if replication["role"] == "master":
                    masters += 1
                elif replication.get("master_link_status") != "up":
                    return f"replica {port} is not in sync with its master"
        return None if masters == self.masters else f"{masters} masters, {self.masters} wanted"

    def live_ports(self) -> list[int]:
        """The ports of the nodes still running."""
        return [p for p, server in self._servers.items() if server.poll() is None]

    def url(self, port: int, scheme: str = "redis+cluster") -> str:
        """The URL of one node (``redis+cluster://``: the adapter's cluster mode)."""
        return f"{scheme}://{HOST}:{port}/0"

    def slot_masters(self) -> list[tuple[int, int, int]]:
        """(first slot, last slot, port of its master) as the first live node answers."""
        with redis.Redis(HOST, self.live_ports()[0], socket_timeout=1.0) as client:
            ranges = client.execute_command("CLUSTER SLOTS")
        return [(int(first), int(last), int(master[1])) for first, last, master, *_ in ranges]

    def owner(self, slot: int) -> int:
        """The port of the master serving ``slot``."""
        for first, last, port in self.slot_masters():
            if first <= slot <= last:
                return port
        raise ClusterUnavailable(f"no master serves slot {slot}")

    def master_ports(self) -> list[int]:
        """The ports of the live masters, in port order."""
        ports = []
        for port in self.live_ports():
            with redis.Redis(HOST, port, socket_timeout=1.0, decode_responses=True) as client:
                if client.info("replication")["role"] == "master":
                    ports.append(port)
        return sorted(ports)

    def kill(self, port: int) -> None:
        """SIGKILL one node (no shutdown, nothing saved)."""
        server = self._servers[port]
        server.send_signal(signal.SIGKILL)
        server.wait(10)

    def stop(self) -> None:
        """Kill every node this cluster started and remove its directory."""
        for server in self._servers.values():
            if server.poll() is None:
                server.kill()
        for server in self._servers.values():
            server.wait(10)
        self._servers.clear()
        if self._dir is not None:
            shutil.rmtree(self._dir, ignore_errors=True)
            self._dir = None

    def _logs(self) -> str:
        if self._dir is None:
            return ""
        return "\n".join(
            f"--- {log.parent.name}:\n" + "\n".join(log.read_text().splitlines()[-8:])
            for log in sorted(self._dir.glob("*/redis.log"))
        )


def _spawn(port: int, node: Path, *options: str) -> subprocess.Popen[bytes]:
    """A redis-server on loopback ``port``, its files in ``node`` (made), nothing persisted."""
    node.mkdir()
    return subprocess.Popen(
        [
            *("redis-server", "--port", str(port), "--bind", HOST),
            *("--dir", str(node), "--save", "", "--appendonly", "no"),
            # A replica syncs at once instead of waiting for others to share its transfer.
            *("--repl-diskless-sync-delay", "0"),
            *("--logfile", str(node / "redis.log")),
            *options,
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
        # The nodes are started before the tests start threads.
        preexec_fn=_die_with_parent,  # noqa: PLW1509
    )


def _remove_left_behind() -> None:
    """Remove the directories of clusters whose test process was killed (SIGKILL skips stop)."""
    for left in Path(tempfile.gettempdir()).glob("vtc-cluster-*-*"):
        pid = left.name.split("-")[2]
        if pid.isdigit() and not Path(f"/proc/{pid}").exists():
            shutil.rmtree(left, ignore_errors=True)


def _die_with_parent() -> None:
    """In the child: be killed when the test process dies, even by a signal (Linux)."""
    if sys.platform == "linux":
        ctypes.CDLL(None).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


def _wait_answers(server: subprocess.Popen[bytes], port: int, deadline: float) -> None:
    with redis.Redis(HOST, port, socket_timeout=1.0, socket_connect_timeout=1.0) as client:
        while True:
            try:
                client.ping()
                return
            except redis.RedisError:
                if server.poll() is not None:
                    raise ClusterUnavailable(
                        f"redis-server on port {port} exited with {server.returncode}"
                    ) from None
                if time.monotonic() > deadline:
                    raise ClusterUnavailable(
                        f"redis-server on port {port} never answered"
                    ) from None
                time.sleep(0.05)


@contextmanager
def local_server(timeout_s: float = 10.0) -> Iterator[str]:
    """One plain redis-server of the caller's own on a free port: its URL, removed after.

    ClusterUnavailable when it cannot start.
    """
    if shutil.which("redis-server") is None:
        raise ClusterUnavailable("redis-server is needed on PATH")
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="vtc-redis-") as data:
        server = _spawn(port, Path(data) / "node")
        try:
            _wait_answers(server, port, time.monotonic() + timeout_s)
            yield f"redis://{HOST}:{port}/0"
        finally:
            server.kill()
            server.wait(10)


@contextmanager
def local_cluster(**options: int) -> Iterator[LocalCluster]:
    """A started :class:`LocalCluster`, stopped and removed when the block ends."""
    cluster = LocalCluster(**options)
    cluster.start()
    try:
        yield cluster
    finally:
        cluster.stop()


def city_prefix(cluster: LocalCluster, master: int, name: str = "city") -> str:
    """``vtc:{<name>-<n>}``, the first whose slot the master on port ``master`` serves."""
    ranges = [(first, last) for first, last, port in cluster.slot_masters() if port == master]
    for n in range(10_000):
        tag = f"{name}-{n}"
        slot = key_slot(tag.encode())
        if any(first <= slot <= last for first, last in ranges):
            return f"vtc:{{{tag}}}"
    raise AssertionError(f"no tag {name}-<n> lands on the master at port {master}")
