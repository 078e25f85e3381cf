from __future__ import annotations

import sys
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from anshin.core.supervise import Supervisor


class Command(BaseCommand):
    help = (
        "Production on one machine: web, worker and scheduler (and the inbound SMTP "
        "listener when ANSHIN_INBOUND_PORT is set) as child processes."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--concurrency", type=int, default=2)

    def handle(self, *args: Any, **options: Any) -> None:
        supervisor = Supervisor()
        supervisor.start("web", "web", "--host", options["host"], "--port", str(options["port"]))
        supervisor.start("alerts-worker", "worker", "--queues", "alerts", "--concurrency", "1")
        supervisor.start("worker", "worker", "--concurrency", str(options["concurrency"]))
        supervisor.start("scheduler", "scheduler")
        if settings.INBOUND_PORT:  # the SMTP listener, on a machine that receives mail
            supervisor.start("inbound", "inbound", "--port", str(settings.INBOUND_PORT))
        sys.exit(supervisor.run())
