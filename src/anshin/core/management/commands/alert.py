from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from anshin.alerts.approval import alert_submit
from anshin.alerts.models import (
    Alert,
    CapCertainty,
    CapMsgType,
    CapSeverity,
    CapStatus,
    CapUrgency,
    Category,
)
from anshin.alerts.services import CapChoices, alert_stop
from anshin.core.audit import OPERATOR


class Command(BaseCommand):
    help = (
        "Alert operations for scripts and cron: `anshin alert publish …` prints the alert id "
        "(an alert of a category that requires approval is held until an approver approves "
        "it in the console)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="verb", required=True)
        publish = sub.add_parser(
            "publish",
            help="Publish an alert to a category's subscribers (or hold it for approval).",
        )
        publish.add_argument("--category", required=True, help="category slug, e.g. bousai")
        publish.add_argument("--subject", required=True)
        body = publish.add_mutually_exclusive_group(required=True)
        body.add_argument("--body")
        body.add_argument("--body-file", type=Path)
        self._add_cap_arguments(publish)
        stop = sub.add_parser("stop", help="Stop an alert mid-send; prints how many were stopped.")
        stop.add_argument("alert_id", type=int)

    def _add_cap_arguments(self, publish: CommandParser) -> None:
        """Optional CAP values (the category's defaults otherwise) and the English version."""
        publish.add_argument("--status", choices=CapStatus.values, default=CapStatus.ACTUAL)
        publish.add_argument("--urgency", choices=CapUrgency.values)
        publish.add_argument("--severity", choices=CapSeverity.values)
        publish.add_argument("--certainty", choices=CapCertainty.values)
        publish.add_argument("--msg-type", choices=CapMsgType.values, default=CapMsgType.ALERT)
        publish.add_argument(
            "--references", type=int, metavar="ALERT_ID", help="the alert an Update/Cancel corrects"
        )
        publish.add_argument("--english-subject", default="")
        english = publish.add_mutually_exclusive_group()
        english.add_argument("--english-body", default="")
        english.add_argument("--english-body-file", type=Path)

    def handle(self, *args: Any, **options: Any) -> None:
        if options["verb"] == "stop":
            self._stop(options["alert_id"])
            return
        category = Category.objects.filter(slug=options["category"], active=True).first()
        if category is None:
            slugs = ", ".join(Category.objects.filter(active=True).values_list("slug", flat=True))
            raise CommandError(f"No active category '{options['category']}'. Known: {slugs}")
        text = options["body"] if options["body"] is not None else self._read(options["body_file"])
        english = options["english_body"]
        if options["english_body_file"] is not None:
            english = self._read(options["english_body_file"])
        try:
            alert = alert_submit(
                actor=OPERATOR,
                category=category,
                subject=options["subject"],
                body=text,
                via=Alert.Via.CLI,
                cap=self._cap(options),
                subject_en=options["english_subject"],
                body_en=english,
            )
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from None
        self.stdout.write(str(alert.pk))
        if alert.state == Alert.State.HELD:
            self.stderr.write(
                f"Alert {alert.pk} is held: it is sent when an approver approves it in the console."
            )

    def _cap(self, options: dict[str, Any]) -> CapChoices:
        references = None
        if options["references"] is not None:
            references = Alert.objects.filter(pk=options["references"]).first()
            if references is None:
                raise CommandError(f"No alert {options['references']}.")
        return CapChoices(
            status=options["status"],
            urgency=options["urgency"],
            severity=options["severity"],
            certainty=options["certainty"],
            msg_type=options["msg_type"],
            references=references,
        )

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
