"""Migration notices (S6): an import with --notify mails each resident it made active one
personal notice, in batches over shared SMTP connections, through a real SMTP server."""

from __future__ import annotations

import io
from typing import Any

import pytest
from django.core.management import call_command
from django.test import Client

from anshin.conftest import Sink, make_subscriber
from anshin.core import crypto
from anshin.core.audit import OPERATOR
from anshin.core.celery_app import app
from anshin.core.models import AuditEvent
from anshin.delivery import services
from anshin.delivery.models import Notification, SendState
from anshin.residents.migration import migration_import, migration_notify
from anshin.residents.models import ResidentImport, Subscriber
from anshin.residents.tests.conftest import body_of, link_in, unsubscribe_header_path

pytestmark = pytest.mark.django_db(transaction=True)

BASIS = "旧システムからの移行 2017-03-01"
FILE = [
    "email,categories",
    "hanako@example.jp,bousai;bouhan",
    "taro..jiro@docomo.ne.jp,防犯",
    "active@example.jp,bouhan",
    "left@example.jp,bousai",
    "pending@example.jp,bousai",
]


@pytest.fixture
def existing(categories: dict[str, Any]) -> dict[str, Subscriber]:
    return {
        "active": make_subscriber("active@example.jp", categories["bousai"]),
        "left": make_subscriber(
            "left@example.jp", categories["bousai"], state=Subscriber.State.UNSUBSCRIBED
        ),
        "pending": make_subscriber(
            "pending@example.jp", categories["bouhan"], state=Subscriber.State.PENDING
        ),
    }


def run_import(lines: list[str], *, notify: bool = True) -> ResidentImport:
    outcome = migration_import(lines=lines, basis=BASIS, actor=OPERATOR, notify=notify)
    assert outcome.record is not None
    return outcome.record


def test_notify_mails_each_resident_the_import_made_active_and_no_one_else(
    smtp_sink: Sink, existing: dict[str, Subscriber]
) -> None:
    record = run_import(FILE)
    recipients = sorted(r for _, rcpts, _ in smtp_sink.messages for r in rcpts)
    assert recipients == ["hanako@example.jp", "pending@example.jp", "taro..jiro@docomo.ne.jp"]
    assert record.notices == 3
    assert set(Notification.objects.values_list("kind", "state", "resident_import")) == {
        (Notification.Kind.MIGRATION, SendState.ACCEPTED, record.pk)
    }
    event = AuditEvent.objects.get(action="residents.migration_notify")
    assert event.details == {"notices": 3} and event.target_id == str(record.pk)


def test_notice_says_what_changed_lists_categories_and_its_links_work(
    smtp_sink: Sink, existing: dict[str, Subscriber], settings: Any
) -> None:
    run_import(FILE)
    (mail,) = smtp_sink.to("hanako@example.jp")
    assert mail["Subject"] == (
        "【安心市】防犯・防災メールは新システムに移りました / Our alert mail has moved"
    )
    assert mail["To"] == "hanako@example.jp"
    assert mail["Precedence"] == "bulk"
    assert mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    text = body_of(mail)
    assert "新しい配信システムに移りました" in text
    assert "・防災\n・防犯\n" in text
    assert settings.MAIL_FROM in text
    assert settings.INQUIRY_CONTACT in text
    client = Client()
    manage = client.get(link_in(mail, "/manage/"))
    assert manage.status_code == 200
    # The one-click unsubscribe of RFC 8058 (a mail client's POST without cookies) works.
    assert client.post(unsubscribe_header_path(mail)).status_code == 200
    hanako = Subscriber.objects.get(email_hash=crypto.lookup_hash("hanako@example.jp"))
    assert hanako.state == Subscriber.State.UNSUBSCRIBED


def test_each_notice_lists_only_that_residents_categories(
    smtp_sink: Sink, existing: dict[str, Subscriber]
) -> None:
    run_import(FILE)
    (carrier,) = smtp_sink.to("taro..jiro@docomo.ne.jp")
    text = body_of(carrier)
    assert "\n・防犯\n" in text and "\n・防災\n" not in text
    assert "- Crime prevention\n" in text and "- Disaster" not in text


def test_importing_the_same_file_again_notifies_nobody_twice(
    smtp_sink: Sink, existing: dict[str, Subscriber]
) -> None:
    run_import(FILE)
    smtp_sink.clear()
    again = run_import(FILE)
    assert smtp_sink.messages == []
    assert again.notices == 0
    assert Notification.objects.count() == 3


def test_a_resident_is_never_sent_a_second_migration_notice(
    smtp_sink: Sink, categories: dict[str, Any]
) -> None:
    """Even if a later import names the same resident again (unique constraint)."""
    record = run_import(["hanako@example.jp,bousai"])
    hanako = Subscriber.objects.get()
    assert migration_notify(record=record, subscriber_ids=[hanako.pk], actor=OPERATOR) == 0
    assert len(smtp_sink.to("hanako@example.jp")) == 1


def test_without_notify_nothing_is_sent(smtp_sink: Sink, existing: dict[str, Subscriber]) -> None:
    record = run_import(FILE, notify=False)
    assert smtp_sink.messages == []
    assert Notification.objects.count() == 0
    assert record.notify is False and record.counts["created"] == 2


def test_notices_are_sent_in_batches_over_one_connection_each(
    smtp_sink: Sink, categories: dict[str, Any], settings: Any
) -> None:
    settings.SEND_BATCH_SIZE = 3
    settings.SEND_CONNECTIONS = 1
    run_import([f"user{i}@example.jp,bousai" for i in range(7)])
    assert len(smtp_sink.messages) == 7
    connections = {peer for _, peer in smtp_sink.arrivals}
    assert len(connections) == 3  # batches of 3, 3 and 1: one SMTP session each


def test_bulk_task_is_routed_to_the_bulk_queue() -> None:
    router = app.amqp.router
    assert router.route({}, "anshin.bulk.send_notifications")["queue"].name == "bulk"
    assert router.route({}, "anshin.notification.send")["queue"].name == "residents"


def test_notice_to_a_resident_who_left_meanwhile_is_not_sent(
    smtp_sink: Sink, categories: dict[str, Any]
) -> None:
    resident = make_subscriber("hanako@example.jp", categories["bousai"])
    note = Notification.objects.create(subscriber=resident, kind=Notification.Kind.MIGRATION)
    Subscriber.objects.filter(pk=resident.pk).update(state=Subscriber.State.UNSUBSCRIBED)
    services.notification_send_batch(first_id=note.pk, last_id=note.pk)
    note.refresh_from_db()
    assert note.state == SendState.STOPPED
    assert smtp_sink.messages == []


def test_reconciler_requeues_bulk_notices_as_batches_and_others_per_row(
    smtp_sink: Sink, categories: dict[str, Any], settings: Any
) -> None:
    """Rows whose task message was lost (enqueued_at unset) are found and sent: bulk kinds
    over one connection per batch, a confirmation mail on its own."""
    settings.SEND_CONNECTIONS = 1
    residents = [make_subscriber(f"r{i}@example.jp", categories["bousai"]) for i in range(4)]
    for resident in residents:
        Notification.objects.create(subscriber=resident, kind=Notification.Kind.MIGRATION)
    pending = make_subscriber("new@example.jp", categories["bousai"], state="pending")
    Notification.objects.create(subscriber=pending, kind=Notification.Kind.CONFIRM)
    counts = services.reconcile()
    assert counts["notifications"] == 5
    assert len(smtp_sink.messages) == 5
    assert len({peer for _, peer in smtp_sink.arrivals}) == 2
    assert set(Notification.objects.values_list("state", flat=True)) == {SendState.ACCEPTED}
    assert services.reconcile()["notifications"] == 0


def test_command_notify_flag_queues_the_notices(
    smtp_sink: Sink, categories: dict[str, Any], tmp_path: Any
) -> None:
    path = tmp_path / "old.csv"
    path.write_bytes("メールアドレス,配信区分\r\nhanako@example.jp,防災\r\n".encode("cp932"))
    out = io.StringIO()
    call_command("residents", "import", str(path), "--basis", BASIS, "--notify", stdout=out)
    record = ResidentImport.objects.get()
    assert f"#{record.pk}" in out.getvalue()
    assert record.notices == 1 and record.actor_kind == "operator"
    assert len(smtp_sink.to("hanako@example.jp")) == 1
    smtp_sink.clear()
    call_command("residents", "import", str(path), "--basis", BASIS, "--notify", stdout=out)
    assert smtp_sink.messages == []


def test_dry_run_with_notify_sends_and_records_nothing(
    smtp_sink: Sink, categories: dict[str, Any], tmp_path: Any
) -> None:
    path = tmp_path / "old.csv"
    path.write_text("hanako@example.jp,bousai\n", encoding="utf-8")
    call_command(
        "residents",
        "import",
        str(path),
        "--basis",
        BASIS,
        "--notify",
        "--dry-run",
        stdout=io.StringIO(),
    )
    assert smtp_sink.messages == []
    assert not ResidentImport.objects.exists() and not Subscriber.objects.exists()
