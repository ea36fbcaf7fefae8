"""Real faults for the process tests (issue 16 item 1, issue 19 item 7): a RabbitMQ vhost of the
test's own, a TCP proxy the test owns in front of the broker, the portal's own processes started as
subprocesses and killed with SIGKILL. Nothing here stops or reconfigures the shared servers."""

from __future__ import annotations

import contextlib
import os
import queue
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import quote

import pika
from django.db import connection

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def rabbitmqctl(*args: str) -> str:
    done = subprocess.run(["rabbitmqctl", *args], check=True, capture_output=True, text=True, timeout=120)
    return done.stdout


@contextlib.contextmanager
def own_vhost() -> Iterator[str]:
    """A vhost for one test, deleted after it (with its queues): yields its name."""
    name = f"test-{uuid.uuid4().hex[:10]}"
    rabbitmqctl("add_vhost", name)
    try:
        rabbitmqctl("set_permissions", "-p", name, "guest", ".*", ".*", ".*")
        yield name
    finally:
        rabbitmqctl("delete_vhost", name)


def amqp_url(vhost: str, port: int = 5672, host: str = "127.0.0.1") -> str:
    return f"amqp://guest:guest@{host}:{port}/{quote(vhost, safe='')}"


class TcpProxy:
    """A TCP forwarder in front of a server. `stall()` stops reading in one or both directions
    (the peer's bytes wait in the kernel, as on a link that stopped moving; RabbitMQ's own
    "blocked connection" looks the same to a publisher); `cut()` closes every open connection at
    once without sending what is stalled; `resume()` lets bytes move again."""

    def __init__(
        self, target_port: int, target_host: str = "127.0.0.1", listen_host: str = "127.0.0.1"
    ) -> None:
        self.target = (target_host, target_port)
        self.server = socket.create_server((listen_host, 0))
        self.port = int(self.server.getsockname()[1])
        self.upstream = threading.Event()  # client → server moves
        self.downstream = threading.Event()  # server → client moves
        self.upstream.set()
        self.downstream.set()
        self.refusing = False
        self.connections: list[tuple[socket.socket, socket.socket]] = []
        self.lock = threading.Lock()
        self.accepted = 0
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.server.accept()
            except OSError:
                return
            if self.refusing:
                client.close()
                continue
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                client.close()
                continue
            upstream.settimeout(None)
            with self.lock:
                self.connections.append((client, upstream))
                self.accepted += 1
            threading.Thread(target=self._pipe, args=(client, upstream, self.upstream), daemon=True).start()
            threading.Thread(target=self._pipe, args=(upstream, client, self.downstream), daemon=True).start()

    def _pipe(self, source: socket.socket, target: socket.socket, gate: threading.Event) -> None:
        try:
            while True:
                if not self._wait(gate, source):
                    return
                data = source.recv(65536)
                if not data:
                    break
                if not self._wait(gate, source):  # stalled while the bytes were on their way: held
                    return
                target.sendall(data)
        except OSError:
            pass
        finally:
            self._close_pair(source)

    @staticmethod
    def _wait(gate: threading.Event, source: socket.socket) -> bool:
        """Until the direction moves again (True) or the connection is cut (False)."""
        while not gate.wait(0.05):
            if source.fileno() < 0:
                return False
        return True

    def _close_pair(self, one: socket.socket) -> None:
        with self.lock:
            pairs = [pair for pair in self.connections if one in pair]
            for pair in pairs:
                self.connections.remove(pair)
        for pair in pairs:
            for sock in pair:
                with contextlib.suppress(OSError):  # wakes the thread blocked in recv on it, too
                    sock.shutdown(socket.SHUT_RDWR)
                sock.close()

    def stall(self, *, upstream: bool = True, downstream: bool = True) -> None:
        if upstream:
            self.upstream.clear()
        if downstream:
            self.downstream.clear()

    def resume(self) -> None:
        self.upstream.set()
        self.downstream.set()

    def cut(self) -> int:
        """Close every connection now, both ends, without what is stalled; new ones are accepted."""
        with self.lock:
            pairs = list(self.connections)
        for client, _ in pairs:
            self._close_pair(client)
        return len(pairs)

    def close(self) -> None:
        self.server.close()
        self.cut()


class Netns:
    """A network namespace of the test's own, joined to this host by veth links (one per name): a
    process started in it reaches a TcpProxy listening on `host_ip(link)`. `down(link)` takes a link
    down — its packets are dropped and nothing answers, as on a network that fails silently, which a
    userspace proxy cannot do (its kernel would still acknowledge). Nothing of the host's own network
    changes; everything goes with the namespace."""

    def __init__(self, *links: str) -> None:
        self.name = f"tf{uuid.uuid4().hex[:8]}"
        taken = subprocess.run(["ip", "-o", "-4", "addr"], capture_output=True, text=True, timeout=30).stdout
        free = [n for n in range(1, 251) if f" 10.213.{n}." not in taken]  # not a parallel run's
        self.subnet = free[int(uuid.uuid4().int % len(free))]
        self.links = {link: index for index, link in enumerate(links)}
        try:
            self._wire()
        except BaseException:
            self.close()  # nothing of a half-made namespace is left behind
            raise

    def _wire(self) -> None:
        self._ip("netns", "add", self.name)
        self._ip("netns", "exec", self.name, "ip", "link", "set", "lo", "up")
        for link, index in self.links.items():
            host, inside = self._devices(link)
            self._ip("link", "add", host, "type", "veth", "peer", "name", inside)
            self._ip("link", "set", inside, "netns", self.name)
            self._ip("addr", "add", f"{self.host_ip(link)}/30", "dev", host)
            self._ip("link", "set", host, "up")
            self._in("addr", "add", f"10.213.{self.subnet}.{4 * index + 2}/30", "dev", inside)
            self._in("link", "set", inside, "up")

    @staticmethod
    def _ip(*args: str) -> None:
        subprocess.run(["ip", *args], check=True, capture_output=True, timeout=30)

    def _in(self, *args: str) -> None:
        self._ip("netns", "exec", self.name, "ip", *args)

    def _devices(self, link: str) -> tuple[str, str]:
        return f"h{self.name[2:]}{self.links[link]}", f"n{self.name[2:]}{self.links[link]}"

    def host_ip(self, link: str) -> str:
        return f"10.213.{self.subnet}.{4 * self.links[link] + 1}"

    def down(self, link: str) -> None:
        self._ip("link", "set", self._devices(link)[0], "down")

    def up(self, link: str) -> None:
        self._ip("link", "set", self._devices(link)[0], "up")

    def argv(self, argv: list[str]) -> list[str]:
        return ["ip", "netns", "exec", self.name, *argv]

    def close(self) -> None:
        for link in self.links:  # a veth pair goes with either end
            subprocess.run(["ip", "link", "del", self._devices(link)[0]], capture_output=True, timeout=30)
        subprocess.run(["ip", "netns", "del", self.name], capture_output=True, timeout=30)


class Process:
    """One of the portal's processes as a subprocess; its output lines are collected."""

    def __init__(self, argv: list[str], env: dict[str, str], name: str) -> None:
        self.name = name
        self.popen = subprocess.Popen(
            argv,
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            encoding="utf-8",
            start_new_session=True,
        )
        self.lines: queue.Queue[str] = queue.Queue()
        self.seen: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.popen.stdout is not None
        for line in self.popen.stdout:
            self.lines.put(line.rstrip("\n"))

    def output(self) -> str:
        while True:
            try:
                self.seen.append(self.lines.get_nowait())
            except queue.Empty:
                return "\n".join(self.seen)

    def wait_for(self, needle: str, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if needle in self.output():
                return
            if self.popen.poll() is not None:
                break
            time.sleep(0.05)
        raise AssertionError(f"{self.name}: {needle!r} not printed:\n{self.output()[-4000:]}")

    def kill9(self) -> None:
        """SIGKILL to the process group: no handler, no finally, no goodbye to the broker."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.popen.pid, signal.SIGKILL)
        self.popen.wait(timeout=10)

    def terminate(self, timeout: float = 10.0) -> float:
        """SIGTERM; the seconds it took to exit (the test asserts the bound)."""
        started = time.monotonic()
        self.popen.send_signal(signal.SIGTERM)
        try:
            self.popen.wait(timeout=timeout)
        except subprocess.TimeoutExpired as exc:
            self.kill9()
            raise AssertionError(
                f"{self.name} did not stop within {timeout} s:\n{self.output()[-3000:]}"
            ) from exc
        return time.monotonic() - started

    def stop(self) -> None:
        if self.popen.poll() is None:
            with contextlib.suppress(AssertionError):
                self.terminate()


def database_url(host: str = "", port: int = 0) -> str:
    """The test database (pytest-django's) as a URL for the subprocesses (through a proxy when told)."""
    db = connection.settings_dict
    host, port = host or db["HOST"] or "127.0.0.1", port or db["PORT"] or 5432
    user = quote(db["USER"], safe="") + (f":{quote(db['PASSWORD'], safe='')}" if db["PASSWORD"] else "")
    return f"postgres://{user}@{host}:{port}/{db['NAME']}"


def portal_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TFOMS_", "CELERY_"))}
    env.update(DEBUG="true", DATABASE_URL=database_url(), TFOMS_QUEUE_PREFIX="", PYTHONUNBUFFERED="1")
    env.update(extra)
    return env


def celery_worker(env: dict[str, str], name: str = "worker", netns: Netns | None = None) -> Process:
    """The relay's production process: a Celery worker (solo pool: the task runs in this pid)."""
    argv = [str(BIN / "celery"), "-A", "tfoms_portal", "worker", "-l", "INFO", "--pool", "solo"]
    argv += ["--without-mingle", "--without-gossip", "--without-heartbeat", "-n", f"{name}@%h"]
    worker = Process(netns.argv(argv) if netns else argv, env, name)
    worker.wait_for("ready.")
    return worker


def consumer(env: dict[str, str], name: str = "consumer", netns: Netns | None = None) -> Process:
    argv = [sys.executable, "manage.py", "runconsumer"]
    process = Process(netns.argv(argv) if netns else argv, env, name)
    process.wait_for("consumer ready")
    return process


def drain(url: str, queue_name: str) -> list[str]:
    """Every message waiting in a queue, taken off it: their message_ids in arrival order."""
    broker = pika.BlockingConnection(pika.URLParameters(url))
    channel = broker.channel()
    ids: list[str] = []
    while True:
        method, properties, _ = channel.basic_get(queue_name, auto_ack=True)
        if method is None:
            break
        ids.append(properties.message_id)
    broker.close()
    return ids


def depth(url: str, queue_name: str) -> int:
    broker = pika.BlockingConnection(pika.URLParameters(url))
    try:
        return int(broker.channel().queue_declare(queue_name, passive=True).method.message_count)
    finally:
        broker.close()


def close_connections(vhost: str, reason: str) -> int:
    """The broker closes every client connection of the vhost, as it does itself on a consumer
    timeout or an admin's action (CONNECTION_FORCED with the reason); the number closed."""
    closed = 0
    for line in rabbitmqctl("list_connections", "-q", "--no-table-headers", "pid", "vhost").splitlines():
        pid, _, name = line.partition("\t")
        if name == vhost:
            rabbitmqctl("close_connection", pid, reason)
            closed += 1
    return closed


def outstanding(vhost: str, queue_name: str) -> int:
    """Messages of a queue not yet acknowledged: waiting and delivered-unacked alike (the broker's
    own count; passive queue_declare tells only the waiting ones)."""
    for line in rabbitmqctl(
        "list_queues", "-q", "-p", vhost, "--no-table-headers", "name", "messages"
    ).splitlines():
        name, _, count = line.rpartition("\t")
        if name == queue_name:
            return int(count)
    raise AssertionError(f"no queue {queue_name} in {vhost}")


def until(done: Callable[[], bool], timeout: float = 60.0, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while not done():
        if time.monotonic() > deadline:
            raise AssertionError(f"not reached within {timeout} s: {what}")
        time.sleep(0.05)


def sessions_waiting_for_a_lock() -> int:
    """Other sessions of the test database blocked on a lock (the one the test holds)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()"
        )
        return int(cursor.fetchone()[0])
