"""The disclosure ledger (外部提供, P3): request → approval by another person → encrypted
file → record of the handover. Each step is one service, checks the actor's permission itself
(views check too, but a service is the last word) and writes its audit entry in the same
transaction. Audit details name rows by id; the address a request names is never stored."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import date
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from anshin.core import crypto
from anshin.core.addresses import normalize_address
from anshin.core.audit import Actor, audit_record
from anshin.governance import sealing
from anshin.governance.models import Disclosure
from anshin.residents.models import Subscriber

State = Disclosure.State
REQUEST = "governance.add_disclosure"
APPROVE = "governance.approve_disclosure"
VIEW = "governance.view_disclosure"
RECORD = "governance.change_disclosure"


class DisclosureRefused(ValueError):
    """A step that cannot be taken (wrong state, the requester approving); shown as is."""


def require(actor: Actor, permission: str) -> User:
    """The acting staff user, if they hold `permission` (services check it themselves)."""
    user = actor.user
    if user is None or not user.is_active or not user.has_perm(permission):
        raise PermissionDenied
    return user


def disclosure_request(
    *,
    actor: Actor,
    purpose: str,
    recipient: str,
    legal_basis: str,
    reference: str,
    address: str,
) -> Disclosure:
    """Record a request for the subscription record of one address. The address is looked up
    by its keyed hash and then forgotten (raises InvalidAddress when it is not one)."""
    user = require(actor, REQUEST)
    address_hash = crypto.lookup_hash(normalize_address(address))
    with transaction.atomic():
        disclosure = Disclosure.objects.create(
            purpose=purpose,
            recipient=recipient,
            legal_basis=legal_basis,
            reference=reference,
            data_kind=Disclosure.DataKind.SUBSCRIPTION,
            subject_hash=address_hash,
            subscriber=Subscriber.objects.filter(email_hash=address_hash).first(),
            requested_by=user,
            requested_at=timezone.now(),
        )
        audit_record(
            actor=actor, action="disclosure.request", target=disclosure, details=_ids(disclosure)
        )
    return disclosure


def _ids(disclosure: Disclosure) -> dict[str, Any]:
    return {"disclosure": disclosure.pk, "subscriber": disclosure.subscriber_id}


def _decider(actor: Actor, disclosure: Disclosure) -> None:
    require(actor, APPROVE)
    if actor.user is not None and actor.user.pk == disclosure.requested_by_id:
        raise DisclosureRefused(_("The person who asked for a disclosure cannot decide on it."))
    if disclosure.state != State.REQUESTED:
        raise DisclosureRefused(_("This request has already been decided."))


@dataclass(frozen=True)
class Approved:
    disclosure: Disclosure
    passphrase: str  # shown once to the approver, never stored


def disclosure_approve(*, actor: Actor, disclosure: Disclosure, note: str = "") -> Approved:
    """Approve and seal the file under a new one-time passphrase."""
    _decider(actor, disclosure)
    now = timezone.now()
    document, records = disclosure_document(disclosure, approved_at=now)
    passphrase = sealing.new_passphrase()
    sealed = sealing.seal(document, passphrase)
    digest = hashlib.sha256(sealed).hexdigest()
    with transaction.atomic():
        done = Disclosure.objects.filter(pk=disclosure.pk, state=State.REQUESTED).update(
            state=State.APPROVED,
            decided_by=actor.user,
            decided_at=now,
            decision_note=note,
            records=records,
            sealed=sealed,
            sealed_sha256=digest,
        )
        if not done:
            raise DisclosureRefused(_("This request has already been decided."))
        details = {**_ids(disclosure), "records": records, "sha256": digest}
        audit_record(actor=actor, action="disclosure.approve", target=disclosure, details=details)
    disclosure.refresh_from_db()
    return Approved(disclosure, passphrase)


def disclosure_reject(*, actor: Actor, disclosure: Disclosure, note: str) -> Disclosure:
    _decider(actor, disclosure)
    with transaction.atomic():
        done = Disclosure.objects.filter(pk=disclosure.pk, state=State.REQUESTED).update(
            state=State.REJECTED,
            decided_by=actor.user,
            decided_at=timezone.now(),
            decision_note=note,
        )
        if not done:
            raise DisclosureRefused(_("This request has already been decided."))
        audit_record(
            actor=actor, action="disclosure.reject", target=disclosure, details=_ids(disclosure)
        )
    disclosure.refresh_from_db()
    return disclosure


def disclosure_file(*, actor: Actor, disclosure: Disclosure) -> bytes:
    """The sealed file, for handing over; every download is an audited access."""
    require(actor, VIEW)
    if disclosure.state != State.APPROVED or not disclosure.sealed:
        raise DisclosureRefused(_("There is no file to download for this disclosure."))
    with transaction.atomic():
        audit_record(
            actor=actor, action="disclosure.download", target=disclosure, details=_ids(disclosure)
        )
    return bytes(disclosure.sealed)


def disclosure_record_provided(
    *, actor: Actor, disclosure: Disclosure, provided_on: date, method: str
) -> Disclosure:
    """Record the date and the person of the handover; the city's copy of the file goes
    (its SHA-256 stays, naming exactly what was handed over)."""
    require(actor, RECORD)
    with transaction.atomic():
        done = Disclosure.objects.filter(pk=disclosure.pk, state=State.APPROVED).update(
            state=State.PROVIDED,
            provided_on=provided_on,
            provided_method=method,
            provided_by=actor.user,
            provided_at=timezone.now(),
            sealed=b"",
        )
        if not done:
            raise DisclosureRefused(_("Only an approved disclosure can be handed over."))
        audit_record(
            actor=actor, action="disclosure.provide", target=disclosure, details=_ids(disclosure)
        )
    disclosure.refresh_from_db()
    return disclosure


# --- The document inside the file ---------------------------------------------------------


def disclosure_document(disclosure: Disclosure, *, approved_at: Any) -> tuple[bytes, int]:
    """The JSON the file carries, and how many records it holds. The record is read at
    approval time, by the keyed hash, so it is what the database holds at that moment."""
    subscriber = Subscriber.objects.filter(email_hash=disclosure.subject_hash).first()
    records = [_subscription(subscriber)] if subscriber is not None else []
    document = {
        "format": "anshin/disclosure/1",
        "disclosure": disclosure.pk,
        "issued_by": settings.CITY_NAME,
        "recipient": disclosure.recipient,
        "legal_basis": disclosure.legal_basis,
        "reference": disclosure.reference,
        "purpose": disclosure.purpose,
        "approved_at": timezone.localtime(approved_at).isoformat(),
        "found": bool(records),
        "records": records,
    }
    text = json.dumps(document, ensure_ascii=False, indent=2, sort_keys=True)
    return text.encode(), len(records)


def _subscription(subscriber: Subscriber) -> dict[str, Any]:
    def when(moment: Any) -> str | None:
        return timezone.localtime(moment).isoformat() if moment else None

    try:
        address = subscriber.email
    except crypto.DecryptionError:
        address = None  # erased after its retention period: only the hash is left
    return {
        "address": address,
        "state": subscriber.state,
        "categories": sorted(subscriber.categories.values_list("slug", flat=True)),
        "registered_at": when(subscriber.created_at),
        "confirmed_at": when(subscriber.confirmed_at),
        "unsubscribed_at": when(subscriber.unsubscribed_at),
        "suspended_at": when(subscriber.suspended_at),
        "notice_version": subscriber.notice.version if subscriber.notice else None,
        "consent_basis": subscriber.consent_basis,
    }
