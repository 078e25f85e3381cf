from __future__ import annotations

import os
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser


class Command(BaseCommand):
    help = (
        "Run a Celery worker. By default it serves every queue, alerts first; "
        "`--queues alerts` gives a worker that only ever sends alerts."
    )
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--concurrency", type=int, default=min(os.cpu_count() or 2, 4))
        parser.add_argument("--queues", default=",".join(settings.QUEUES_BY_PRIORITY))
        parser.add_argument("--loglevel", default="INFO")

    def handle(self, *args: Any, **options: Any) -> None:
        from anshin.core.celery_app import app

        app.worker_main(
            [
                "worker",
                "--queues",
                options["queues"],
                "--concurrency",
                str(options["concurrency"]),
                "--loglevel",
                options["loglevel"],
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
                "--prefetch-multiplier",
                "1",
            ]
        )
