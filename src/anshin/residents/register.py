"""Reads for the console's residents' register (登録者): counts per state, a page of rows with
the address masked, and one resident's record with a summary of the mail sent to them.

No function here returns a full address: each row carries the masked form only
(anshin.core.masking). Seeing one in full is a recorded reveal (anshin.governance.access).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Final

from django.core.paginator import Page, Paginator
from django.db.models import Count, Max

from anshin.core import crypto
from anshin.core.masking import mask_email
from anshin.delivery.models import Message, Notification
from anshin.delivery.models_suppression import Bounce, Suppression
from anshin.residents.models import Subscriber

PER_PAGE: Final = 50
ERASED: Final = "erased"  # the pseudo-state of a row whose address was erased (hash kept)


def masked_address(subscriber: Subscriber) -> str:
    """The masked address; "" once erased after its retention period."""
    if not subscriber.email_ciphertext:
        return ""
    try:
        return mask_email(subscriber.email)
    except crypto.DecryptionError:
        return "***"


@dataclass(frozen=True)
class Row:
    pk: int
    state: str
    state_label: str
    masked: str
    categories: list[str]
    created_at: datetime
    confirmed_at: datetime | None


def state_counts() -> dict[str, int]:
    """Residents per state with an address held, and the rows kept only as a keyed code."""
    held = dict(
        Subscriber.objects.exclude(email_ciphertext=b"")
        .order_by()
        .values_list("state")
        .annotate(n=Count("pk"))
    )
    counts = {value: held.get(value, 0) for value in Subscriber.State.values}
    counts[ERASED] = Subscriber.objects.filter(email_ciphertext=b"").count()
    return counts


def subscriber_page(
    *, state: str = "", number: int | None = None, page: str | None
) -> tuple[Page[Subscriber], list[Row]]:
    """A page of subscribers, newest first, by state and/or id, with its rows masked."""
    rows = Subscriber.objects.order_by("-pk").prefetch_related("categories")
    if state == ERASED:
        rows = rows.filter(email_ciphertext=b"")
    elif state:
        rows = rows.filter(state=state).exclude(email_ciphertext=b"")
    if number is not None:
        rows = rows.filter(pk=number)
    found = Paginator(rows, PER_PAGE).get_page(page)
    return found, [_row(s) for s in found]


def _row(subscriber: Subscriber) -> Row:
    return Row(
        pk=subscriber.pk,
        state=subscriber.state,
        state_label=str(subscriber.get_state_display()),
        masked=masked_address(subscriber),
        categories=[c.name for c in subscriber.categories.all()],
        created_at=subscriber.created_at,
        confirmed_at=subscriber.confirmed_at,
    )


@dataclass(frozen=True)
class MailSummary:
    """What was sent to one resident, counted (the records themselves go by retention)."""

    alerts: dict[str, int]  # alert mails per send state
    alerts_last: datetime | None
    notices: dict[str, int]  # notices about their subscription, per kind
    bounces: dict[str, int]  # per kind (hard, soft, complaint)
    bounces_last: datetime | None
    suppression: Suppression | None


def mail_summary(subscriber: Subscriber) -> MailSummary:
    messages = Message.objects.filter(subscriber=subscriber).order_by()
    bounces = Bounce.objects.filter(address_hash=subscriber.email_hash).order_by()
    return MailSummary(
        alerts=dict(messages.values_list("state").annotate(n=Count("pk"))),
        alerts_last=messages.aggregate(last=Max("finished_at"))["last"],
        notices=dict(
            Notification.objects.filter(subscriber=subscriber)
            .order_by()
            .values_list("kind")
            .annotate(n=Count("pk"))
        ),
        bounces=dict(bounces.values_list("kind").annotate(n=Count("pk"))),
        bounces_last=bounces.aggregate(last=Max("received_at"))["last"],
        suppression=Suppression.objects.filter(address_hash=subscriber.email_hash).first(),
    )
