"""Call-out state changes: send (with the recipients snapshotted), reply, remind, export.

Each staff action takes ``actor=`` and writes its audit event in the same transaction; audit
details hold counts, ids and attribute values (a department is a post, not a person), never a
name, address or phone number. Mail and SMS rows are queued after commit, by id range.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

from django.conf import settings
from django.db import transaction
from django.db.models import Case, F, Max, QuerySet, Value, When
from django.utils import timezone
from django.utils.translation import gettext as _

from anshin.core.audit import RECIPIENT, Actor, audit_record
from anshin.directory import csvio
from anshin.directory.callouts import selection as sel
from anshin.directory.callouts import tokens
from anshin.directory.callouts.sending import queue_round
from anshin.directory.models import StaffMember
from anshin.directory.models_callout import (
    BODY_MAX,
    CHOICE_MAX,
    CHOICES_MAX,
    SUBJECT_MAX,
    Callout,
    CalloutRecipient,
    CalloutReminder,
    CalloutSend,
)

ROLLCALL_CHOICES: Final = ("参集可能", "参集不可", "30分以内に参集")
SAFETY_CHOICES: Final = ("無事", "負傷", "自宅被害")
DEADLINE_MAX: Final = timedelta(days=14)
REMINDER_MAX_MINUTES: Final = 24 * 60


class CalloutRefused(Exception):
    """The call-out cannot be sent as asked; ``messages`` say why (translated)."""

    def __init__(self, messages: list[str]) -> None:
        super().__init__("; ".join(messages))
        self.messages = messages


class ReplyRefused(Exception):
    """``code``: "closed" (past the deadline), "no_reply" (none asked), "bad_choice"."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


@dataclass(frozen=True)
class CalloutDraft:
    subject: str
    body: str
    selection: sel.Selection
    choices: tuple[str, ...] = ()
    send_email: bool = True
    send_sms: bool = False
    reply_deadline: datetime | None = None
    reminder_after_minutes: int | None = None


def draft_problems(draft: CalloutDraft, *, now: datetime) -> list[str]:
    """Everything wrong with a draft, for the compose page; the service checks it again."""
    problems = []
    if not draft.subject.strip() or len(draft.subject) > SUBJECT_MAX:
        problems.append(_("Write a subject of at most %(n)d characters.") % {"n": SUBJECT_MAX})
    if any(ord(c) < 32 or ord(c) == 127 for c in draft.subject):
        problems.append(_("The subject must be one line."))
    if not draft.body.strip() or len(draft.body) > BODY_MAX:
        problems.append(_("Write a message of at most %(n)d characters.") % {"n": BODY_MAX})
    if not (draft.send_email or draft.send_sms):
        problems.append(_("Choose at least one channel."))
    return problems + _choice_problems(draft, now)


def _choice_problems(draft: CalloutDraft, now: datetime) -> list[str]:
    choices = draft.choices
    problems = []
    if len(choices) > CHOICES_MAX:
        problems.append(_("Offer at most %(n)d reply choices.") % {"n": CHOICES_MAX})
    if any(not c or len(c) > CHOICE_MAX for c in choices) or len(set(choices)) != len(choices):
        problems.append(
            _("Each reply choice must be different and at most %(n)d characters.")
            % {"n": CHOICE_MAX}
        )
    if choices and draft.reply_deadline is None:
        problems.append(_("Set a reply deadline."))
    deadline = draft.reply_deadline
    if choices and deadline is not None and not now < deadline <= now + DEADLINE_MAX:
        problems.append(_("The reply deadline must be in the future, within 14 days."))
    minutes = draft.reminder_after_minutes
    if minutes is not None and (not choices or not 1 <= minutes <= REMINDER_MAX_MINUTES):
        problems.append(_("An automatic reminder needs reply choices and 1 to 1440 minutes."))
    return problems


def callout_send(*, draft: CalloutDraft, actor: Actor) -> Callout:
    """Snapshot the matching active staff as recipients, create their mail and SMS rows, and
    queue them after commit. Refused (nothing written) when the draft is invalid or matches
    nobody."""
    now = timezone.now()
    problems = draft_problems(draft, now=now)
    if problems:
        raise CalloutRefused(problems)
    selection = sel.selection_clean([[list(t) for t in g] for g in draft.selection])
    with transaction.atomic():
        callout = _create(draft, selection, actor, now)
        members = list(sel.matching_members(selection).values_list("pk", "department"))
        if not members:
            transaction.set_rollback(True)
            raise CalloutRefused([_("No active staff member matches the selection.")])
        _snapshot(callout, members)
        total = len(members)
        Callout.objects.filter(pk=callout.pk).update(total=total)
        callout.total = total
        _create_sends(callout, CalloutRecipient.objects.filter(callout=callout), 0)
        audit_record(actor=actor, action="callout.send", target=callout, details=_details(callout))
        transaction.on_commit(lambda: queue_round(callout_id=callout.pk, round=0))
    return callout


def _create(draft: CalloutDraft, selection: sel.Selection, actor: Actor, now: datetime) -> Callout:
    return Callout.objects.create(
        subject=draft.subject.strip(),
        body=draft.body,
        choices=list(draft.choices),
        selection=[[list(term) for term in group] for group in selection],
        send_email=draft.send_email,
        send_sms=draft.send_sms,
        reply_deadline=draft.reply_deadline if draft.choices else None,
        reminder_after_minutes=draft.reminder_after_minutes,
        sent_at=now,
        actor_kind=actor.kind,
        created_by=actor.user,
    )


def _snapshot(callout: Callout, members: list[tuple[int, str]]) -> None:
    rows = []
    for member_id, department in members:
        nonce = tokens.new_nonce()
        rows.append(
            CalloutRecipient(
                callout=callout,
                member_id=member_id,
                department=department,
                token_nonce=nonce,
                token_hash=tokens.token_hash(tokens.token_for(nonce)),
            )
        )
    CalloutRecipient.objects.bulk_create(rows, batch_size=1000)


def _create_sends(callout: Callout, recipients: QuerySet[CalloutRecipient], round: int) -> int:
    """One e-mail row per recipient, and one SMS row per recipient with a phone number."""
    now = timezone.now()
    rows = []
    with_phone = set(
        StaffMember.objects.filter(phone_ciphertext__isnull=False).values_list("pk", flat=True)
    )
    for pk, member_id in recipients.order_by("pk").values_list("pk", "member_id"):
        if callout.send_email:
            rows.append(_send_row(callout, pk, CalloutSend.Channel.EMAIL, round, now))
        if callout.send_sms and member_id in with_phone:
            rows.append(_send_row(callout, pk, CalloutSend.Channel.SMS, round, now))
    CalloutSend.objects.bulk_create(rows, batch_size=1000, ignore_conflicts=True)
    return len(rows)


def _send_row(
    callout: Callout, recipient_id: int, channel: str, round: int, now: datetime
) -> CalloutSend:
    return CalloutSend(
        callout=callout, recipient_id=recipient_id, channel=channel, round=round, enqueued_at=now
    )


def _details(callout: Callout) -> dict[str, object]:
    return {
        "recipients": callout.total,
        "selection": callout.selection,
        "email": callout.send_email,
        "sms": callout.send_sms,
        "choices": len(callout.choices),
        "reminder_after_minutes": callout.reminder_after_minutes,
    }


# --- replies ---------------------------------------------------------------------------------


def recipient_for_token(token: str) -> CalloutRecipient | None:
    """The recipient a reply link names, or None (also for anything not shaped like a token,
    which never reaches the database)."""
    if not tokens.well_formed(token):
        return None
    return (
        CalloutRecipient.objects.select_related("callout")
        .filter(token_hash=tokens.token_hash(token))
        .first()
    )


def replies_open(callout: Callout, *, now: datetime | None = None) -> bool:
    deadline = callout.reply_deadline
    return callout.asks_reply and deadline is not None and (now or timezone.now()) < deadline


def callout_reply(*, recipient: CalloutRecipient, choice: str) -> CalloutRecipient:
    """Record (or change) a recipient's answer. ``choice`` is the posted index, untrusted."""
    callout = recipient.callout
    if not callout.asks_reply:
        raise ReplyRefused("no_reply")
    if not replies_open(callout):
        raise ReplyRefused("closed")
    if not (len(choice) <= 3 and choice.isascii() and choice.isdigit()):
        raise ReplyRefused("bad_choice")
    if int(choice) >= len(callout.choices):
        raise ReplyRefused("bad_choice")
    index = int(choice)
    with transaction.atomic():
        CalloutRecipient.objects.filter(pk=recipient.pk).update(
            choice=index,
            replied_at=timezone.now(),
            reply_changes=Case(
                When(choice__isnull=True, then=F("reply_changes")),
                When(choice=index, then=F("reply_changes")),
                default=F("reply_changes") + Value(1),
            ),
        )
        # Which answer is not recorded here: a safety answer (負傷) is personal data, and
        # stays in the reply row, which the retention rules govern.
        audit_record(
            actor=RECIPIENT,
            action="callout.reply",
            target=recipient,
            details={"callout": callout.pk},
        )
    recipient.refresh_from_db()
    return recipient


# --- reminders -------------------------------------------------------------------------------


def callout_remind(
    *, callout: Callout, actor: Actor, automatic: bool = False
) -> CalloutReminder | None:
    """A new round to the recipients who have not answered (None when there is nobody to
    remind, the replies are closed, or the automatic reminder was already sent). The
    call-out row is locked, so two clicks make two rounds one after the other, never one
    round twice; each round's rows are unique per recipient and channel."""
    with transaction.atomic():
        locked = Callout.objects.select_for_update().get(pk=callout.pk)
        if not replies_open(locked):
            return None
        if automatic and locked.reminders.filter(automatic=True).exists():
            return None
        waiting = CalloutRecipient.objects.filter(callout=locked, choice__isnull=True)
        count = waiting.count()
        if not count and not automatic:
            return None
        number = (locked.reminders.aggregate(n=Max("number"))["n"] or 0) + 1
        reminder = CalloutReminder.objects.create(
            callout=locked,
            number=number,
            automatic=automatic,
            at=timezone.now(),
            recipients=count,
            actor_kind=actor.kind,
            actor_user=actor.user,
        )
        _create_sends(locked, waiting, number)
        audit_record(
            actor=actor,
            action="callout.remind",
            target=locked,
            details={"round": number, "recipients": count, "automatic": automatic},
        )
        transaction.on_commit(lambda: queue_round(callout_id=locked.pk, round=number))
    return reminder


def callout_auto_remind() -> dict[str, int]:
    """The automatic reminders that are due (a periodic job)."""
    from anshin.core.audit import SYSTEM

    now = timezone.now()
    candidates = Callout.objects.filter(
        reminder_after_minutes__isnull=False, reply_deadline__gt=now
    ).exclude(reminders__automatic=True)
    sent = 0
    for callout in candidates:
        assert callout.reminder_after_minutes is not None
        if callout.sent_at + timedelta(minutes=callout.reminder_after_minutes) <= now:
            sent += callout_remind(callout=callout, actor=SYSTEM, automatic=True) is not None
    return {"reminders": sent}


# --- export ----------------------------------------------------------------------------------


def callout_export(*, callout: Callout, actor: Actor, encoding: str) -> bytes:
    """The result as CSV (formula cells neutralised); raises csvio.Unencodable for CP932."""
    from anshin.directory.callouts.selectors import result_rows

    header = ["職員番号", "氏名", "所属（送信時）", "回答", "回答日時", "メール", "SMS"]
    rows = [header, *result_rows(callout)]
    data = csvio.write_csv(rows, encoding=encoding)
    with transaction.atomic():
        audit_record(
            actor=actor,
            action="callout.export",
            target=callout,
            details={"rows": len(rows) - 1, "encoding": encoding},
        )
    return data


def board_viewed(*, callout: Callout, actor: Actor) -> None:
    """Names are on the board: who looked, and when, is on the record."""
    audit_record(actor=actor, action="callout.board_view", target=callout)


def default_deadline() -> datetime:
    return timezone.now() + timedelta(seconds=settings.CALLOUT_DEFAULT_DEADLINE_SECONDS)
