"""A real anshin stack for end-to-end tests: web (gunicorn), worker (Celery on the embedded
filesystem:// broker) and scheduler as separate processes, on a fresh ANSHIN_HOME, sending to a
real aiosmtpd server on loopback. Used by the integration and browser tests."""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller

from anshin.conftest import Sink, _Handler, free_port

ROLES = ("web", "worker", "scheduler")


@dataclass
class Stack:
    home: Path
    sink: Sink
    port: int
    env: dict[str, str]
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def anshin(
        self, *args: str, check: bool = True, input_text: str | None = None
    ) -> subprocess.CompletedProcess[str]:
        """Run one `anshin` verb against this stack's database."""
        return subprocess.run(
            [sys.executable, "-m", "anshin.core.cli", *args],
            env=self.env,
            text=True,
            capture_output=True,
            check=check,
            timeout=120,
            input=input_text,
        )

    def start(self, role: str) -> None:
        args = {
            "worker-b": ["worker", "--concurrency", "2", "--loglevel", "WARNING"],
            "alerts-worker": [
                "worker",
                "--queues",
                "alerts",
                "--concurrency",
                "1",
                "--loglevel",
                "WARNING",
            ],
            "web": ["web", "--port", str(self.port), "--workers", "1"],
            "worker": ["worker", "--concurrency", "2", "--loglevel", "WARNING"],
            "scheduler": ["scheduler", "--interval", "0.5"],
        }[role]
        log = open(self.home / f"{role}.log", "ab")  # noqa: SIM115 (closed with the process)
        self.processes[role] = subprocess.Popen(
            [sys.executable, "-m", "anshin.core.cli", *args],
            env=self.env,
            stdout=log,
            stderr=log,
            start_new_session=True,  # its own process group, so a kill reaches pool children too
        )
        if role == "web":
            self._wait_for_web()

    def stop(self, role: str, *, kill: bool = False) -> None:
        process = self.processes.pop(role, None)
        if process is None or process.poll() is not None:
            return
        os.killpg(process.pid, signal.SIGKILL if kill else signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        if kill:  # pool children of a killed worker die with its process group
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)

    def stop_all(self) -> None:
        for role in list(self.processes):
            self.stop(role)

    def _wait_for_web(self) -> None:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(self.base_url + "/subscribe/", timeout=2):  # noqa: S310
                    return
            except OSError:
                time.sleep(0.2)
        raise RuntimeError(
            "the web process did not start: " + (self.home / "web.log").read_text()[-2000:]
        )

    def subscribe_all(self, addresses: list[str], category: str) -> None:
        """Make these addresses active subscribers, through the operator's CSV import."""
        csv = self.home / f"seed-{len(addresses)}-{category}.csv"
        csv.write_text("".join(f"{a},{category}\n" for a in addresses))
        self.anshin("residents", "import", str(csv), "--basis", "end-to-end test")

    def publish(self, category: str, subject: str, body: str) -> str:
        """Publish an alert with the operator verb; returns its id."""
        return self.anshin(
            "alert", "publish", "--category", category, "--subject", subject, "--body", body
        ).stdout.strip()

    def wait_for_count(self, count: int, timeout: float = 30) -> int:
        """Wait until the relay has accepted at least `count` messages in all."""
        deadline = time.monotonic() + timeout
        while len(self.sink.messages) < count and time.monotonic() < deadline:
            time.sleep(0.05)
        return len(self.sink.messages)

    def take_queued(self) -> list[bytes]:
        """Remove every task message waiting in the broker, as if the broker lost them, and
        return their bodies (so a test can check what task payloads carry)."""
        url = self.env.get("ANSHIN_BROKER_URL", "filesystem://")
        if url.startswith("filesystem"):
            files = sorted((self.home / "queue" / "messages").glob("*"))
            bodies = [f.read_bytes() for f in files]
            for f in files:
                f.unlink()
            return bodies
        from kombu import Connection

        bodies = []
        with Connection(url) as connection:
            channel: Any = connection.default_channel
            for queue in ("alerts", "residents"):
                while (message := channel.basic_get(queue, no_ack=True)) is not None:
                    body = message.body
                    bodies.append(body.encode() if isinstance(body, str) else bytes(body))
        return bodies

    def wait_for_mail(
        self, address: str, count: int = 1, timeout: float = 30
    ) -> list[EmailMessage]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            mails = self.sink.to(address)
            if len(mails) >= count:
                return mails
            time.sleep(0.1)
        raise AssertionError(f"expected {count} mail(s), got {len(self.sink.to(address))}")


@contextmanager
def running_stack(
    tmp_path: Path, *, roles: tuple[str, ...] = ROLES, extra_env: dict[str, str] | None = None
) -> Iterator[Stack]:
    sink = Sink(port=free_port())
    controller = Controller(_Handler(sink), hostname="127.0.0.1", port=sink.port)
    controller.start()
    port = free_port()
    home = tmp_path / "home"
    env = {
        **os.environ,
        "ANSHIN_HOME": str(home),
        "ANSHIN_BASE_URL": f"http://127.0.0.1:{port}",
        "ANSHIN_SMTP_URL": sink.url,
        "ANSHIN_FROM": "alert@anshin.example.jp",
        "ANSHIN_RETRY_BASE_SECONDS": "0.5",
        "ANSHIN_RETRY_MAX_SECONDS": "2",
        "ANSHIN_DEMO": "1",
        "ANSHIN_REQUEUE_AFTER_SECONDS": "2",
        "ANSHIN_SEND_LEASE_SECONDS": "5",
        **(extra_env or {}),
    }
    env.pop("DJANGO_SETTINGS_MODULE", None)
    stack = Stack(home=home, sink=sink, port=port, env=env)
    with _operator_services(env):
        stack.anshin("migrate", "--noinput")
        try:
            for role in roles:
                stack.start(role)
            yield stack
        finally:
            stack.stop_all()
            controller.stop()


@contextmanager
def _operator_services(env: dict[str, str]) -> Iterator[None]:
    """On the operator stack, give this stack its own throw-away PostgreSQL database and an
    empty broker, so stacks never see each other's rows or messages."""
    url = env.get("ANSHIN_DATABASE_URL", "")
    if not url.startswith("postgres"):
        yield
        return
    import psycopg

    base, _, _ = url.rpartition("/")
    name = "anshin_e2e_" + secrets.token_hex(4)
    with psycopg.connect(base + "/postgres", autocommit=True) as admin:
        admin.execute(f"CREATE DATABASE {name}")
    env["ANSHIN_DATABASE_URL"] = f"{base}/{name}"
    _flush_broker(env.get("ANSHIN_BROKER_URL", ""))
    try:
        yield
    finally:
        with psycopg.connect(base + "/postgres", autocommit=True) as admin:
            admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def _flush_broker(url: str) -> None:
    from kombu import Connection

    if url.startswith(("redis", "amqp")):
        with Connection(url) as connection:
            channel: Any = connection.default_channel
            for queue in ("alerts", "residents", "bulk", "celery"):
                with contextlib.suppress(Exception):
                    channel.queue_purge(queue)
