"""The benchmarks' SMTP sink, in its own process: Postfix's `smtp-sink` (C, Debian package
postfix) when it is installed, else the aiosmtpd sink in bench/sink.py.

Which one matters on a small machine: the sink shares the CPU with the sender, and aiosmtpd
takes about as much CPU per message as the sender does, smtp-sink a small fraction of it.
Both count messages as they are accepted; the arrival time of each is kept for the latency
percentiles.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SMTP_SINK = shutil.which("smtp-sink") or next(
    (p for p in ("/usr/sbin/smtp-sink", "/usr/bin/smtp-sink") if os.access(p, os.X_OK)), None
)
_COUNTER = re.compile(rb"mesg=(\d+)\r")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def choose(kind: str) -> str:
    """`auto` is smtp-sink when present, else aiosmtpd."""
    if kind == "auto":
        return "smtp-sink" if SMTP_SINK else "aiosmtpd"
    if kind == "smtp-sink" and not SMTP_SINK:
        raise SystemExit("smtp-sink is not installed (Debian: apt-get install postfix)")
    return kind


class Sink:
    """A running sink: `port`, `count()` while it runs, `stop()` -> arrival times."""

    def __init__(self, kind: str, workdir: Path, name: str) -> None:
        self.kind = kind
        self.port = free_port()
        self._out = workdir / f"{name}.times"
        self._samples: list[tuple[float, int]] = []  # (when read, messages so far)
        self._reader: threading.Thread | None = None
        if kind == "smtp-sink":
            self._process = self._start_smtp_sink()
        else:
            script = ROOT / "bench" / "sink.py"
            command = [
                sys.executable,
                str(script),
                "--port",
                str(self.port),
                "--out",
                str(self._out),
            ]
            self._process = subprocess.Popen(command)
        self._wait_until_listening()

    @property
    def pid(self) -> int:
        return self._process.pid

    def _start_smtp_sink(self) -> subprocess.Popen[bytes]:
        assert SMTP_SINK is not None
        # -c: a running counter on stdout, updated as each message is accepted; -u: it must
        # drop root; 256 is the listen backlog.
        user = "nobody" if os.geteuid() == 0 else os.environ.get("USER", "nobody")
        command = [SMTP_SINK, "-c", "-u", user, f"127.0.0.1:{self.port}", "256"]
        process = subprocess.Popen(command, stdout=subprocess.PIPE)
        self._reader = threading.Thread(target=self._read_counter, args=(process,), daemon=True)
        self._reader.start()
        return process

    def _read_counter(self, process: subprocess.Popen[bytes]) -> None:
        assert process.stdout is not None
        fd = process.stdout.fileno()
        while chunk := os.read(fd, 65536):
            found = _COUNTER.findall(chunk[-128:]) or _COUNTER.findall(chunk)
            if found:
                self._samples.append((time.time(), int(found[-1])))

    def _wait_until_listening(self) -> None:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with socket.socket() as sock:
                if sock.connect_ex(("127.0.0.1", self.port)) == 0:
                    return
            time.sleep(0.05)
        raise RuntimeError("sink did not start")

    def count(self) -> int:
        if self.kind == "smtp-sink":
            return self._samples[-1][1] if self._samples else 0
        try:
            return int(self._out.with_suffix(".count").read_text() or 0)
        except (FileNotFoundError, ValueError):
            return 0

    def stop(self) -> list[float]:
        """Stop the sink; one arrival time (epoch seconds) per message accepted."""
        self._process.send_signal(signal.SIGTERM)
        self._process.wait(timeout=60)
        if self._reader is not None:
            self._reader.join(timeout=10)
            return self._arrivals()
        text = self._out.read_text().strip()
        return [float(line) for line in text.splitlines()] if text else []

    def _arrivals(self) -> list[float]:
        """Each message gets the time its count was first read (within a millisecond or so
        of its acceptance: the counter is read as it is written)."""
        times: list[float] = []
        for when, total in self._samples:
            times += [when] * (total - len(times))
        return times
