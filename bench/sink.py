"""A counting SMTP sink for the benchmarks: accepts everything, remembers when each message
arrived, and writes the arrival times (epoch seconds, one per line) to a file on SIGTERM."""

from __future__ import annotations

import argparse
import signal
import threading
import time
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller


class Counter:
    def __init__(self) -> None:
        self.times: list[float] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.times.append(time.time())
        return "250 OK"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    counter = Counter()
    controller = Controller(counter, hostname="127.0.0.1", port=args.port)
    controller.start()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGUSR1, lambda *_: _dump(counter, args.out))
    while not stop.wait(0.1):
        args.out.with_suffix(".count").write_text(str(len(counter.times)))
    controller.stop()
    _dump(counter, args.out)


def _dump(counter: Counter, out: Path) -> None:
    out.write_text("\n".join(f"{t:.6f}" for t in counter.times))
    out.with_suffix(".count").write_text(str(len(counter.times)))


if __name__ == "__main__":
    main()
