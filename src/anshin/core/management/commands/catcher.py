from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from anshin.core.catcher import run_catcher_forever


class Command(BaseCommand):
    help = "Run the demo's mail catcher: an SMTP server that keeps every message it receives."
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=1025)

    def handle(self, *args: Any, **options: Any) -> None:
        run_catcher_forever(settings.CATCHER_DIR, host=options["host"], port=options["port"])
