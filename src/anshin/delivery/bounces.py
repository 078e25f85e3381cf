"""Bounce and complaint intake, and the suppression list it feeds.

`bounce_ingest` is the one service: the inbound SMTP listener and `anshin bounces import`
both hand it a raw mail. It trusts nothing in that mail except an HMAC-checked VERP token
(see `verp.py`), which names the Message or Notification row the bounce is about; the address
hash to suppress comes from that row, so no address is ever read out of a bounce, decrypted
or stored.

How a bounce is read, most reliable first:
1. ARF (RFC 5965, `multipart/report; report-type=feedback-report`): a complaint, suppressed
   at once (except `Feedback-Type: not-spam`).
2. RFC 3464 DSN (`message/delivery-status`), read with the stdlib: the `Action:` and
   `Status:` of each recipient block. `failed` counts; `delayed` is only a warning and is
   ignored (the relay is still trying); `delivered`/`relayed`/`expanded` are no bounce.
3. Anything else goes to `flufl.bounce`, which knows the non-standard formats (qmail, Exim
   text, Exchange, …) but reports only addresses. Only its "permanent" findings count (its
   "temporary" ones are delay warnings). Such a bounce is hard when its text carries a 5.1.x
   code, or carries no code but plainly says the mailbox does not exist ("User unknown",
   "no such user", …); otherwise it is soft. A heuristic misreading can therefore suppress
   an address only after the soft-bounce limit, never at once.

Status 5.1.x (bad mailbox, bad domain, bad address syntax) is a hard bounce and suppresses at
once. Every other failure — full mailbox (x.2.2), policy or spam refusal (5.7.x, common at
the Japanese carriers, whose residents must not be cut off for one refusal) — is soft, and
suppresses when SOFT_BOUNCE_LIMIT of them arrive within SOFT_BOUNCE_DAYS.

Hostile or useless input (too large, not MIME, not a bounce, no or a forged token, a row
that does not exist, a bounce we already have) returns a result saying so, records nothing
and never raises. Database errors do raise, so that the listener can answer 4xx and the
sending MTA tries again later.
"""

from __future__ import annotations

import email
import itertools
import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from email.message import Message as MimeMessage
from email.parser import HeaderParser
from email.policy import compat32
from email.utils import getaddresses
from enum import StrEnum

from django.conf import settings
from django.db import IntegrityError, models, transaction
from django.db.models import OuterRef, Subquery
from django.utils import timezone
from flufl.bounce import all_failures

from anshin.core import crypto
from anshin.core.addresses import normalize_address
from anshin.core.audit import SYSTEM, Actor, audit_record
from anshin.delivery import verp
from anshin.delivery.models import Bounce, Message, Notification, Suppression
from anshin.residents.models import Subscriber

log = logging.getLogger(__name__)

_MAX_PARTS = 100  # MIME parts looked at; a real bounce has 2–4
_MAX_TEXT = 64 * 1024  # characters of notice text searched for codes and phrases
_MAX_CANDIDATES = 50  # VERP-shaped strings tried before giving up
_VERP_HEADERS = ("To", "X-Original-To", "Delivered-To", "Envelope-To", "X-Envelope-To")
_VERP_IN_TEXT = re.compile(rb"bounce\+[a-z0-9-]{1,40}@[a-z0-9.-]{1,253}", re.IGNORECASE)
_ENHANCED = re.compile(r"(?<![\d.])([245])\.(\d{1,3})\.(\d{1,3})(?![\d.])")
_BASIC = re.compile(r"(?<![\d.])([45])\d\d(?![\d.])")
_NO_MAILBOX = re.compile(
    r"user unknown|unknown user|no such (?:user|mailbox|recipient|address)|"
    r"mailbox (?:not found|unavailable|does not exist)|does not exist|no mailbox here|"
    r"invalid (?:recipient|mailbox)|存在しません|存在しない",
    re.IGNORECASE,
)
_EMAILISH = re.compile(r"\S+@\S+")


class Outcome(StrEnum):
    HARD = "hard"
    SOFT = "soft"
    COMPLAINT = "complaint"
    DUPLICATE = "duplicate"  # this mail's bounce was already recorded
    DELAYED = "delayed"  # a delay warning: the relay is still trying
    NOT_A_BOUNCE = "not_a_bounce"  # an auto-reply, a success DSN, a stray mail
    NO_VERP = "no_verp"  # no VERP address of ours anywhere
    FORGED_TOKEN = "forged_token"  # noqa: S105 — VERP-shaped, but the MAC does not verify
    UNKNOWN_MESSAGE = "unknown_message"  # a valid token for a row that no longer exists
    STAFF_MAIL = "staff_mail"  # about a staff call-out mail: the directory is kept by import
    UNPARSEABLE = "unparseable"
    TOO_LARGE = "too_large"


@dataclass(frozen=True)
class BounceResult:
    outcome: Outcome
    status: str = ""
    bounce_id: int | None = None
    suppressed: bool = False  # this bounce put the address on the suppression list

    @property
    def recorded(self) -> bool:
        return self.bounce_id is not None


@dataclass(frozen=True)
class _Verdict:
    outcome: Outcome  # HARD, SOFT or COMPLAINT when there is something to record
    status: str = ""


@dataclass(frozen=True)
class _Source:
    address_hash: str
    message_id: int | None = None
    notification_id: int | None = None


_KIND = {
    Outcome.HARD: Bounce.Kind.HARD,
    Outcome.SOFT: Bounce.Kind.SOFT,
    Outcome.COMPLAINT: Bounce.Kind.COMPLAINT,
}


# --- The service ----------------------------------------------------------------------------


def bounce_ingest(
    *, raw: bytes, envelope_recipients: list[str] | None = None, actor: Actor = SYSTEM
) -> BounceResult:
    """Read one bounce or complaint, record it against the mail it is about, and suppress
    the address when that is due. `actor` is SYSTEM for the listener, OPERATOR for the CLI."""
    if len(raw) > max_bounce_bytes():
        return _result(BounceResult(Outcome.TOO_LARGE))
    try:
        mime = email.message_from_bytes(raw, policy=compat32)
        found = _identify(mime, raw, envelope_recipients or [])
        if isinstance(found, Outcome):
            return _result(BounceResult(found))
        verdict = _classify(mime)
    except Exception:  # hostile MIME (any parser or detector error) must never raise
        return _result(BounceResult(Outcome.UNPARSEABLE))
    if verdict.outcome not in _KIND:
        return _result(BounceResult(verdict.outcome))
    if found[0] == "c":
        # Staff addresses are not residents': nothing to suppress (a staff call-out must reach
        # everyone it can); the relay's answer is on the call-out's board already.
        return _result(BounceResult(Outcome.STAFF_MAIL))
    source = _load_source(*found)
    if source is None:
        return _result(BounceResult(Outcome.UNKNOWN_MESSAGE))
    return _result(_record(source, verdict, actor))


def _result(result: BounceResult) -> BounceResult:
    log.info("Bounce intake: %s %s", result.outcome.value, result.status)
    return result


def max_bounce_bytes() -> int:
    """Mails larger than this are refused unread: no bounce is that big, a mail bomb is."""
    return int(getattr(settings, "BOUNCE_MAX_BYTES", 5 * 1024 * 1024))


# --- Which mail is it about? ------------------------------------------------------------------


def _identify(mime: MimeMessage, raw: bytes, envelope: list[str]) -> tuple[str, int] | Outcome:
    """The (kind, id) of the first VERP address whose MAC verifies: the envelope recipient
    first, then the bounce's own headers, then anywhere in the mail (the returned headers'
    Return-Path, an ARF report's original message)."""
    forged = False
    for candidate in itertools.islice(_candidates(mime, raw, envelope), _MAX_CANDIDATES):
        parsed = verp.parse_verp(candidate)
        if parsed is not None:
            return parsed
        forged = forged or verp.looks_like_verp(candidate)
    return Outcome.FORGED_TOKEN if forged else Outcome.NO_VERP


def _candidates(mime: MimeMessage, raw: bytes, envelope: list[str]) -> Iterator[str]:
    yield from envelope
    for name in _VERP_HEADERS:
        values = [str(value) for value in mime.get_all(name) or []]
        yield from (address for _, address in getaddresses(values) if address)
    for match in _VERP_IN_TEXT.finditer(raw):
        yield match.group().decode("ascii")


def _load_source(kind: str, pk: int) -> _Source | None:
    model: type[Message] | type[Notification] = Message if kind == "m" else Notification
    address_hash = (
        model._default_manager.filter(pk=pk)
        .values_list("subscriber__email_hash", flat=True)
        .first()
    )
    if address_hash is None:
        return None
    if kind == "m":
        return _Source(address_hash=address_hash, message_id=pk)
    return _Source(address_hash=address_hash, notification_id=pk)


# --- What does it say? --------------------------------------------------------------------------


def _classify(mime: MimeMessage) -> _Verdict:
    parts = list(itertools.islice(_parts(mime), _MAX_PARTS))
    if _is_feedback_report(mime, parts):
        return _read_feedback(parts)
    dsn = _read_dsn(parts)
    return dsn if dsn is not None else _read_nonstandard(mime, parts)


def _parts(mime: MimeMessage) -> Iterator[MimeMessage]:
    """The parts of the bounce itself, depth first, without recursion and without entering a
    returned message (whose own parts say nothing about this bounce)."""
    stack = [mime]
    while stack:
        part = stack.pop()
        yield part
        if part.get_content_maintype() == "multipart" and part.is_multipart():
            stack.extend(reversed([p for p in part.get_payload() if isinstance(p, MimeMessage)]))


def _is_feedback_report(mime: MimeMessage, parts: list[MimeMessage]) -> bool:
    report_type = str(mime.get_param("report-type", "") or "").lower()
    return report_type == "feedback-report" or any(
        p.get_content_type() == "message/feedback-report" for p in parts
    )


def _read_feedback(parts: list[MimeMessage]) -> _Verdict:
    for part in parts:
        if part.get_content_type() == "message/feedback-report":
            fields = _field_blocks(part)
            kind = str(fields[0].get("Feedback-Type", "")).strip().lower() if fields else ""
            if kind == "not-spam":
                return _Verdict(Outcome.NOT_A_BOUNCE)
    return _Verdict(Outcome.COMPLAINT)


def _read_dsn(parts: list[MimeMessage]) -> _Verdict | None:
    """The verdict of the RFC 3464 recipient blocks, or None if there are none."""
    actions = [
        (str(block.get("Action", "")).strip().lower(), _status(block))
        for part in parts
        if part.get_content_type() == "message/delivery-status"
        for block in _field_blocks(part)
        if block.get("Action") is not None
    ]
    if not actions:
        return None
    failures = [status for action, status in actions if action == "failed"]
    if failures:
        # One VERP address is one recipient; if an alias fanned out, the worst result counts.
        status = next((s for s in failures if s.startswith("5.1.")), failures[0])
        return _Verdict(_kind_for(status), status)
    if any(action == "delayed" for action, _ in actions):
        return _Verdict(Outcome.DELAYED)
    return _Verdict(Outcome.NOT_A_BOUNCE)


def _field_blocks(part: MimeMessage) -> list[MimeMessage]:
    """The header blocks of a delivery-status or feedback-report part. The stdlib parses
    them into sub-messages; an encoded part (base64 happens) is split by hand."""
    payload = part.get_payload()
    if isinstance(payload, list):
        return [block for block in payload if isinstance(block, MimeMessage)]
    text = _decode(part)
    return [HeaderParser().parsestr(chunk) for chunk in re.split(r"\r?\n\s*\r?\n", text)]


def _status(block: MimeMessage) -> str:
    """The RFC 3463 code of one recipient block: `Status:`, else the one in `Diagnostic-Code:`,
    else the class of its SMTP reply code ("550 …" → "5.0.0")."""
    status = _enhanced_code(str(block.get("Status", "")))
    if status:
        return status
    diagnostic = str(block.get("Diagnostic-Code", ""))[:1000]
    basic = _BASIC.search(diagnostic)
    return _enhanced_code(diagnostic) or (f"{basic.group(1)}.0.0" if basic else "")


def _enhanced_code(text: str) -> str:
    match = _ENHANCED.search(text)
    return ".".join(match.groups()) if match else ""


def _kind_for(status: str) -> Outcome:
    return Outcome.HARD if status.startswith("5.1.") else Outcome.SOFT


def _read_nonstandard(mime: MimeMessage, parts: list[MimeMessage]) -> _Verdict:
    temporary, permanent = all_failures(mime)
    if not permanent:
        return _Verdict(Outcome.DELAYED if temporary else Outcome.NOT_A_BOUNCE)
    text = "\n".join(_decode(p) for p in parts if p.get_content_maintype() == "text")[:_MAX_TEXT]
    status = _enhanced_code(text)
    if status:
        return _Verdict(_kind_for(status), status)
    return _Verdict(Outcome.HARD if _NO_MAILBOX.search(text) else Outcome.SOFT)


def _decode(part: MimeMessage) -> str:
    data = part.get_payload(decode=True)
    if not isinstance(data, bytes):
        return ""
    try:
        return data[: _MAX_TEXT * 4].decode(part.get_content_charset() or "ascii", "replace")
    except LookupError:  # an unknown charset name
        return data[: _MAX_TEXT * 4].decode("latin-1")


# --- Recording and suppressing ------------------------------------------------------------------


def _record(source: _Source, verdict: _Verdict, actor: Actor) -> BounceResult:
    """Record the bounce (once per mail), then decide on suppression in a second, short
    transaction: it counts only committed bounces, so of two soft bounces arriving at the same
    moment at least the later one sees both."""
    try:
        with transaction.atomic():
            bounce: Bounce | None = Bounce.objects.create(
                address_hash=source.address_hash,
                kind=_KIND[verdict.outcome],
                status=verdict.status,
                received_at=timezone.now(),
                message_id=source.message_id,
                notification_id=source.notification_id,
            )
    except IntegrityError:
        bounce = None
    # Also on a duplicate: a crash between the two transactions must not lose a suppression.
    suppressed = _suppress_if_due(address_hash=source.address_hash, actor=actor)
    if bounce is None:
        return BounceResult(Outcome.DUPLICATE, verdict.status, suppressed=suppressed)
    return BounceResult(verdict.outcome, verdict.status, bounce.pk, suppressed)


def _suppress_if_due(*, address_hash: str, actor: Actor) -> bool:
    """Suppress the address if its recorded bounces call for it; True if this call did."""
    with transaction.atomic():
        cause = _cause(address_hash)
        if cause is None:
            return False
        reason, bounce, detail = cause
        suppression, created = Suppression.objects.get_or_create(
            address_hash=address_hash,
            defaults={
                "reason": reason,
                "detail": detail,
                "message_id": bounce.message_id,
                "notification_id": bounce.notification_id,
            },
        )
        if created:
            audit_record(
                actor=actor,
                action="suppression.add",
                target=suppression,
                details={"reason": reason, "status": bounce.status},
            )
        return created


def _cause(address_hash: str) -> tuple[str, Bounce, str] | None:
    """(reason, the bounce that tipped it, detail) if the address should be suppressed."""
    bounces = Bounce.objects.filter(address_hash=address_hash).order_by("-received_at", "-pk")
    final = bounces.filter(kind__in=[Bounce.Kind.HARD, Bounce.Kind.COMPLAINT]).first()
    if final is not None:
        if final.kind == Bounce.Kind.COMPLAINT:
            return Suppression.Reason.COMPLAINT, final, "complaint"
        return Suppression.Reason.HARD_BOUNCE, final, final.status or "no status code"
    limit = int(getattr(settings, "SOFT_BOUNCE_LIMIT", 3))
    days = int(getattr(settings, "SOFT_BOUNCE_DAYS", 14))
    since = timezone.now() - timedelta(days=days)
    recent = list(bounces.filter(kind=Bounce.Kind.SOFT, received_at__gte=since)[: max(limit, 1)])
    if len(recent) < max(limit, 1):
        return None
    detail = f"{recent[0].status or 'no status code'}; {len(recent)} soft bounces in {days} days"
    return Suppression.Reason.SOFT_BOUNCES, recent[0], detail


# --- Staff actions ------------------------------------------------------------------------------


def suppression_add_manual(*, address: str, actor: Actor, reason_text: str = "") -> Suppression:
    """Put an address on the suppression list by hand (e.g. a resident asked by phone).
    Raises InvalidAddress (whose message never contains the address) for a bad address.
    Anything address-like in `reason_text` is blanked out before it is stored."""
    address_hash = crypto.lookup_hash(normalize_address(address))
    with transaction.atomic():
        suppression, created = Suppression.objects.get_or_create(
            address_hash=address_hash,
            defaults={
                "reason": Suppression.Reason.MANUAL,
                "detail": _EMAILISH.sub("[…]", reason_text)[:200],
            },
        )
        if created:
            audit_record(
                actor=actor,
                action="suppression.add",
                target=suppression,
                details={"reason": Suppression.Reason.MANUAL.value, "status": ""},
            )
    return suppression


def suppression_remove(*, suppression: Suppression, actor: Actor) -> None:
    """Take an address off the list. Its recorded bounces go too, so that the count starts
    afresh: otherwise the next soft bounce (or a re-imported old one) would put it straight
    back. The audit event keeps the evidence of what was removed and why it had been added."""
    with transaction.atomic():
        audit_record(
            actor=actor,
            action="suppression.remove",
            target=suppression,
            details={"reason": suppression.reason},
        )
        Bounce.objects.filter(address_hash=suppression.address_hash).delete()
        Suppression.objects.filter(pk=suppression.pk).delete()


# --- Selectors ----------------------------------------------------------------------------------


def suppressed_hashes() -> models.QuerySet[Suppression, str]:
    """The address hashes on the list, as a lazy query (usable as a subquery)."""
    return Suppression.objects.values_list("address_hash", flat=True)


def is_suppressed(address_hash: str) -> bool:
    return Suppression.objects.filter(address_hash=address_hash).exists()


def suppression_list(*, limit: int = 200) -> list[Suppression]:
    """The newest suppressions for the staff page, each with `subscriber_id` (None when the
    address is not or no longer subscribed), so staff can open the masked subscriber."""
    subscriber = Subscriber.objects.filter(email_hash=OuterRef("address_hash")).values("pk")[:1]
    return list(
        Suppression.objects.annotate(subscriber_id=Subquery(subscriber)).order_by(
            "-created_at", "-pk"
        )[:limit]
    )
