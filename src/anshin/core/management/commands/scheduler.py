from __future__ import annotations

import logging
import signal
import threading
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser
from django.db import close_old_connections

from anshin.core.periodic import periodic_jobs

log = logging.getLogger("anshin.scheduler")


class Command(BaseCommand):
    help = (
        "Run the scheduler: every few seconds, re-queue whatever the database says is unfinished"
        " and start whatever is due (receipt checks, call-out reminders)."
    )
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--interval", type=float, default=settings.SCHEDULER_INTERVAL)
        parser.add_argument("--once", action="store_true", help="Run every job once and exit.")

    def handle(self, *args: Any, **options: Any) -> None:
        stop = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        signal.signal(signal.SIGINT, lambda *_: stop.set())
        jobs = periodic_jobs()
        while not stop.is_set():
            for name, job in jobs.items():
                try:
                    counts = job()
                    if any(counts.values()):
                        log.info("%s: %s", name, counts)
                except Exception:
                    log.exception("%s failed; trying again", name)
                finally:
                    close_old_connections()
            if options["once"]:
                return
            stop.wait(options["interval"])
