from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from django.db.models import Count, QuerySet
from django.db.models.functions import TruncDate
from django.utils.timezone import get_default_timezone

from anshin.delivery.models import Bounce, Notification, SendState
from anshin.residents.models import (
    PrivacyNotice,
    ReceiptCheck,
    ReceiptConfirmation,
    ResidentImport,
)


def notice_version(version: int | None) -> PrivacyNotice | None:
    return PrivacyNotice.objects.filter(version=version).first() if version else None


def current_notice() -> PrivacyNotice:
    notice = PrivacyNotice.objects.order_by("-version").first()
    if notice is None:
        raise PrivacyNotice.DoesNotExist("No privacy notice has been published.")
    return notice


@dataclass(frozen=True)
class NoticeProgress:
    """How far a set of bulk notices has gone (counted in the database)."""

    total: int = 0
    sent: int = 0
    queued: int = 0
    failed: int = 0
    stopped: int = 0

    @property
    def done(self) -> bool:
        return self.queued == 0

    @property
    def percent(self) -> int:
        return round(100 * (self.total - self.queued) / self.total) if self.total else 100


def notice_progress(notices: QuerySet[Notification]) -> NoticeProgress:
    counts = dict(notices.order_by().values_list("state").annotate(n=Count("pk")))
    return NoticeProgress(
        total=sum(counts.values()),
        sent=counts.get(SendState.ACCEPTED, 0),
        queued=counts.get(SendState.QUEUED, 0) + counts.get(SendState.SENDING, 0),
        failed=counts.get(SendState.FAILED, 0),
        stopped=counts.get(SendState.STOPPED, 0) + counts.get(SendState.EXPIRED, 0),
    )


def import_notices(record: ResidentImport) -> NoticeProgress:
    return notice_progress(Notification.objects.filter(resident_import=record))


@dataclass(frozen=True)
class CheckSummary:
    recipients: int
    confirmed: int
    bounced: int  # hard-bounced the check's mail and never confirmed
    sending: NoticeProgress
    pauses: NoticeProgress
    per_day: list[tuple[date, int]]

    @property
    def not_yet(self) -> int:
        return max(self.recipients - self.confirmed - self.bounced, 0)


def receipt_check_summary(check: ReceiptCheck) -> CheckSummary:
    mails = Notification.objects.filter(receipt_check=check, kind=Notification.Kind.RECEIPT_CHECK)
    confirmations = ReceiptConfirmation.objects.filter(check_run=check)
    confirmed_ids = confirmations.values("subscriber_id")
    bounced = (
        Bounce.objects.filter(notification__in=mails, kind=Bounce.Kind.HARD)
        .exclude(notification__subscriber_id__in=confirmed_ids)
        .values("notification__subscriber_id")
        .distinct()
        .count()
    )
    per_day = (
        confirmations.annotate(day=TruncDate("confirmed_at", tzinfo=get_default_timezone()))
        .order_by("day")
        .values_list("day")
        .annotate(n=Count("pk"))
    )
    return CheckSummary(
        recipients=mails.count(),
        confirmed=confirmations.count(),
        bounced=bounced,
        sending=notice_progress(mails),
        pauses=notice_progress(
            Notification.objects.filter(receipt_check=check, kind=Notification.Kind.SUSPENDED)
        ),
        per_day=[(day, n) for day, n in per_day],
    )
