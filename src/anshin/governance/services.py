"""Retention runs (P1) and the deletion certificates they issue. The scheduler, the
`anshin retention` command and tests call these; nothing else deletes retained data."""

from __future__ import annotations

import hashlib
from datetime import date, datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import override

from anshin.core.audit import SYSTEM, Actor, audit_checkpoint, audit_checkpoint_seq, audit_record
from anshin.governance import pdf, signing
from anshin.governance.models import Certificate, PurgeRun
from anshin.governance.retention import (
    ALL_KINDS,
    AUDIT,
    KINDS,
    Kind,
    audit_drain,
    audit_expired,
    kind_named,
    part_count,
    part_drain,
)

LEASE = timedelta(hours=6)
KEY_FP = "public_key_sha256"


def retention_preview(*, now: datetime | None = None) -> dict[str, int]:
    """What a purge would remove now, per kind (the --dry-run)."""
    now = now or timezone.now()
    counts = {k.slug: sum(part_count(p, k.cutoff(now)) for p in k.parts) for k in KINDS}
    counts[AUDIT.slug] = audit_expired(AUDIT.cutoff(now), audit_checkpoint_seq()).count()
    return counts


def retention_purge(*, actor: Actor, run: PurgeRun | None = None) -> dict[str, int]:
    """Remove every kind's expired rows and issue one certificate per kind that had any.
    Safe to run again after a crash: what is gone stays gone, counts are already saved."""
    run = run or _operator_run()
    counts = {kind.slug: _purge_kind(kind, run) for kind in ALL_KINDS}
    with transaction.atomic():
        PurgeRun.objects.filter(pk=run.pk).update(finished_at=timezone.now())
        audit_record(actor=actor, action="retention.purge", target=run, details=counts)
    certificates_issue_pending()
    return counts


def _operator_run() -> PurgeRun:
    now = timezone.now()
    return PurgeRun.objects.create(
        trigger=PurgeRun.Trigger.OPERATOR, started_at=now, leased_until=now + LEASE
    )


def _purge_kind(kind: Kind, run: PurgeRun) -> int:
    now = timezone.now()
    certificate, _created = Certificate.objects.get_or_create(
        run=run, kind=kind.slug, defaults={"cutoff": kind.cutoff(now), "days": kind.days()}
    )
    if certificate.closed_at is None:
        if kind is AUDIT:
            _purge_audit(certificate)
        for part in kind.parts:
            part_drain(part, certificate.cutoff, certificate)
        _close(certificate)
    return (
        Certificate.objects.filter(pk=certificate.pk).values_list("count", flat=True).first() or 0
    )


def _purge_audit(certificate: Certificate) -> None:
    """Checkpoint first, then delete: the chain verifies at every moment in between."""
    through = audit_checkpoint_seq()
    last = (
        audit_expired(certificate.cutoff, through)
        .order_by("-seq")
        .values_list("seq", flat=True)
        .first()
    )
    if last is not None:
        audit_checkpoint(
            actor=SYSTEM,
            through_seq=last,
            details={"run": certificate.run_id, "cutoff": certificate.cutoff.isoformat()},
        )
        through = last
    audit_drain(through, certificate)


def _close(certificate: Certificate) -> None:
    """Nothing removed: no certificate. Otherwise it is ready to be signed."""
    with transaction.atomic():
        Certificate.objects.filter(pk=certificate.pk, count=0).delete()
        Certificate.objects.filter(pk=certificate.pk).update(closed_at=timezone.now())


# --- The nightly run ------------------------------------------------------------------------


def retention_daily(*, now: datetime | None = None) -> dict[str, int]:
    """The scheduler's job: once a day after RETENTION_HOUR (Asia/Tokyo), however many
    schedulers tick; a run that died is resumed when its lease ends."""
    now = now or timezone.now()
    local = timezone.localtime(now)
    if local.hour < settings.RETENTION_HOUR:
        return {"certificates": certificates_issue_pending()}
    run = _claim_day(local.date(), now)
    if run is None:
        return {"certificates": certificates_issue_pending()}
    return {k: v for k, v in retention_purge(actor=SYSTEM, run=run).items() if v}


def _claim_day(day: date, now: datetime) -> PurgeRun | None:
    try:
        with transaction.atomic():
            return PurgeRun.objects.create(
                day=day, trigger=PurgeRun.Trigger.SCHEDULE, started_at=now, leased_until=now + LEASE
            )
    except IntegrityError:
        pass
    stale = PurgeRun.objects.filter(day=day, finished_at__isnull=True, leased_until__lt=now)
    if stale.update(leased_until=now + LEASE) != 1:
        return None
    return PurgeRun.objects.get(day=day)


# --- Certificates ---------------------------------------------------------------------------


def certificates_issue_pending() -> int:
    """Sign and render every closed certificate not yet issued (one left by a missing font
    or a crash is issued by the next tick). Two schedulers may render one; one stores it."""
    pending = Certificate.objects.filter(closed_at__isnull=False, issued_at__isnull=True)
    return sum(_issue(c) for c in pending.select_related("run").order_by("pk"))


def _issue(certificate: Certificate) -> int:
    now = timezone.now()
    content = certificate_content(certificate, issued_at=now)
    signature = signing.sign(content)
    document = certificate_pdf(content, signature)
    with transaction.atomic():
        done = Certificate.objects.filter(pk=certificate.pk, issued_at__isnull=True).update(
            issued_at=now,
            serial=content["serial"],
            content=content,
            signature=signature,
            pdf=document,
            pdf_sha256=hashlib.sha256(document).hexdigest(),
        )
        if done:
            audit_record(
                actor=SYSTEM,
                action="certificate.issue",
                target=certificate,
                details={"kind": certificate.kind, "count": certificate.count},
            )
    return done


def _iso(moment: datetime | None) -> str | None:
    return timezone.localtime(moment).isoformat() if moment else None


def certificate_content(certificate: Certificate, *, issued_at: datetime) -> dict[str, Any]:
    """Exactly what is signed: no personal data, only counts, dates and the rule."""
    kind = kind_named(certificate.kind)
    closed = certificate.closed_at or issued_at
    backups_gone = timezone.localtime(closed).date() + timedelta(
        days=settings.BACKUP_RETENTION_DAYS
    )
    return {
        "format": "anshin/deletion-certificate/1",
        "serial": f"{timezone.localtime(issued_at):%Y%m%d}-{certificate.pk:06d}",
        "city": settings.CITY_NAME,
        "kind": kind.slug,
        "action": "reduced_to_keyed_hash" if kind.reduces else "deleted",
        "count": certificate.count,
        "breakdown": certificate.breakdown,
        "records_from": _iso(certificate.records_from),
        "records_to": _iso(certificate.records_to),
        "cutoff": _iso(certificate.cutoff),
        "rule": {"setting": kind.setting, "days": certificate.days},
        "purged_at": _iso(closed),
        "issued_at": _iso(issued_at),
        "backups_expire_on": backups_gone.isoformat(),
        "backup_retention_days": settings.BACKUP_RETENTION_DAYS,
        "run": certificate.run_id,
        KEY_FP: signing.fingerprint(),
    }


def certificate_pdf(content: dict[str, Any], signature: str) -> bytes:
    payload = pdf.payload_line(signing.b64(signing.canonical(content)), signature)
    with override("ja"):
        title = _("Certificate of deletion")
        lines = certificate_lines(content)
    issued = datetime.fromisoformat(content["issued_at"])
    return pdf.render(lines, title, payload, issued)


def _when(value: str | None) -> str:
    if not value:
        return "—"
    return timezone.localtime(datetime.fromisoformat(value)).strftime("%Y-%m-%d %H:%M")


def certificate_lines(content: dict[str, Any]) -> list[tuple[str, str]]:
    """Label and value rows of the certificate, in the active language."""
    kind = kind_named(content["kind"])
    how = (
        _("The address was erased; only its keyed code is kept so that it stays suppressed.")
        if content["action"] == "reduced_to_keyed_hash"
        else _("Deleted from the database.")
    )
    rule = content["rule"]
    return [
        (_("Certificate number"), content["serial"]),
        (_("Issued by"), content["city"]),
        (_("Data"), str(kind.label)),
        (_("Number of records"), _("%(count)s records") % {"count": content["count"]}),
        (_("Records dated"), f"{_when(content['records_from'])} – {_when(content['records_to'])}"),
        (
            _("Rule"),
            _("Kept %(days)s days (setting %(setting)s); records older than %(cutoff)s")
            % {
                "days": rule["days"],
                "setting": rule["setting"],
                "cutoff": _when(content["cutoff"]),
            },
        ),
        (_("How"), how),
        (_("Deleted at"), _when(content["purged_at"])),
        (
            _("Backups"),
            _("Copies in backups age out by %(date)s (backups are kept %(days)s days).")
            % {"date": content["backups_expire_on"], "days": content["backup_retention_days"]},
        ),
        (
            _("Signature"),
            _("Ed25519; public key SHA-256 %(fp)s") % {"fp": content["public_key_sha256"]},
        ),
        (
            _("Verification"),
            _(
                "Run: anshin certificates verify FILE. The public key is published on the "
                "transparency page (/transparency/)."
            ),
        ),
    ]
