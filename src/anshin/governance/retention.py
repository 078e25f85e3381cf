"""What each kind of retained data is, and how its expired rows are found and removed.

Every removal runs in batches of RETENTION_BATCH rows, each in its own short transaction
(SQLite has one writer), and is counted on the run's certificate in that same transaction.
Rows are re-selected under lock in each batch, so a row that changed meanwhile (a pending
resident who confirmed, a mail being sent) is left alone. Nothing another kept row points to
with PROTECT is deleted: the querysets exclude such rows.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django.conf import settings
from django.db import models, transaction
from django.db.models import Exists, F, Max, Min, OuterRef
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from anshin.core.audit import SYSTEM, audit_record
from anshin.core.models import AuditEvent
from anshin.delivery.models import Bounce, Message, Notification, SendState
from anshin.directory.models_callout import Callout, CalloutRecipient, CalloutSend
from anshin.governance.models import Certificate
from anshin.inbound.models import IntakeDraft
from anshin.residents.models import MailBudget, RequestThrottle, Subscriber

IN_FLIGHT = [SendState.QUEUED, SendState.SENDING]
SINCE = "retained_since"  # every part annotates the time its rows' period runs from


@dataclass(frozen=True)
class Part:
    """One table's share of a kind: which rows have expired, and what is done to them."""

    name: str
    rows: Callable[[datetime], models.QuerySet[Any]]
    apply: Callable[[models.QuerySet[Any]], int]


@dataclass(frozen=True)
class Kind:
    slug: str
    label: Promise
    reduces: bool  # True: the address is erased and its keyed hash kept; False: deleted
    parts: tuple[Part, ...]

    @property
    def setting(self) -> str:
        return f"ANSHIN_RETENTION_{self.slug.upper()}_DAYS"

    def days(self) -> int:
        return max(1, int(settings.RETENTION_DAYS[self.slug]))

    def cutoff(self, now: datetime) -> datetime:
        return now - timedelta(days=self.days())


# --- Residents ------------------------------------------------------------------------------


def _no_mail_in_flight() -> Any:
    busy = {"subscriber": OuterRef("pk"), "state__in": IN_FLIGHT}
    return ~Exists(Message.objects.filter(**busy)) & ~Exists(Notification.objects.filter(**busy))


def _lapsed_pending(cutoff: datetime) -> models.QuerySet[Subscriber]:
    """Pending with no confirmation mail asked for since the cutoff."""
    recent = Notification.objects.filter(subscriber=OuterRef("pk"), created_at__gte=cutoff)
    return (
        Subscriber.objects.filter(state=Subscriber.State.PENDING)
        .annotate(**{SINCE: F("created_at")})
        .filter(_no_mail_in_flight(), ~Exists(recent), **{f"{SINCE}__lt": cutoff})
    )


def _never_confirmed(cutoff: datetime) -> models.QuerySet[Subscriber]:
    alerted = Message.objects.filter(subscriber=OuterRef("pk"))
    return _lapsed_pending(cutoff).filter(~Exists(alerted), confirmed_at__isnull=True)


def _delete_registrations(rows: models.QuerySet[Subscriber]) -> int:
    """A registration never confirmed goes entirely, with the confirmation mails sent to it."""
    ids = list(rows.values_list("pk", flat=True))
    Notification.objects.filter(subscriber_id__in=ids).delete()
    return Subscriber.objects.filter(pk__in=ids).delete()[1].get("residents.Subscriber", 0)


def _reduce(rows: models.QuerySet[Subscriber]) -> int:
    """Erase the address, keep the keyed hash: the row stays and keeps the address from being
    signed up again by an import, but nothing can decrypt it. Its state becomes
    unsubscribed, so no path (resume, confirm, fan-out) can select it for mail again."""
    ids = list(rows.values_list("pk", flat=True))
    Subscriber.categories.through.objects.filter(subscriber_id__in=ids).delete()
    return Subscriber.objects.filter(pk__in=ids).update(
        email_ciphertext=b"", state=Subscriber.State.UNSUBSCRIBED, confirm_nonce=""
    )


def _in_state(state: str, since: Any) -> Callable[[datetime], models.QuerySet[Subscriber]]:
    def rows(cutoff: datetime) -> models.QuerySet[Subscriber]:
        return (
            Subscriber.objects.filter(state=state)
            .exclude(email_ciphertext=b"")
            .annotate(**{SINCE: since})
            .filter(_no_mail_in_flight(), **{f"{SINCE}__lt": cutoff})
        )

    return rows


# --- Delivery records and throttles ---------------------------------------------------------


def _finished(model: type[models.Model], since: Any) -> Callable[[datetime], Any]:
    def rows(cutoff: datetime) -> Any:
        qs = model._default_manager.annotate(**{SINCE: since})
        if model is not Bounce:
            qs = qs.exclude(state__in=IN_FLIGHT)
        return qs.filter(**{f"{SINCE}__lt": cutoff})

    return rows


def _older(model: type[models.Model], field: str) -> Callable[[datetime], Any]:
    def rows(cutoff: datetime) -> Any:
        return model._default_manager.annotate(**{SINCE: F(field)}).filter(
            **{f"{SINCE}__lt": cutoff}
        )

    return rows


def _delete(rows: models.QuerySet[Any]) -> int:
    label = rows.model._meta.label
    ids = list(rows.values_list("pk", flat=True))
    return rows.model._default_manager.filter(pk__in=ids).delete()[1].get(label, 0)


# --- Staff sign-in records (django-axes) ------------------------------------------------------


def _failed_attempts(cutoff: datetime) -> models.QuerySet[AccessAttempt]:
    """Wrong-password records (username, address, browser): never one still counting
    towards a lockout, whatever the two periods are set to."""
    cooloff = settings.AXES_COOLOFF_TIME
    if isinstance(cooloff, timedelta):
        cutoff = min(cutoff, timezone.now() - cooloff)
    return _older(AccessAttempt, "attempt_time")(cutoff)


# --- Replies to staff call-outs ---------------------------------------------------------------


def _closed_replies(cutoff: datetime) -> models.QuerySet[CalloutRecipient]:
    """Recipients (who was asked, their answer, their mail and SMS records) of call-outs whose
    replies closed before the cutoff: at the reply deadline, or when sent if none was set."""
    busy = CalloutSend.objects.filter(recipient=OuterRef("pk"), state__in=IN_FLIGHT)
    return CalloutRecipient.objects.annotate(
        **{SINCE: Coalesce("callout__reply_deadline", "callout__sent_at")}
    ).filter(~Exists(busy), **{f"{SINCE}__lt": cutoff})


def _delete_replies(rows: models.QuerySet[CalloutRecipient]) -> int:
    """Delete the reply records (their sends go with them), leaving in the audit log what
    the board counted — answers per choice, per call-out, ids and counts only — so that the
    outcome of a roll-call can still be told after the people in it are gone. A call-out
    split over two batches gets two entries: add them up."""
    tallies: dict[int, Counter[str]] = {}
    for callout_id, choice in rows.values_list("callout_id", "choice"):
        tallies.setdefault(callout_id, Counter())["none" if choice is None else str(choice)] += 1
    for callout in Callout.objects.filter(pk__in=tallies).order_by("pk"):
        counts = tallies[callout.pk]
        details = {"recipients": sum(counts.values()), "answers": dict(sorted(counts.items()))}
        audit_record(actor=SYSTEM, action="callout.replies_erased", target=callout, details=details)
    return _delete(rows)


KINDS: tuple[Kind, ...] = (
    Kind(
        "pending",
        _("Registrations that were never confirmed"),
        reduces=False,
        parts=(
            Part("registrations", _never_confirmed, _delete_registrations),
            Part("addresses", _lapsed_pending, _reduce),
        ),
    ),
    Kind(
        "unsubscribed",
        _("Addresses of residents who unsubscribed"),
        reduces=True,
        parts=(
            Part(
                "addresses",
                _in_state(Subscriber.State.UNSUBSCRIBED, Coalesce("unsubscribed_at", "created_at")),
                _reduce,
            ),
        ),
    ),
    Kind(
        "suspended",
        _("Addresses paused by the yearly receipt check"),
        reduces=True,
        parts=(
            Part(
                "addresses",
                _in_state(Subscriber.State.SUSPENDED, Coalesce("suspended_at", "created_at")),
                _reduce,
            ),
        ),
    ),
    Kind(
        "delivery",
        _("Delivery records (alert mails, notices to residents, bounces)"),
        reduces=False,
        parts=(
            Part(
                "messages",
                _finished(Message, Coalesce("finished_at", "delivery__created_at")),
                _delete,
            ),
            Part("notifications", _finished(Notification, F("created_at")), _delete),
            Part("bounces", _finished(Bounce, F("received_at")), _delete),
        ),
    ),
    Kind(
        "throttle",
        _("Sending-limit counters (keyed codes of addresses and clients)"),
        reduces=False,
        parts=(
            Part("mail_budgets", _older(MailBudget, "last_sent_at"), _delete),
            Part("request_throttles", _older(RequestThrottle, "window_start"), _delete),
        ),
    ),
    Kind(
        "intake",
        _("Forwarded notices received for review (intake drafts)"),
        reduces=False,
        parts=(Part("drafts", _older(IntakeDraft, "received_at"), _delete),),
    ),
    Kind(
        "logins",
        _("Staff sign-in records (wrong passwords and lockouts)"),
        reduces=False,
        parts=(
            Part("attempts", _failed_attempts, _delete),
            Part("sign_ins", _older(AccessLog, "attempt_time"), _delete),
            Part("failures", _older(AccessFailureLog, "attempt_time"), _delete),
        ),
    ),
    Kind(
        "replies",
        _("Replies of staff to call-outs (who was asked and their answers)"),
        reduces=False,
        parts=(Part("recipients", _closed_replies, _delete_replies),),
    ),
)
AUDIT = Kind("audit", _("Audit log entries"), reduces=False, parts=())
ALL_KINDS = (*KINDS, AUDIT)


def kind_named(slug: str) -> Kind:
    return next(k for k in ALL_KINDS if k.slug == slug)


def part_count(part: Part, cutoff: datetime) -> int:
    return int(part.rows(cutoff).count())


def part_drain(part: Part, cutoff: datetime, certificate: Certificate) -> int:
    """Remove the part's expired rows batch by batch; return how many."""
    total = 0
    while done := _batch(part.name, part.rows(cutoff), part.apply, certificate):
        total += done
    return total


def _batch(
    name: str,
    rows: models.QuerySet[Any],
    apply: Callable[[models.QuerySet[Any]], int],
    certificate: Certificate,
) -> int:
    with transaction.atomic():
        locked = rows.select_for_update(of=("self",)).order_by("pk")
        ids = list(locked.values_list("pk", flat=True)[: settings.RETENTION_BATCH])
        if not ids:
            return 0
        chosen = rows.filter(pk__in=ids)
        span = chosen.aggregate(lo=Min(SINCE), hi=Max(SINCE))
        done = apply(chosen)
        _tally(certificate, name, done, span["lo"], span["hi"])
    return done


def _tally(certificate: Certificate, name: str, done: int, lo: Any, hi: Any) -> None:
    """Count on the certificate in the deleting transaction: a crash loses no count."""
    row = Certificate.objects.select_for_update().get(pk=certificate.pk)
    row.count += done
    row.breakdown[name] = row.breakdown.get(name, 0) + done
    row.records_from = min(t for t in (row.records_from, lo) if t is not None)
    row.records_to = max(t for t in (row.records_to, hi) if t is not None)
    row.save(update_fields=["count", "breakdown", "records_from", "records_to"])


def audit_rows(through: int) -> models.QuerySet[AuditEvent]:
    return AuditEvent.objects.annotate(**{SINCE: F("at")}).filter(seq__lte=through)


def audit_expired(cutoff: datetime, after: int) -> models.QuerySet[AuditEvent]:
    return AuditEvent.objects.filter(at__lt=cutoff, seq__gt=after)


def audit_drain(through: int, certificate: Certificate) -> int:
    total = 0
    while done := _batch("entries", audit_rows(through), _delete, certificate):
        total += done
    return total
