"""The near-miss and incident register (ヒヤリハット, S12): record, review, tick the reports the
Act on the Protection of Personal Information requires, and the periodic review prompt."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from anshin.core.audit import SYSTEM, Actor, audit_record
from anshin.governance.disclosures import require
from anshin.governance.models import Incident

ADD = "governance.add_incident"
CHANGE = "governance.change_incident"
VIEW = "governance.view_incident"
# PPC guideline: the prompt report (速報) "promptly", read as within 3–5 days of finding
# out; the final report (確報) within 30 days, or 60 when done for a wrongful purpose.
PROMPT_DAYS = (3, 5)
FINAL_DAYS, FINAL_DAYS_MALICIOUS = 30, 60
FIELDS = (
    "kind",
    "title",
    "summary",
    "occurred_at",
    "found_at",
    "affected",
    "malicious",
    "cause",
    "measures",
)


def incident_record(*, actor: Actor, **fields: Any) -> Incident:
    """A new entry; `fields` are the form's (FIELDS)."""
    user = require(actor, ADD)
    now = timezone.now()
    with transaction.atomic():
        incident = Incident.objects.create(
            **{k: fields[k] for k in FIELDS},
            created_by=user,
            created_at=now,
            last_reviewed_at=now,
        )
        audit_record(actor=actor, action="incident.record", target=incident, details=_ids(incident))
    return incident


def _ids(incident: Incident) -> dict[str, Any]:
    return {"incident": incident.pk, "kind": incident.kind}


def incident_update(*, actor: Actor, incident: Incident, **fields: Any) -> Incident:
    """Correct or complete an entry (cause and measures are often known later)."""
    require(actor, CHANGE)
    changed = sorted(k for k in FIELDS if k in fields and getattr(incident, k) != fields[k])
    with transaction.atomic():
        Incident.objects.filter(pk=incident.pk).update(**{k: fields[k] for k in changed})
        details = {**_ids(incident), "fields": changed}
        audit_record(actor=actor, action="incident.update", target=incident, details=details)
    incident.refresh_from_db()
    return incident


def incident_report_done(
    *, actor: Actor, incident: Incident, report: str, on: date | None
) -> Incident:
    """Tick (or, with on=None, untick) the prompt or final report to the PPC."""
    require(actor, CHANGE)
    field = {"prompt": "prompt_reported_on", "final": "final_reported_on"}[report]
    with transaction.atomic():
        Incident.objects.filter(pk=incident.pk, kind=Incident.Kind.INCIDENT).update(**{field: on})
        details = {**_ids(incident), "report": report, "on": on.isoformat() if on else None}
        audit_record(actor=actor, action="incident.report", target=incident, details=details)
    incident.refresh_from_db()
    return incident


def incident_review(*, actor: Actor, incident: Incident, close: bool) -> Incident:
    """Someone looked at the entry again: the review prompt goes away; optionally closed."""
    require(actor, CHANGE)
    now = timezone.now()
    update: dict[str, Any] = {"last_reviewed_at": now, "review_flagged_at": None}
    if close:
        update["closed_at"] = now
    with transaction.atomic():
        Incident.objects.filter(pk=incident.pk, closed_at__isnull=True).update(**update)
        details = {**_ids(incident), "closed": close}
        audit_record(actor=actor, action="incident.review", target=incident, details=details)
    incident.refresh_from_db()
    return incident


def incidents_flag_overdue(*, now: datetime | None = None) -> int:
    """The periodic review prompt: flag open entries nobody reviewed for INCIDENT_REVIEW_DAYS.
    One conditional UPDATE, so it is cheap at every tick and safe on two schedulers."""
    now = now or timezone.now()
    cutoff = now - timedelta(days=settings.INCIDENT_REVIEW_DAYS)
    with transaction.atomic():
        stale = Incident.objects.annotate(seen=Coalesce("last_reviewed_at", "created_at")).filter(
            closed_at__isnull=True, review_flagged_at__isnull=True, seen__lt=cutoff
        )
        flagged = Incident.objects.filter(pk__in=list(stale.values_list("pk", flat=True))).update(
            review_flagged_at=now
        )
        if flagged:
            audit_record(actor=SYSTEM, action="incident.review_due", details={"flagged": flagged})
    return flagged


def incidents_due_for_review() -> Any:
    return Incident.objects.filter(closed_at__isnull=True, review_flagged_at__isnull=False)


# --- Reporting deadlines (read) ------------------------------------------------------------


@dataclass(frozen=True)
class Deadline:
    key: str
    label: Promise
    due: date
    due_from: date | None
    done_on: date | None
    today: date

    @property
    def overdue(self) -> bool:
        return self.done_on is None and self.today > self.due


def incident_deadlines(incident: Incident, *, today: date | None = None) -> list[Deadline]:
    """For an incident, the two reports and when each is due, counted from the day it was
    found (Asia/Tokyo); a near-miss has none."""
    if incident.kind != Incident.Kind.INCIDENT:
        return []
    found = timezone.localtime(incident.found_at).date()
    today = today or timezone.localdate()
    final = FINAL_DAYS_MALICIOUS if incident.malicious else FINAL_DAYS
    return [
        Deadline(
            "prompt",
            _("Prompt report (速報) to the PPC"),
            found + timedelta(days=PROMPT_DAYS[1]),
            found + timedelta(days=PROMPT_DAYS[0]),
            incident.prompt_reported_on,
            today,
        ),
        Deadline(
            "final",
            _("Final report (確報) to the PPC"),
            found + timedelta(days=final),
            None,
            incident.final_reported_on,
            today,
        ),
    ]


def open_incidents() -> Any:
    return Incident.objects.filter(Q(closed_at__isnull=True))
