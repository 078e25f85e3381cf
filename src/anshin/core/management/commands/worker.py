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
        # Not `app.worker_main([...])`: that goes through celery's click command line, which
        # imports every celery subcommand (an interactive shell with prompt_toolkit, pygments):
        # about 30 MB in the worker for nothing it does.
        from anshin.core.celery_app import run_worker

        code = run_worker(
            queues=options["queues"].split(","),
            concurrency=options["concurrency"],
            loglevel=options["loglevel"],
        )
        if code:
            raise SystemExit(code)
