"""Versions of the privacy notice (S5). Each save is a new version and every old one is kept:
a resident's registration points at the version they were shown, so the city can report
exactly what each resident read. The registration page shows the newest."""

from __future__ import annotations

import difflib
from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.db.models import Count, Max
from django.utils import timezone
from django.utils.translation import gettext as _

from anshin.core.audit import Actor, audit_record
from anshin.governance.disclosures import require
from anshin.residents.models import PrivacyNotice, Subscriber

PUBLISH = "residents.add_privacynotice"
VIEW = "residents.view_privacynotice"


class NoticeUnchanged(ValueError):
    pass


def privacy_notice_publish(*, actor: Actor, body_ja: str, body_en: str) -> PrivacyNotice:
    """Publish a new version (the next number). Two editors saving at once both get a version:
    the unique version number decides the order, the loser takes the next one."""
    require(actor, PUBLISH)
    current = PrivacyNotice.objects.order_by("-version").first()
    if current and (current.body_ja, current.body_en) == (body_ja, body_en):
        raise NoticeUnchanged(_("The text is the same as the current version."))
    for _attempt in range(3):
        try:
            return _create(actor, body_ja, body_en)
        except IntegrityError:
            continue
    raise IntegrityError("The notice version could not be numbered; try again.")


def _create(actor: Actor, body_ja: str, body_en: str) -> PrivacyNotice:
    with transaction.atomic():
        number = (PrivacyNotice.objects.aggregate(n=Max("version"))["n"] or 0) + 1
        notice = PrivacyNotice.objects.create(
            version=number, body_ja=body_ja, body_en=body_en, published_at=timezone.now()
        )
        details = {"version": number}
        audit_record(actor=actor, action="privacy_notice.publish", target=notice, details=details)
    return notice


@dataclass(frozen=True)
class NoticeRow:
    notice: PrivacyNotice
    residents: int  # how many residents registered under this version


def notice_versions() -> list[NoticeRow]:
    counts = dict(
        Subscriber.objects.order_by()
        .values_list("notice_id")
        .annotate(n=Count("pk"))
        .filter(notice_id__isnull=False)
    )
    return [NoticeRow(n, counts.get(n.pk, 0)) for n in PrivacyNotice.objects.order_by("-version")]


def notice_diff(old: str, new: str) -> list[tuple[str, str]]:
    """Line-by-line changes as (kind, line), kind one of "+", "-", " " (shown escaped)."""
    lines = difflib.ndiff(old.splitlines(), new.splitlines())
    return [(line[0], line[2:]) for line in lines if line[:1] in "+- "]
