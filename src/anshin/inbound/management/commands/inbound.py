from __future__ import annotations

import logging
import signal
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from anshin.inbound.handler import make_controller

log = logging.getLogger(__name__)


class Command(BaseCommand):
    help = (
        "Receive mail: empty-mail registration, bounces (VERP) and forwarded notices for "
        "staff review. Other recipients are refused."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default=settings.INBOUND_HOST)
        parser.add_argument("--port", type=int, default=settings.INBOUND_PORT or 2525)

    def handle(self, *args: Any, **options: Any) -> None:
        # Signals are blocked before the server thread starts (threads inherit the mask) and
        # collected with sigwait, so the server thread is never the one they interrupt.
        stop_signals = {signal.SIGTERM, signal.SIGINT}
        previous = signal.pthread_sigmask(signal.SIG_BLOCK, stop_signals)
        controller = make_controller(host=options["host"], port=options["port"])
        try:
            controller.start()
            log.info("inbound mail listening on %s:%d", options["host"], options["port"])
            signal.sigwait(stop_signals)
        finally:
            controller.stop(no_assert=True)
            signal.pthread_sigmask(signal.SIG_SETMASK, previous)
