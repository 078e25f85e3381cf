"""Test addresses (canaries, P6): stored encrypted, mailed beside every alert through the
engine, confirmed from the mail's link, never counted or shown as residents."""

from __future__ import annotations

import logging
import re
from datetime import timedelta
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django.utils import timezone

from anshin.alerts.approval import alert_test_send
from anshin.alerts.models import Alert, Category
from anshin.alerts.services import alert_publish
from anshin.conftest import Sink, make_subscriber
from anshin.core import crypto
from anshin.core.audit import OPERATOR
from anshin.core.models import AuditEvent
from anshin.delivery import services
from anshin.delivery.canaries import (
    canary_add,
    canary_confirm,
    canary_remove,
    make_confirm_token,
)
from anshin.delivery.models import CANARY_CONTEXT, Canary, CanaryMessage, Delivery, SendState
from anshin.delivery.selectors import delivery_progress

pytestmark = pytest.mark.django_db(transaction=True)

CANARY = "test.phone@docomo.ne.jp"


def publish(category: Category, subject: str = "避難指示") -> Alert:
    return alert_publish(
        actor=OPERATOR, category=category, subject=subject, body="本文", via=Alert.Via.CLI
    )


def test_a_test_address_is_stored_encrypted_masked_and_audited_by_id() -> None:
    canary = canary_add(actor=OPERATOR, address=" ｔｅｓｔ.phone@docomo.ne.jp ", label=" docomo ")
    stored = Canary.objects.get()
    assert CANARY.encode() not in bytes(stored.email_ciphertext)
    assert crypto.decrypt(bytes(stored.email_ciphertext), context=CANARY_CONTEXT) == CANARY
    assert (stored.email_masked, stored.label) == ("t***@d***.ne.jp", "docomo")
    event = AuditEvent.objects.get(action="canary.add")
    assert event.target_id == str(canary.pk) and "docomo" not in str(event.details)


@pytest.mark.parametrize(
    ("address", "code"), [("", "empty"), ("not an address", None), ("a\r\nb@x.jp", None)]
)
def test_a_bad_address_is_refused(address: str, code: str | None) -> None:
    with pytest.raises(ValidationError) as refused:
        canary_add(actor=OPERATOR, address=address)
    assert code is None or refused.value.code == code
    assert not Canary.objects.exists() and not AuditEvent.objects.exists()


def test_the_same_address_twice_is_refused_until_removed() -> None:
    first = canary_add(actor=OPERATOR, address=CANARY)
    with pytest.raises(ValidationError) as refused:
        canary_add(actor=OPERATOR, address=CANARY)
    assert refused.value.code == "duplicate"
    assert canary_remove(actor=OPERATOR, canary=first) is True
    assert canary_remove(actor=OPERATOR, canary=first) is False
    first.refresh_from_db()
    assert bytes(first.email_ciphertext) == b"" and first.removed_at is not None
    canary_add(actor=OPERATOR, address=CANARY)
    assert Canary.objects.filter(removed_at__isnull=True).count() == 1
    assert AuditEvent.objects.filter(action="canary.remove").count() == 1


def test_test_addresses_get_every_alert_marked_and_apart_from_the_residents(
    categories: dict[str, Category], smtp_sink: Sink
) -> None:
    make_subscriber("a@example.jp", categories["bousai"])
    canary_add(actor=OPERATOR, address=CANARY)
    alert = publish(categories["bousai"])
    (resident,) = smtp_sink.to("a@example.jp")
    (test,) = smtp_sink.to(CANARY)
    assert test["Subject"] == resident["Subject"] and test["From"] == resident["From"]
    text = test.get_content()
    assert text.startswith("【確認用アドレス】") and "配信停止のリンクはありません" in text
    assert "List-Unsubscribe" not in test and "/manage/" not in text
    (link,) = re.findall(r"http://\S+/console/canaries/confirm/\S+/", text)
    assert CANARY not in link
    row = CanaryMessage.objects.get()
    assert (row.alert, row.round, row.state, row.smtp_code) == (alert, 0, "accepted", 250)
    progress = delivery_progress(Delivery.objects.get(alert=alert))
    assert (progress.total, progress.accepted) == (1, 1)  # residents only


def test_the_confirm_link_opens_a_button_that_records_the_arrival(
    categories: dict[str, Category], smtp_sink: Sink, client: Client
) -> None:
    canary_add(actor=OPERATOR, address=CANARY)
    alert = publish(categories["bousai"])
    text = smtp_sink.to(CANARY)[0].get_content()
    path = re.findall(r"http://[^/]+(/console/canaries/confirm/\S+/)", text)[0]
    page = client.get(path)
    assert page.status_code == 200 and 'id="confirm-arrival"' in page.content.decode()
    assert CanaryMessage.objects.get().confirmed_at is None  # a fetched link confirms nothing
    done = client.post(path)
    assert done.status_code == 200 and 'id="canary-confirmed"' in done.content.decode()
    confirmed = CanaryMessage.objects.get().confirmed_at
    assert confirmed is not None
    client.post(path)
    assert CanaryMessage.objects.get().confirmed_at == confirmed
    event = AuditEvent.objects.get(action="canary.confirm")
    assert event.actor_kind == "recipient" and event.details == {"alert": alert.pk, "round": 0}


@pytest.mark.parametrize(
    "token",
    ["nonsense", "WzFd:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "x" * 300, "WzEsMl0:forged"],
)
def test_a_wrong_confirm_token_is_refused_clearly(
    categories: dict[str, Category], smtp_sink: Sink, client: Client, token: str
) -> None:
    canary_add(actor=OPERATOR, address=CANARY)
    publish(categories["bousai"])
    for response in (
        client.get(f"/console/canaries/confirm/{token}/"),
        client.post(f"/console/canaries/confirm/{token}/"),
    ):
        assert response.status_code == 404 and 'id="canary-invalid"' in response.content.decode()
    assert CanaryMessage.objects.get().confirmed_at is None
    assert not AuditEvent.objects.filter(action="canary.confirm").exists()


def test_a_token_for_a_row_that_does_not_exist_is_refused(client: Client) -> None:
    from anshin.delivery.canaries import CanaryTokenError

    with pytest.raises(CanaryTokenError):
        canary_confirm(token=make_confirm_token(999))


def test_a_removed_test_address_gets_nothing_more(
    categories: dict[str, Category], smtp_sink: Sink
) -> None:
    canary = canary_add(actor=OPERATOR, address=CANARY)
    canary_remove(actor=OPERATOR, canary=canary)
    publish(categories["bousai"])
    assert smtp_sink.messages == [] and not CanaryMessage.objects.exists()


def test_a_lost_canary_task_is_sent_by_the_reconciler(
    categories: dict[str, Category], smtp_sink: Sink, settings: Any
) -> None:
    canary_add(actor=OPERATOR, address=CANARY)
    smtp_sink.answers[CANARY] = "451 4.3.0 try again"  # the first attempt fails for now
    settings.RETRY_BASE_SECONDS = 0
    publish(categories["bousai"])
    row = CanaryMessage.objects.get()
    assert (row.state, row.attempts) == (SendState.QUEUED, 1)
    del smtp_sink.answers[CANARY]
    CanaryMessage.objects.update(enqueued_at=timezone.now() - timedelta(hours=1))
    assert services.reconcile()["canaries"] == 1
    assert CanaryMessage.objects.get().state == SendState.ACCEPTED
    assert len(smtp_sink.to(CANARY)) == 1


def test_a_stopped_alert_stops_its_waiting_canary_mail(
    categories: dict[str, Category], smtp_sink: Sink, settings: Any
) -> None:
    from anshin.alerts.services import alert_stop

    canary_add(actor=OPERATOR, address=CANARY)
    smtp_sink.answers[CANARY] = "451 4.3.0 try again"
    alert = publish(categories["bousai"])
    alert_stop(actor=OPERATOR, alert=alert)
    assert CanaryMessage.objects.get().state == SendState.STOPPED


def test_test_addresses_never_appear_in_logs_or_audit(
    categories: dict[str, Category], smtp_sink: Sink, caplog: Any
) -> None:
    caplog.set_level(logging.DEBUG)
    canary = canary_add(actor=OPERATOR, address=CANARY)
    alert_test_send(
        actor=OPERATOR, category=categories["bousai"], subject="件名", body="本文", via="cli"
    )
    publish(categories["bousai"])
    canary_remove(actor=OPERATOR, canary=canary)
    assert len(smtp_sink.to(CANARY)) == 2
    assert "test.phone" not in caplog.text
    for event in AuditEvent.objects.all():
        assert "test.phone" not in str(event.details)
