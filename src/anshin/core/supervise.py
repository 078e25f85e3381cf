"""Run several anshin roles as child processes and stop them all together.

Used by `anshin demo` and `anshin serve`. If one child dies, the others are stopped too and
the supervisor exits non-zero, so a service manager (systemd) restarts the whole set rather
than leaving a web server up with no worker behind it.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field

STOP_GRACE_SECONDS = 15


@dataclass
class Supervisor:
    children: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    stopping: bool = False

    def start(self, name: str, *args: str) -> None:
        command = [sys.executable, "-m", "anshin.core.cli", *args]
        self.children[name] = subprocess.Popen(command)

    def run(self) -> int:
        """Wait until a signal or a child's death; then stop every child. Returns exit code."""
        signal.signal(signal.SIGTERM, self._on_signal)
        signal.signal(signal.SIGINT, self._on_signal)
        failed = ""
        while not self.stopping and not failed:
            failed = next((n for n, p in self.children.items() if p.poll() is not None), "")
            time.sleep(0.2)
        if failed:
            print(f"anshin: the {failed} process stopped; stopping the others.", file=sys.stderr)
        self.stop_all()
        return 1 if failed else 0

    def _on_signal(self, signum: int, frame: object) -> None:
        self.stopping = True

    def stop_all(self) -> None:
        for process in self.children.values():
            if process.poll() is None:
                process.terminate()
        deadline = time.monotonic() + STOP_GRACE_SECONDS
        for process in self.children.values():
            try:
                process.wait(timeout=max(deadline - time.monotonic(), 0.1))
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
