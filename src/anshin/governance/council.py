"""The council report (審議会報告): what personal data anshin holds and what happened to it in a
period, read from the database, and a self-inspection checklist (P8) read from the live
configuration, never typed in. Shown as a page and issued as a PDF (kept, audited)."""

from __future__ import annotations

import hashlib
import ipaddress
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Count, Q, QuerySet, Sum
from django.db.models.functions import TruncMonth
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from anshin.core.audit import Actor, ChainReport, audit_record, audit_verify
from anshin.core.models import AuditEvent
from anshin.core.otp import two_factor_status
from anshin.core.smtp import SmtpUrlError, parse_smtp_url
from anshin.delivery.models import Delivery
from anshin.directory.models import StaffMember
from anshin.directory.models_callout import CalloutRecipient
from anshin.governance import signing
from anshin.governance.access import LOOKED_UP, REVEALED
from anshin.governance.disclosures import require
from anshin.governance.models import Certificate, CouncilReport, Disclosure, Incident, PurgeRun
from anshin.governance.notices import NoticeRow, notice_versions
from anshin.residents.models import Subscriber

VIEW = "governance.view_councilreport"
ISSUE = "governance.add_councilreport"
MAX_DAYS = 5 * 366
OK, NG, NOT_YET = "ok", "ng", "not_yet"


@dataclass(frozen=True)
class Check:
    label: str
    state: str  # OK, NG or NOT_YET
    detail: str


@dataclass(frozen=True)
class Report:
    start: date
    end: date
    held: list[tuple[str, int]]
    notices: list[NoticeRow]
    disclosures: list[Disclosure]
    certificates: list[Certificate]
    incidents: list[Incident]
    access: list[tuple[str, int]]
    reveals: list[tuple[str, int, int]]  # month, full addresses seen, look-ups by address
    deliveries: list[tuple[str, str, int, int]]  # month, category, alerts, recipients
    chain: ChainReport
    checklist: list[Check]


def _bounds(start: date, end: date) -> tuple[datetime, datetime]:
    tz = timezone.get_current_timezone()
    return (
        datetime.combine(start, time.min, tzinfo=tz),
        datetime.combine(end + timedelta(days=1), time.min, tzinfo=tz),
    )


def default_period(today: date | None = None) -> tuple[date, date]:
    """The last twelve months up to today."""
    today = today or timezone.localdate()
    return today - timedelta(days=364), today


def council_report(*, start: date, end: date) -> Report:
    lo, hi = _bounds(start, end)
    chain = audit_verify()
    return Report(
        start=start,
        end=end,
        held=personal_data_held(),
        notices=notice_versions(),
        disclosures=list(
            Disclosure.objects.filter(requested_at__gte=lo, requested_at__lt=hi).select_related(
                "requested_by", "decided_by", "provided_by"
            )
        ),
        certificates=list(
            Certificate.objects.filter(issued_at__gte=lo, issued_at__lt=hi).defer("pdf")
        ),
        incidents=list(_incidents(lo, hi)),
        access=_access(lo, hi),
        reveals=_reveals(lo, hi),
        deliveries=_deliveries(lo, hi),
        chain=chain,
        checklist=self_inspection(chain),
    )


def personal_data_held() -> list[tuple[str, int]]:
    """Kinds and counts of personal data held now."""
    by_state = dict(
        Subscriber.objects.exclude(email_ciphertext=b"")
        .order_by()
        .values_list("state")
        .annotate(n=Count("pk"))
    )
    rows = [
        (_("Residents: %(state)s") % {"state": label}, by_state.get(value, 0))
        for value, label in Subscriber.State.choices
    ]
    erased = Subscriber.objects.filter(email_ciphertext=b"").count()
    return [
        *rows,
        (_("Residents: address erased, keyed code kept"), erased),
        (_("Staff members (active)"), StaffMember.objects.filter(active=True).count()),
        (_("Staff members (left)"), StaffMember.objects.filter(active=False).count()),
        (_("Call-out recipient records"), CalloutRecipient.objects.count()),
    ]


def _incidents(lo: datetime, hi: datetime) -> QuerySet[Incident]:
    """Found before the period's end and not closed before its start."""
    return Incident.objects.filter(found_at__lt=hi).filter(
        Q(closed_at__isnull=True) | Q(closed_at__gte=lo)
    )


def _access(lo: datetime, hi: datetime) -> list[tuple[str, int]]:
    counts = (
        AuditEvent.objects.filter(at__gte=lo, at__lt=hi)
        .order_by()
        .values_list("action")
        .annotate(n=Count("pk"))
    )
    return sorted((action, n) for action, n in counts)


def _reveals(lo: datetime, hi: datetime) -> list[tuple[str, int, int]]:
    """Per month (Asia/Tokyo), from the audit log: how often staff saw a full address (each
    with a stated reason, P2) and looked a resident up by exact address."""
    actions = (REVEALED, LOOKED_UP)
    rows = (
        AuditEvent.objects.filter(at__gte=lo, at__lt=hi, action__in=actions)
        .annotate(month=TruncMonth("at", tzinfo=timezone.get_current_timezone()))
        .order_by()
        .values_list("month", "action")
        .annotate(n=Count("pk"))
    )
    months: dict[str, dict[str, int]] = {}
    for month, action, n in rows:
        key = timezone.localtime(month).strftime("%Y-%m")
        months.setdefault(key, {})[action] = n
    return [
        (key, counts.get(REVEALED, 0), counts.get(LOOKED_UP, 0))
        for key, counts in sorted(months.items())
    ]


def _deliveries(lo: datetime, hi: datetime) -> list[tuple[str, str, int, int]]:
    rows = (
        Delivery.objects.filter(channel="email", created_at__gte=lo, created_at__lt=hi)
        .annotate(month=TruncMonth("created_at"))
        .order_by()
        .values("month", "alert__category__name_ja", "alert__category__name_en")
        .annotate(alerts=Count("pk"), recipients=Sum("total"))
    )
    english = get_language() == "en"
    result = [
        (
            timezone.localtime(r["month"]).strftime("%Y-%m"),
            r["alert__category__name_en"] if english else r["alert__category__name_ja"],
            r["alerts"],
            r["recipients"] or 0,
        )
        for r in rows
    ]
    return sorted(result)


# --- The self-inspection checklist (P8) -----------------------------------------------------


def self_inspection(chain: ChainReport) -> list[Check]:
    return [
        _data_key(),
        _https(),
        _retention(),
        Check(
            _("Audit log chain verified"),
            OK if chain.ok else NG,
            _("%(n)s entries checked; head #%(seq)s") % {"n": chain.checked, "seq": chain.head_seq}
            if chain.ok
            else _("Broken at entry #%(seq)s (%(problem)s)")
            % {"seq": chain.broken_at, "problem": chain.problem},
        ),
        _signing_key(),
        _smtp_tls(),
        _backup(),
        _two_factor(),
    ]


def _two_factor() -> Check:
    """Read from configuration: the enforcing middleware installed, and every active staff
    account holding a confirmed authenticator (anshin.core.otp)."""
    label = _("Two-factor login for staff")
    status = two_factor_status()
    if not status.enforced:
        return Check(label, NG, _("Not enforced: the two-factor middleware is not installed."))
    if status.without_device:
        detail = _("%(n)s of %(total)s active staff accounts have not set up an authenticator.")
        return Check(label, NG, detail % {"n": status.without_device, "total": status.active_users})
    detail = _("Required on the console and admin; all %(total)s active staff accounts enrolled.")
    return Check(label, OK, detail % {"total": status.active_users})


def _data_key() -> Check:
    label = _("Encryption key of personal data set from the environment")
    if settings.DATA_KEY_FROM_ENV:
        return Check(label, OK, _("ANSHIN_DATA_KEY is set; addresses are encrypted with it."))
    return Check(
        label,
        NG,
        _(
            "The key was generated in the data folder, next to the data it protects: set "
            "ANSHIN_DATA_KEY and keep a copy apart."
        ),
    )


def _https() -> Check:
    label = _("Pages and mail links use HTTPS")
    return Check(label, OK if settings.HTTPS else NG, settings.BASE_URL)


def _retention() -> Check:
    label = _("Retention periods set and the nightly purge running")
    last = PurgeRun.objects.filter(finished_at__isnull=False).order_by("-finished_at").first()
    days = ", ".join(f"{k} {v}" for k, v in settings.RETENTION_DAYS.items())
    if last is None or last.finished_at is None:
        return Check(
            label, NG, _("No purge has finished yet (periods in days: %(d)s)") % {"d": days}
        )
    fresh = timezone.now() - last.finished_at < timedelta(days=2)
    when = timezone.localtime(last.finished_at).strftime("%Y-%m-%d %H:%M")
    return Check(
        label,
        OK if fresh else NG,
        _("Last purge %(when)s (periods in days: %(d)s)") % {"when": when, "d": days},
    )


def _signing_key() -> Check:
    label = _("Signing key of deletion certificates present")
    try:
        fp = signing.fingerprint()
    except (signing.SigningKeyError, ValueError):
        return Check(label, NG, _("ANSHIN_SIGNING_KEY cannot be read."))
    where = (
        _("from the environment")
        if settings.SIGNING_KEY_FROM_ENV
        else _("generated in the data folder")
    )
    return Check(label, OK, f"{fp} ({where})")


def _smtp_tls() -> Check:
    label = _("Mail handed to the relay over TLS")
    try:
        config = parse_smtp_url(settings.SMTP_URL)
    except SmtpUrlError:
        return Check(label, NG, _("ANSHIN_SMTP_URL cannot be read."))
    if config.security != "plain":
        return Check(
            label,
            OK,
            _("%(host)s, encrypted (%(mode)s)") % {"host": config.host, "mode": config.security},
        )
    if _loopback(config.host):
        return Check(
            label, OK, _("%(host)s: a relay on this machine, not encrypted") % {"host": config.host}
        )
    return Check(label, NG, _("%(host)s: not encrypted") % {"host": config.host})


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _backup() -> Check:
    label = _("Backups taken")
    last = AuditEvent.objects.filter(action="backup.create").order_by("-seq").first()
    if last is None:
        return Check(label, NG, _("No backup has been taken (anshin backup)."))
    fresh = timezone.now() - last.at < timedelta(days=settings.BACKUP_MAX_AGE_DAYS)
    when = timezone.localtime(last.at).strftime("%Y-%m-%d %H:%M")
    return Check(label, OK if fresh else NG, _("Last backup %(when)s") % {"when": when})


# --- Issuing the PDF ------------------------------------------------------------------------


def council_report_issue(*, actor: Actor, start: date, end: date) -> CouncilReport:
    """Render the report as a PDF in Japanese and keep it, with the chain head it printed."""
    user = require(actor, ISSUE)
    from anshin.governance.council_pdf import report_pdf

    report = council_report(start=start, end=end)
    now = timezone.now()
    document = report_pdf(report, now)
    with transaction.atomic():
        issued = CouncilReport.objects.create(
            period_start=start,
            period_end=end,
            created_by=user,
            created_at=now,
            chain_seq=report.chain.head_seq,
            chain_head=report.chain.head_hash,
            chain_ok=report.chain.ok,
            pdf=document,
            pdf_sha256=hashlib.sha256(document).hexdigest(),
        )
        details: dict[str, Any] = {"report": issued.pk, "chain_seq": report.chain.head_seq}
        audit_record(actor=actor, action="council_report.issue", target=issued, details=details)
    return issued
