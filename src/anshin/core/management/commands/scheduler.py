from __future__ import annotations

import logging
import signal
import threading
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser
from django.db import close_old_connections

from anshin.delivery.services import reconcile

log = logging.getLogger("anshin.scheduler")


class Command(BaseCommand):
    help = (
        "Run the scheduler: re-queue whatever the database says is unfinished, every few seconds."
    )
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--interval", type=float, default=settings.SCHEDULER_INTERVAL)
        parser.add_argument("--once", action="store_true", help="Reconcile once and exit.")

    def handle(self, *args: Any, **options: Any) -> None:
        stop = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        signal.signal(signal.SIGINT, lambda *_: stop.set())
        while not stop.is_set():
            try:
                counts = reconcile()
                if any(counts.values()):
                    log.info("reconciled %s", counts)
            except Exception:
                log.exception("reconcile failed; trying again")
            finally:
                close_old_connections()
            if options["once"]:
                return
            stop.wait(options["interval"])
