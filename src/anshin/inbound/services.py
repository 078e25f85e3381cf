"""What the inbound listener does with each mail it accepted.

`mail_receive` is the one entry point (the SMTP handler calls it in a worker thread): each
recipient address decides the path. Registration mail (空メール登録) is answered through
anshin.residents, bounces go to anshin.delivery.bounces, intake mail becomes a draft. Nothing
here logs, stores in audit details or raises with an address in it.
"""

from __future__ import annotations

import logging
from email.message import Message
from email.parser import BytesHeaderParser
from email.policy import compat32
from enum import StrEnum
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from anshin.alerts.models import Category
from anshin.core.addresses import InvalidAddress
from anshin.core.audit import SYSTEM, Actor, audit_record
from anshin.delivery import verp
from anshin.delivery.bounces import bounce_ingest
from anshin.inbound.models import IntakeDraft
from anshin.inbound.parsing import read_notice
from anshin.residents.services import subscription_request_by_mail

log = logging.getLogger(__name__)


class Route(StrEnum):
    REGISTER = "register"
    BOUNCE = "bounce"
    INTAKE = "intake"


class Reply(StrEnum):
    """What became of a mail to the registration address."""

    QUEUED = "queued"
    NULL_SENDER = "null_sender"  # a bounce or other MTA mail: never answered (RFC 3834)
    AUTOMATIC = "automatic"  # Auto-Submitted, an auto-responder's own markers
    LIST = "list"  # Precedence bulk/list/junk, List-Id, List-Unsubscribe
    OURS = "ours"  # from one of our own addresses: answering would loop
    INVALID = "invalid"  # a sender address no mail could be sent to
    BUDGET = "budget"  # this address had its replies for now (or is suppressed)


# --- Which address is it for? ---------------------------------------------------------------


def route_for(recipient: str) -> Route | None:
    """The path for an envelope recipient, or None: not an address of ours (refused)."""
    address = recipient.strip().strip("<>")
    if verp.parse_verp(address) is not None:
        return Route.BOUNCE
    local, at, domain = address.rpartition("@")
    if not at or domain.lower().rstrip(".") != settings.INBOUND_DOMAIN.lower().rstrip("."):
        return None
    local = local.lower()
    if local == settings.INBOUND_REGISTER_LOCAL.lower():
        return Route.REGISTER
    if local == settings.INBOUND_INTAKE_LOCAL.lower():
        return Route.INTAKE
    return None


def intake_sender_allowed(sender: str) -> bool:
    """True if ANSHIN_INBOUND_INTAKE_SENDERS names this address or its domain."""
    sender = sender.strip().strip("<>").lower()
    _, at, domain = sender.rpartition("@")
    if not at:
        return False
    for entry in settings.INBOUND_INTAKE_SENDERS:
        if entry.startswith("@"):
            if domain == entry[1:] or domain.endswith("." + entry[1:]):
                return True
        elif sender == entry:
            return True
    return False


# --- The one entry point --------------------------------------------------------------------


def mail_receive(*, sender: str, recipients: list[str], raw: bytes) -> dict[Route, Any]:
    """Handle one accepted mail once per path among its recipients; the outcome of each."""
    outcomes: dict[Route, Any] = {}
    for recipient in recipients:
        route = route_for(recipient)
        if route is None or route in outcomes:
            continue
        if route == Route.BOUNCE:
            outcomes[route] = bounce_ingest(raw=raw, envelope_recipients=[recipient]).outcome
        elif route == Route.REGISTER:
            outcomes[route] = registration_receive(sender=sender, raw=raw)
        else:
            outcomes[route] = intake_draft_create(raw=raw, forwarded_by=sender)
    log.info("Inbound mail: %s", {str(k): str(v) for k, v in outcomes.items()})
    return outcomes


# --- Empty-mail registration ----------------------------------------------------------------

_NO_REPLY_LOCALS = ("mailer-daemon", "postmaster", "nobody", "noreply", "no-reply")


def registration_receive(*, sender: str, raw: bytes) -> Reply:
    """Answer an empty mail with a registration link, unless answering could loop or be
    abused. The reply goes to the envelope sender (RFC 3834), bounded per address per day."""
    refusal = _refusal(sender, _headers(raw))
    if refusal is not None:
        return refusal
    try:
        queued = subscription_request_by_mail(raw_email=sender)
    except InvalidAddress:
        return Reply.INVALID
    return Reply.QUEUED if queued else Reply.BUDGET


def _headers(raw: bytes) -> Message:
    """Only the header block: a broken body cannot stop the loop checks."""
    return BytesHeaderParser(policy=compat32).parsebytes(raw[: 256 * 1024])


def _refusal(sender: str, headers: Message) -> Reply | None:
    sender = sender.strip().strip("<>")
    local = sender.lower().rpartition("@")[0]
    if not sender:
        return Reply.NULL_SENDER
    if local in _NO_REPLY_LOCALS or local.startswith("owner-") or local.endswith("-request"):
        return Reply.NULL_SENDER
    if sender.lower() in _our_addresses() or verp.looks_like_verp(sender):
        return Reply.OURS
    if _automatic(headers):
        return Reply.AUTOMATIC
    precedence = _values(headers, "Precedence")
    if precedence & {"bulk", "list", "junk"} or _values(headers, "List-Id", "List-Unsubscribe"):
        return Reply.LIST
    return None


def _automatic(headers: Message) -> bool:
    submitted = _values(headers, "Auto-Submitted")
    if submitted - {"no"}:
        return True
    # Microsoft's and older auto-responders' own markers.
    return bool(_values(headers, "X-Autoreply", "X-Autorespond", "X-Auto-Response-Suppress"))


def _values(headers: Message, *names: str) -> set[str]:
    """The lower-cased values of the headers (a value's parameters, after ';', dropped)."""
    return {
        str(value).split(";")[0].strip().lower()
        for name in names
        for value in headers.get_all(name) or []
    }


def _our_addresses() -> set[str]:
    """Addresses we send from or listen at: a mail 'from' them is a loop or a forgery."""
    domain = settings.INBOUND_DOMAIN
    locals_ = (settings.INBOUND_REGISTER_LOCAL, settings.INBOUND_INTAKE_LOCAL)
    return {settings.MAIL_FROM.lower()} | {f"{local}@{domain}".lower() for local in locals_}


# --- Intake drafts --------------------------------------------------------------------------


def intake_draft_create(*, raw: bytes, forwarded_by: str) -> IntakeDraft | None:
    """A draft for staff review from a forwarded notice (the listener accepted the sender).
    None if this very mail was already received (an MTA re-delivering it)."""
    notice = read_notice(raw)
    try:
        with transaction.atomic():
            draft = IntakeDraft.objects.create(
                subject=notice.subject,
                body=notice.body,
                source_from=notice.source_from,
                source_date=notice.source_date,
                source_sent_at=notice.source_sent_at,
                source_message_id=notice.source_message_id,
                forwarded_by=forwarded_by.strip().strip("<>")[:320],
                message_id=notice.message_id,
            )
            audit_record(actor=SYSTEM, action="intake.receive", target=draft)
    except IntegrityError:
        return None
    return draft


def intake_draft_use(*, draft: IntakeDraft, actor: Actor) -> dict[str, Any]:
    """Staff take a draft as the start of an alert: it is marked used, and the initial data
    of the compose form is returned. Nothing is sent: compose has its own preview and send.
    Raises IntakeDraft.DoesNotExist if the draft was discarded meanwhile."""
    with transaction.atomic():
        changed = (
            IntakeDraft.objects.filter(pk=draft.pk)
            .exclude(state=IntakeDraft.State.DISCARDED)
            .update(state=IntakeDraft.State.USED, decided_by=actor.user, decided_at=timezone.now())
        )
        if not changed:
            raise IntakeDraft.DoesNotExist("This draft was discarded.")
        audit_record(actor=actor, action="intake.use", target=draft)
    category = Category.objects.filter(slug="bouhan", active=True).first()
    return {"category": category, "subject": draft.subject, "body": draft.body}


def intake_draft_discard(*, draft: IntakeDraft, actor: Actor) -> bool:
    """Archive a draft nobody will send. True if this call discarded it."""
    with transaction.atomic():
        changed = IntakeDraft.objects.filter(pk=draft.pk, state=IntakeDraft.State.NEW).update(
            state=IntakeDraft.State.DISCARDED, decided_by=actor.user, decided_at=timezone.now()
        )
        if changed:
            audit_record(actor=actor, action="intake.discard", target=draft)
    return bool(changed)
