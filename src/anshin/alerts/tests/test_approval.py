"""A second person's approval (alert_submit, alert_approve, alert_reject) and test sends
(alert_test_send, alert_release): exact outcomes with a real SMTP server and real tasks."""

from __future__ import annotations

import importlib
from typing import Any

import pytest
from django.apps import apps
from django.contrib.auth.models import Group, User
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.test import Client

from anshin.alerts.approval import (
    alert_approve,
    alert_reject,
    alert_release,
    alert_submit,
    alert_test_send,
    alert_test_send_again,
)
from anshin.alerts.models import Alert, Category
from anshin.alerts.services import alert_publish
from anshin.channels.models import Channel, Post
from anshin.conftest import Sink, make_subscriber
from anshin.core.audit import OPERATOR, Actor
from anshin.core.models import AuditEvent
from anshin.core.roles import role_named
from anshin.delivery.canaries import canary_add
from anshin.delivery.models import CanaryMessage, Delivery, Message

pytestmark = pytest.mark.django_db(transaction=True)

CANARY = "test-phone@docomo.ne.jp"


@pytest.fixture(autouse=True)
def _approval_role() -> None:
    """A transactional test's flush loses the groups' permissions; put back this issue's."""
    importlib.import_module("anshin.core.migrations.0009_alert_approval_role").create(apps, None)


def staff(name: str, *roles: str) -> User:
    user = User.objects.create_user(name, password="x")
    for role in roles:
        user.groups.add(Group.objects.get(name=role_named(role).group))
    return User.objects.get(pk=user.pk)  # fresh: no cached permissions


@pytest.fixture
def guarded(categories: dict[str, Category]) -> Category:
    category = categories["bousai"]
    category.requires_approval = True
    category.save()
    return category


@pytest.fixture
def people() -> dict[str, User]:
    return {
        "author": staff("author", "author"),
        "approver": staff("approver", "approver"),
        "other_author": staff("other", "author"),
        "both": staff("both", "author", "approver"),
    }


def submit(category: Category, user: User | None = None, **fields: Any) -> Alert:
    actor = Actor.staff(user) if user is not None else OPERATOR
    values = {"subject": "避難指示", "body": "川の水位が上がっています。", "via": "console"}
    return alert_submit(actor=actor, category=category, **{**values, **fields})


def recipients(sink: Sink) -> list[str]:
    return sorted(rcpt for _, rcpts, _m in sink.messages for rcpt in rcpts)


def test_a_category_without_approval_publishes_at_once(
    categories: dict[str, Category], smtp_sink: Sink, people: dict[str, User]
) -> None:
    make_subscriber("a@example.jp", categories["bouhan"])
    alert = submit(categories["bouhan"], people["author"])
    assert alert.state == Alert.State.PUBLISHED and alert.published_at is not None
    assert recipients(smtp_sink) == ["a@example.jp"]


def test_a_held_alert_sends_nothing_and_is_public_nowhere(
    guarded: Category, smtp_sink: Sink, people: dict[str, User], client: Client
) -> None:
    make_subscriber("a@example.jp", guarded)
    Channel.objects.create(
        category=guarded, kind="webhook", label="web", url_ciphertext=b"", url_masked="x"
    )
    alert = submit(guarded, people["author"])
    assert (alert.state, alert.published_at) == (Alert.State.HELD, None)
    assert smtp_sink.messages == []
    assert Delivery.objects.count() == 0 and Post.objects.count() == 0
    event = AuditEvent.objects.get(action="alert.submit")
    assert event.details == {"category": "bousai", "via": "console"}
    assert client.get(f"/alerts/{alert.pk}/").status_code == 404
    assert client.get(f"/alerts/{alert.pk}/cap.xml").status_code == 404
    assert "避難指示" not in client.get("/alerts/").content.decode()
    assert "避難指示" not in client.get("/feeds/alerts.atom").content.decode()


def test_submit_validates_exactly_as_publish(guarded: Category, people: dict[str, User]) -> None:
    for fields in ({"subject": "件名\r\nBcc: x@example.jp"}, {"body": ""}, {"subject_en": "Only"}):
        with pytest.raises(ValidationError):
            submit(guarded, people["author"], **fields)
    assert Alert.objects.count() == 0 and not AuditEvent.objects.filter(action="alert.submit")


def test_approval_publishes_to_every_subscriber_and_the_test_addresses(
    guarded: Category, smtp_sink: Sink, people: dict[str, User]
) -> None:
    make_subscriber("a@example.jp", guarded)
    make_subscriber("b@example.jp", guarded)
    canary_add(actor=OPERATOR, address=CANARY)
    alert = submit(guarded, people["author"])
    assert alert_approve(actor=Actor.staff(people["approver"]), alert=alert) is True
    alert.refresh_from_db()
    assert alert.state == Alert.State.PUBLISHED and alert.published_at is not None
    assert alert.decided_by == people["approver"] and alert.created_by == people["author"]
    assert recipients(smtp_sink) == ["a@example.jp", "b@example.jp", CANARY]
    delivery = Delivery.objects.get(alert=alert)
    assert delivery.total == 2  # the residents; the test address is counted apart
    assert Message.objects.filter(delivery=delivery).count() == 2
    assert CanaryMessage.objects.get(alert=alert).round == 0
    approve = AuditEvent.objects.get(action="alert.approve")
    assert approve.actor_user == people["approver"] and approve.target_id == str(alert.pk)


def test_the_author_cannot_approve_and_nothing_changes(
    guarded: Category, smtp_sink: Sink, people: dict[str, User]
) -> None:
    alert = submit(guarded, people["both"])  # an author who also holds the approver role
    before = AuditEvent.objects.count()
    with pytest.raises(PermissionDenied):
        alert_approve(actor=Actor.staff(people["both"]), alert=alert)
    with pytest.raises(PermissionDenied):
        alert_reject(actor=Actor.staff(people["both"]), alert=alert, reason="誤字")
    alert.refresh_from_db()
    assert (alert.state, alert.decided_by, alert.published_at) == (Alert.State.HELD, None, None)
    assert smtp_sink.messages == [] and AuditEvent.objects.count() == before


def test_the_database_refuses_a_decision_by_the_author(
    guarded: Category, people: dict[str, User]
) -> None:
    alert = submit(guarded, people["author"])
    with pytest.raises(IntegrityError), transaction.atomic():
        Alert.objects.filter(pk=alert.pk).update(decided_by=people["author"])


def test_approval_without_the_permission_is_refused_and_changes_nothing(
    guarded: Category, smtp_sink: Sink, people: dict[str, User]
) -> None:
    alert = submit(guarded, people["author"])
    before = AuditEvent.objects.count()
    for actor in (Actor.staff(people["other_author"]), OPERATOR):
        with pytest.raises(PermissionDenied):
            alert_approve(actor=actor, alert=alert)
        with pytest.raises(PermissionDenied):
            alert_reject(actor=actor, alert=alert, reason="誤字")
    alert.refresh_from_db()
    assert alert.state == Alert.State.HELD and smtp_sink.messages == []
    assert AuditEvent.objects.count() == before


def test_a_second_approval_sends_nothing_more(
    guarded: Category, smtp_sink: Sink, people: dict[str, User]
) -> None:
    make_subscriber("a@example.jp", guarded)
    alert = submit(guarded, people["author"])
    assert alert_approve(actor=Actor.staff(people["approver"]), alert=alert) is True
    assert alert_approve(actor=Actor.staff(people["both"]), alert=alert) is False
    assert alert_reject(actor=Actor.staff(people["both"]), alert=alert, reason="遅い") is False
    alert.refresh_from_db()
    assert alert.decided_by == people["approver"] and alert.state == Alert.State.PUBLISHED
    assert recipients(smtp_sink) == ["a@example.jp"]
    assert Delivery.objects.count() == 1
    assert AuditEvent.objects.filter(action="alert.approve").count() == 1
    assert not AuditEvent.objects.filter(action="alert.reject").exists()


def test_reject_records_the_reason_and_sends_nothing(
    guarded: Category, smtp_sink: Sink, people: dict[str, User]
) -> None:
    make_subscriber("a@example.jp", guarded)
    alert = submit(guarded, people["author"])
    assert alert_reject(
        actor=Actor.staff(people["approver"]), alert=alert, reason="  地名が違います。\r\n"
    )
    alert.refresh_from_db()
    assert (alert.state, alert.reject_reason) == (Alert.State.REJECTED, "地名が違います。")
    assert alert.decided_by == people["approver"] and alert.published_at is None
    assert smtp_sink.messages == [] and Delivery.objects.count() == 0
    event = AuditEvent.objects.get(action="alert.reject")
    assert event.details == {} and event.actor_user == people["approver"]  # ids only
    assert alert_approve(actor=Actor.staff(people["approver"]), alert=alert) is False
    assert smtp_sink.messages == []


@pytest.mark.parametrize(
    ("reason", "code"),
    [("", "required"), ("   \n ", "required"), ("理" * 1001, "max_length"), ("a\x00b", "control")],
)
def test_a_bad_reason_is_refused_and_changes_nothing(
    guarded: Category, people: dict[str, User], reason: str, code: str
) -> None:
    alert = submit(guarded, people["author"])
    with pytest.raises(ValidationError) as refused:
        alert_reject(actor=Actor.staff(people["approver"]), alert=alert, reason=reason)
    assert refused.value.code == code
    alert.refresh_from_db()
    assert alert.state == Alert.State.HELD and alert.reject_reason == ""


def test_the_command_line_creates_a_held_alert(guarded: Category, smtp_sink: Sink) -> None:
    from io import StringIO

    from django.core.management import call_command

    make_subscriber("a@example.jp", guarded)
    out, err = StringIO(), StringIO()
    args = ("publish", "--category=bousai", "--subject=避難指示", "--body=本文")
    call_command("alert", *args, stdout=out, stderr=err)
    alert = Alert.objects.get(pk=int(out.getvalue()))
    assert alert.state == Alert.State.HELD and alert.created_by is None
    assert "held" in err.getvalue() and smtp_sink.messages == []
    # Made by the operator (no user), so any approver may approve it.
    approver = staff("approver", "approver")
    assert alert_approve(actor=Actor.staff(approver), alert=alert)
    assert recipients(smtp_sink) == ["a@example.jp"]


def test_approval_of_an_inactive_category_is_refused(
    guarded: Category, smtp_sink: Sink, people: dict[str, User]
) -> None:
    alert = submit(guarded, people["author"])
    Category.objects.filter(pk=guarded.pk).update(active=False)
    with pytest.raises(ValidationError):
        alert_approve(actor=Actor.staff(people["approver"]), alert=alert)
    alert.refresh_from_db()
    assert alert.state == Alert.State.HELD and smtp_sink.messages == []


def test_alert_publish_still_publishes_at_once(guarded: Category, smtp_sink: Sink) -> None:
    make_subscriber("a@example.jp", guarded)
    alert = alert_publish(
        actor=OPERATOR, category=guarded, subject="訓練", body="本文", via=Alert.Via.CLI
    )
    assert alert.state == Alert.State.PUBLISHED and recipients(smtp_sink) == ["a@example.jp"]


# --- Test sends -------------------------------------------------------------------------------


def test_a_test_send_reaches_the_test_addresses_only(
    categories: dict[str, Category], smtp_sink: Sink, people: dict[str, User], client: Client
) -> None:
    category = categories["bouhan"]
    make_subscriber("a@example.jp", category)
    canary_add(actor=OPERATOR, address=CANARY)
    canary_add(actor=OPERATOR, address="test-au@ezweb.ne.jp", label="au")
    alert = alert_test_send(
        actor=Actor.staff(people["author"]),
        category=category,
        subject="不審者情報",
        body="本文",
        via=Alert.Via.CONSOLE,
    )
    assert (alert.state, alert.published_at) == (Alert.State.TEST, None)
    assert recipients(smtp_sink) == sorted([CANARY, "test-au@ezweb.ne.jp"])
    assert Delivery.objects.count() == 0
    event = AuditEvent.objects.get(action="alert.test_send")
    assert event.details == {"round": 1, "test_addresses": 2}
    assert client.get(f"/alerts/{alert.pk}/").status_code == 404
    assert "不審者情報" not in client.get("/feeds/alerts.atom").content.decode()

    smtp_sink.clear()
    alert = alert_release(actor=Actor.staff(people["author"]), alert=alert)
    assert alert.state == Alert.State.PUBLISHED and alert.published_at is not None
    assert recipients(smtp_sink) == sorted(["a@example.jp", CANARY, "test-au@ezweb.ne.jp"])
    assert AuditEvent.objects.get(action="alert.publish").details["after_test"] is True
    smtp_sink.clear()
    assert alert_release(actor=Actor.staff(people["author"]), alert=alert).pk == alert.pk
    assert smtp_sink.messages == []  # a second click sends nothing


def test_a_test_send_of_an_approval_category_is_then_held(
    guarded: Category, smtp_sink: Sink, people: dict[str, User]
) -> None:
    make_subscriber("a@example.jp", guarded)
    canary_add(actor=OPERATOR, address=CANARY)
    author = Actor.staff(people["author"])
    alert = alert_test_send(actor=author, category=guarded, subject="避難", body="本文", via="cli")
    assert recipients(smtp_sink) == [CANARY]
    alert = alert_release(actor=author, alert=alert)
    assert alert.state == Alert.State.HELD and recipients(smtp_sink) == [CANARY]
    assert alert_test_send_again(actor=author, alert=alert) == 2
    assert recipients(smtp_sink) == [CANARY, CANARY]
    smtp_sink.clear()
    alert_approve(actor=Actor.staff(people["approver"]), alert=alert)
    assert recipients(smtp_sink) == ["a@example.jp", CANARY]


def test_a_test_send_needs_test_addresses(
    categories: dict[str, Category], people: dict[str, User]
) -> None:
    with pytest.raises(ValidationError) as refused:
        alert_test_send(
            actor=Actor.staff(people["author"]),
            category=categories["bousai"],
            subject="件名",
            body="本文",
            via="console",
        )
    assert refused.value.code == "no_canaries" and Alert.objects.count() == 0


def test_a_published_alert_is_not_test_sent_again(
    categories: dict[str, Category], people: dict[str, User], smtp_sink: Sink
) -> None:
    canary_add(actor=OPERATOR, address=CANARY)
    alert = submit(categories["bouhan"], people["author"])
    smtp_sink.clear()
    with pytest.raises(ValidationError):
        alert_test_send_again(actor=Actor.staff(people["author"]), alert=alert)
    assert smtp_sink.messages == []
