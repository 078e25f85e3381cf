from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from anshin.alerts.models import Alert, Category
from anshin.alerts.services import alert_publish, alert_stop
from anshin.core.audit import OPERATOR


class Command(BaseCommand):
    help = "Alert operations for scripts and cron: `anshin alert publish …` prints the alert id."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="verb", required=True)
        publish = sub.add_parser("publish", help="Publish an alert to a category's subscribers.")
        publish.add_argument("--category", required=True, help="category slug, e.g. bousai")
        publish.add_argument("--subject", required=True)
        body = publish.add_mutually_exclusive_group(required=True)
        body.add_argument("--body")
        body.add_argument("--body-file", type=Path)
        stop = sub.add_parser("stop", help="Stop an alert mid-send; prints how many were stopped.")
        stop.add_argument("alert_id", type=int)

    def handle(self, *args: Any, **options: Any) -> None:
        if options["verb"] == "stop":
            self._stop(options["alert_id"])
            return
        category = Category.objects.filter(slug=options["category"], active=True).first()
        if category is None:
            slugs = ", ".join(Category.objects.filter(active=True).values_list("slug", flat=True))
            raise CommandError(f"No active category '{options['category']}'. Known: {slugs}")
        text = options["body"] if options["body"] is not None else self._read(options["body_file"])
        try:
            alert = alert_publish(
                actor=OPERATOR,
                category=category,
                subject=options["subject"],
                body=text,
                via=Alert.Via.CLI,
            )
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from None
        self.stdout.write(str(alert.pk))

    def _stop(self, alert_id: int) -> None:
        alert = Alert.objects.filter(pk=alert_id).first()
        if alert is None:
            raise CommandError(f"No alert {alert_id}.")
        self.stdout.write(str(alert_stop(actor=OPERATOR, alert=alert)))

    def _read(self, path: Path) -> str:
        try:
            return path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise CommandError(f"No such file: {path}") from None
        except UnicodeDecodeError:
            raise CommandError(f"{path} is not UTF-8 text.") from None
        except OSError as exc:
            raise CommandError(f"Cannot read {path}: {exc.strerror}") from None
