"""State changes of resident subscriptions. Views call these; nothing else writes residents."""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from anshin.alerts.models import Category
from anshin.core import crypto
from anshin.core.addresses import normalize_address
from anshin.core.audit import RESIDENT, audit_record
from anshin.delivery.models import Notification
from anshin.delivery.services import notification_enqueue
from anshin.residents.models import (
    EMAIL_CONTEXT,
    MailBudget,
    PrivacyNotice,
    RequestThrottle,
    Subscriber,
)
from anshin.residents.tokens import TokenError, read_confirm_token, read_mail_register_token

Kind = Notification.Kind


def subscription_request(
    *,
    raw_email: str,
    categories: Iterable[Category],
    notice: PrivacyNotice,
    client_key: str,
) -> None:
    """Handle the registration form. The caller shows the same page whatever happens here.

    A new (or lapsed) address becomes pending and gets a confirmation mail; an active one gets
    a mail with its management link instead, so the page never reveals who is subscribed.
    Both are bounded by the per-address mail budget and the per-client request throttle.
    """
    address = normalize_address(raw_email)
    if not _throttle_allows(client_key):
        return
    address_hash = crypto.lookup_hash(address)
    with transaction.atomic():
        subscriber = _pending_or_active(address, address_hash, list(categories), notice)
        kind = Kind.ALREADY if subscriber.state == Subscriber.State.ACTIVE else Kind.CONFIRM
        if _budget_allows(address_hash):
            notification_enqueue(subscriber=subscriber, kind=kind)


def _pending_or_active(
    address: str, address_hash: str, categories: list[Category], notice: PrivacyNotice
) -> Subscriber:
    subscriber = Subscriber.objects.select_for_update().filter(email_hash=address_hash).first()
    if subscriber is None:
        subscriber = Subscriber(
            email_hash=address_hash,
            email_ciphertext=crypto.encrypt(address, context=EMAIL_CONTEXT),
            token_key=secrets.token_hex(16),
        )
    elif subscriber.state == Subscriber.State.ACTIVE:
        return subscriber
    else:
        # The address was typed again: store it afresh. A row kept only as a hash after the
        # retention period (its ciphertext erased) becomes a sign-up again like any other.
        subscriber.email_ciphertext = crypto.encrypt(address, context=EMAIL_CONTEXT)
    subscriber.state = Subscriber.State.PENDING
    subscriber.notice = notice
    subscriber.consent_basis = "web registration form"
    subscriber.confirm_nonce = subscriber.confirm_nonce or secrets.token_hex(16)
    subscriber.save()
    subscriber.categories.set(categories)
    return subscriber


def _budget_allows(address_hash: str) -> bool:
    """At most CONFIRMATION_BUDGET mails per address per 24 h, CONFIRMATION_MIN_INTERVAL apart.

    Called inside the request's transaction with the budget row locked, so concurrent requests
    for one address (from any number of IPs) cannot both pass.
    """
    now = timezone.now()
    budget, created = MailBudget.objects.select_for_update().get_or_create(
        address_hash=address_hash, defaults={"window_start": now, "count": 1, "last_sent_at": now}
    )
    if created:
        return True
    if now - budget.last_sent_at < timedelta(seconds=settings.CONFIRMATION_MIN_INTERVAL):
        return False
    if now - budget.window_start >= timedelta(hours=24):
        budget.window_start, budget.count = now, 0
    if budget.count >= settings.CONFIRMATION_BUDGET:
        return False
    budget.count += 1
    budget.last_sent_at = now
    budget.save()
    return True


def _throttle_allows(client_key: str) -> bool:
    """Per-client (hashed IP) limit on form submissions per hour."""
    now = timezone.now()
    key_hash = crypto.lookup_hash("ip:" + client_key)
    with transaction.atomic():
        row, _ = RequestThrottle.objects.select_for_update().get_or_create(
            key_hash=key_hash, defaults={"window_start": now, "count": 0}
        )
        if now - row.window_start >= timedelta(hours=1):
            row.window_start, row.count = now, 0
        row.count += 1
        row.save()
    return row.count <= settings.IP_SUBSCRIBE_LIMIT


def subscription_confirm(*, token: str) -> Subscriber:
    """Activate the subscriber a confirmation link names. Single use: the nonce is cleared."""
    pk, nonce = read_confirm_token(token)
    return _activate_pending(pk=pk, nonce=nonce)


def _activate_pending(
    *, pk: int, nonce: str, by_mail: tuple[PrivacyNotice, list[Category]] | None = None
) -> Subscriber:
    """Make the pending subscriber a single-use link names active: the nonce is cleared, the
    token key renewed, the registration-complete mail queued and the step audited.

    ``by_mail`` is the notice shown and the categories chosen on the page an empty-mail
    reply links to (a web sign-up chose them before its confirmation mail)."""
    with transaction.atomic():
        subscriber = Subscriber.objects.select_for_update().filter(pk=pk).first()
        if subscriber is None or not nonce:
            raise TokenError("invalid")
        if subscriber.confirm_nonce != nonce or subscriber.state != Subscriber.State.PENDING:
            raise TokenError("used")
        if by_mail is not None:
            subscriber.notice = by_mail[0]
            subscriber.consent_basis = MAIL_CONSENT_BASIS
        subscriber.state = Subscriber.State.ACTIVE
        subscriber.confirm_nonce = ""
        subscriber.token_key = secrets.token_hex(16)
        subscriber.confirmed_at = timezone.now()
        subscriber.unsubscribed_at = None
        subscriber.save()
        if by_mail is not None:
            subscriber.categories.set(by_mail[1])
        notification_enqueue(subscriber=subscriber, kind=Kind.COMPLETE)
        notice = subscriber.notice
        details = {"notice_version": notice.version if notice else None}
        audit_record(
            actor=RESIDENT,
            action="subscription.confirm",
            target=subscriber,
            details=details if by_mail is None else {**details, "via": "mail"},
        )
    return subscriber


def subscription_update(*, subscriber: Subscriber, categories: Iterable[Category]) -> None:
    with transaction.atomic():
        subscriber.categories.set(list(categories))
        audit_record(
            actor=RESIDENT,
            action="subscription.update",
            target=subscriber,
            details={"categories": sorted(c.slug for c in subscriber.categories.all())},
        )


def subscription_cancel(*, subscriber: Subscriber) -> None:
    """Leave. Takes effect at once: fan-out only selects active subscribers."""
    with transaction.atomic():
        # A paused resident (receipt check) can leave for good from the pause notice too.
        updated = Subscriber.objects.filter(
            pk=subscriber.pk, state__in=[Subscriber.State.ACTIVE, Subscriber.State.SUSPENDED]
        ).update(state=Subscriber.State.UNSUBSCRIBED, unsubscribed_at=timezone.now())
        if updated:
            audit_record(actor=RESIDENT, action="subscription.cancel", target=subscriber)


# --- Empty-mail registration (空メール登録, anshin.inbound) -------------------------------------

MAIL_CONSENT_BASIS = "empty mail registration"


def subscription_request_by_mail(*, raw_email: str) -> bool:
    """Answer a mail to the registration address with a personal registration link (an
    active address gets its management link instead). True if a reply was queued.

    The sender may be forged, so nothing is activated here: the address becomes pending like
    a web sign-up, and the reply is bounded by the same per-address budget, which keeps the
    registration address from being used to mail-bomb a third party. A suppressed address
    (hard bounce, complaint) gets no reply. The inbound listener has already dropped null
    senders, auto-replies and list mail. Raises InvalidAddress for an unusable address.
    """
    from anshin.delivery.bounces import is_suppressed

    address = normalize_address(raw_email)
    address_hash = crypto.lookup_hash(address)
    if is_suppressed(address_hash):
        return False
    with transaction.atomic():
        if not _budget_allows(address_hash):
            return False
        subscriber = _pending_for_mail(address, address_hash)
        kind = Kind.ALREADY if subscriber.state == Subscriber.State.ACTIVE else Kind.MAIL_REGISTER
        notification_enqueue(subscriber=subscriber, kind=kind)
    return True


def _pending_for_mail(address: str, address_hash: str) -> Subscriber:
    """The address's row, made pending unless it is active or pending already (a pending row
    keeps the categories and link of a web sign-up in progress)."""
    subscriber = Subscriber.objects.select_for_update().filter(email_hash=address_hash).first()
    if subscriber is None:
        subscriber = Subscriber(email_hash=address_hash, token_key=secrets.token_hex(16))
    elif subscriber.state == Subscriber.State.ACTIVE or (
        subscriber.state == Subscriber.State.PENDING and subscriber.confirm_nonce
    ):
        return subscriber
    subscriber.email_ciphertext = crypto.encrypt(address, context=EMAIL_CONTEXT)
    subscriber.state = Subscriber.State.PENDING
    subscriber.consent_basis = MAIL_CONSENT_BASIS
    subscriber.confirm_nonce = subscriber.confirm_nonce or secrets.token_hex(16)
    subscriber.save()
    return subscriber


def subscription_register_by_mail(
    *, token: str, categories: Iterable[Category], notice: PrivacyNotice
) -> Subscriber:
    """The button on the page the empty-mail reply links to: the resident chose categories and
    was shown `notice`. The link reached their mailbox, which proves the address, so they are
    active at once (and get the registration-complete mail). Single use, like confirmation."""
    pk, nonce = read_mail_register_token(token)
    return _activate_pending(pk=pk, nonce=nonce, by_mail=(notice, list(categories)))
