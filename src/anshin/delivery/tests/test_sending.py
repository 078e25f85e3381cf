"""The sending machinery's fast paths: the fan-out's INSERT … SELECT spans, claims that skip
locked rows, outcome writes in one statement, and SMTP pipelining (RFC 2920) — each proved
against a real relay on loopback and the real database."""

from __future__ import annotations

import socketserver
import threading
from collections.abc import Iterator
from datetime import timedelta
from typing import Any
from unittest import mock

import pytest
from django.db import connection, transaction
from django.utils import timezone

from anshin.alerts.models import Alert
from anshin.alerts.services import alert_publish
from anshin.conftest import make_subscriber
from anshin.core.audit import OPERATOR
from anshin.delivery import services
from anshin.delivery.bounces import suppression_add_manual
from anshin.delivery.models import Delivery, Message, SendState
from anshin.delivery.sending import claim_due
from anshin.residents.models import Subscriber

pytestmark = pytest.mark.django_db(transaction=True)


def publish(category: Any) -> Alert:
    return alert_publish(actor=OPERATOR, category=category, subject="訓練", body="本文", via="cli")


# --- a relay that insists on pipelining ------------------------------------------------------


class _StrictHandler(socketserver.StreamRequestHandler):
    """Answers MAIL, RCPT and DATA only once all three have arrived. A client that waits for
    each reply before the next command (no pipelining) hangs here until its timeout."""

    server: StrictRelay

    def handle(self) -> None:
        self.wfile.write(b"220 strict.test ESMTP\r\n")
        while line := self.rfile.readline():
            verb = line[:4].upper()
            if verb == b"EHLO":
                self.wfile.write(b"250-strict.test\r\n250-PIPELINING\r\n250 8BITMIME\r\n")
            elif verb == b"MAIL":
                self._transaction(line)
            elif verb == b"QUIT":
                self.wfile.write(b"221 2.0.0 Bye\r\n")
                return
            else:  # RSET, NOOP
                self.wfile.write(b"250 2.0.0 Ok\r\n")

    def _transaction(self, mail: bytes) -> None:
        rcpt, data = self.rfile.readline(), self.rfile.readline()
        assert rcpt.upper().startswith(b"RCPT TO:<") and data.upper() == b"DATA\r\n"
        recipient = rcpt[9:].split(b">")[0].decode()
        refusal = self.server.refusals.get(recipient.split("@")[0])
        if refusal:
            self.wfile.write(b"250 2.1.0 Ok\r\n" + refusal + b"554 5.5.1 no valid recipients\r\n")
            return
        self.wfile.write(b"250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n354 go ahead\r\n")
        while self.rfile.readline() not in (b".\r\n", b""):
            pass
        with self.server.lock:
            queue_id = f"Q{len(self.server.accepted) + 1:04d}"
            self.server.accepted.append((recipient, queue_id))
        self.wfile.write(f"250 2.0.0 Ok: queued as {queue_id}\r\n".encode())


class StrictRelay(socketserver.ThreadingTCPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _StrictHandler)
        self.accepted: list[tuple[str, str]] = []  # (recipient, queue id) in arrival order
        self.refusals: dict[str, bytes] = {}  # local part -> the RCPT reply line
        self.lock = threading.Lock()


@pytest.fixture
def strict_relay(settings: Any) -> Iterator[StrictRelay]:
    relay = StrictRelay()
    thread = threading.Thread(target=relay.serve_forever, daemon=True)
    thread.start()
    settings.SMTP_URL = f"smtp://127.0.0.1:{relay.server_address[1]}?timeout=5"
    try:
        yield relay
    finally:
        relay.shutdown()
        relay.server_close()


def test_a_relay_that_answers_only_whole_pipelined_groups_gets_every_message(
    strict_relay: StrictRelay, categories: dict[str, Any]
) -> None:
    for i in range(45):
        make_subscriber(f"p{i}@example.jp", categories["bousai"])
    publish(categories["bousai"])
    assert sorted(r for r, _ in strict_relay.accepted) == sorted(
        f"p{i}@example.jp" for i in range(45)
    )
    assert set(Message.objects.values_list("state", flat=True)) == {SendState.ACCEPTED}


def test_each_message_keeps_its_own_relay_reply(
    strict_relay: StrictRelay, categories: dict[str, Any]
) -> None:
    """Outcomes are written twenty to a statement; each row still gets its own queue id."""
    for i in range(30):
        make_subscriber(f"q{i}@example.jp", categories["bouhan"])
    publish(categories["bouhan"])
    given = dict(strict_relay.accepted)
    stored = {m.subscriber.email: (m.smtp_code, m.smtp_reply) for m in Message.objects.all()}
    assert stored == {r: (250, f"2.0.0 Ok: queued as {q}") for r, q in given.items()}
    assert len(set(given.values())) == 30


def test_pipelined_refusals_end_in_the_right_state_and_the_connection_goes_on(
    strict_relay: StrictRelay, categories: dict[str, Any], settings: Any
) -> None:
    settings.SEND_CONNECTIONS = 1
    strict_relay.refusals = {
        "r550": b"550 5.1.1 <r550@example.jp>: User unknown\r\n",
        "r450": b"450 4.2.1 Mailbox busy\r\n",
    }
    for name in ("ok1", "r550", "ok2", "r450", "ok3"):
        make_subscriber(f"{name}@example.jp", categories["bousai"])
    publish(categories["bousai"])
    rows = {
        m.subscriber.email.split("@")[0]: (m.state, m.smtp_code, m.smtp_reply, m.next_attempt_at)
        for m in Message.objects.all()
    }
    assert {name: row[:3] for name, row in rows.items()} == {
        "ok1": (SendState.ACCEPTED, 250, "2.0.0 Ok: queued as Q0001"),
        "r550": (SendState.FAILED, 550, "5.1.1 <redacted>: User unknown"),
        "ok2": (SendState.ACCEPTED, 250, "2.0.0 Ok: queued as Q0002"),
        "r450": (SendState.QUEUED, 450, "4.2.1 Mailbox busy"),
        "ok3": (SendState.ACCEPTED, 250, "2.0.0 Ok: queued as Q0003"),
    }
    assert [name for name, row in rows.items() if row[3] is not None] == ["r450"]


# --- fan-out ---------------------------------------------------------------------------------


def test_fan_out_queues_the_first_batch_before_the_rest_is_snapshotted(
    categories: dict[str, Any], settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings.SEND_BATCH_SIZE = 3
    monkeypatch.setattr(services, "FAN_OUT_FIRST_SPAN", 3)
    monkeypatch.setattr(services, "FAN_OUT_SPAN", 6)
    wanted = []
    for i in range(40):
        state = Subscriber.State.PENDING if i % 7 == 3 else Subscriber.State.ACTIVE
        cats = [categories["bouhan"]] if i % 5 == 4 else [categories["bousai"]]
        subscriber = make_subscriber(f"s{i}@example.jp", *cats, state=state)
        if state == Subscriber.State.ACTIVE and cats == [categories["bousai"]] and i != 20:
            wanted.append(subscriber.pk)
        if i == 20:
            suppression_add_manual(address="s20@example.jp", actor=OPERATOR, reason_text="gone")
    queued: list[tuple[tuple[int, int, int], int]] = []  # (batch, rows existing when queued)
    with mock.patch(
        "anshin.delivery.tasks.send_batch.delay",
        side_effect=lambda *args: queued.append((args, Message.objects.count())),
    ):
        alert = publish(categories["bousai"])
    messages = list(Message.objects.order_by("pk").values_list("pk", "subscriber_id", "state"))
    assert [sid for _, sid, _ in messages] == wanted  # the snapshot, in id order
    assert {state for _, _, state in messages} == {SendState.QUEUED}
    assert queued[0][1] <= 3 < len(wanted)  # the first batch went out with the first span only
    covered = [pk for (_, lo, hi), _ in queued for pk, _, _ in messages if lo <= pk <= hi]
    assert covered == [pk for pk, _, _ in messages]  # every row in exactly one batch
    assert all(hi - lo < 3 for (_, lo, hi), _ in queued)
    delivery = Delivery.objects.get(alert=alert)
    assert (delivery.state, delivery.total) == (Delivery.State.SENDING, len(wanted))


def test_fan_out_rerun_after_a_crash_adds_only_the_missing_rows(
    categories: dict[str, Any], settings: Any
) -> None:
    settings.SEND_BATCH_SIZE = 4
    people = [make_subscriber(f"c{i}@example.jp", categories["bousai"]) for i in range(10)]
    with mock.patch("anshin.delivery.tasks.fan_out.delay"):
        alert = publish(categories["bousai"])
    delivery = Delivery.objects.get(alert=alert)
    # The first fan-out died after its first rows, one of which was already sent.
    Message.objects.create(delivery=delivery, subscriber=people[0], state=SendState.ACCEPTED)
    Message.objects.create(delivery=delivery, subscriber=people[1])
    Delivery.objects.filter(pk=delivery.pk).update(
        state=Delivery.State.FANNING_OUT, leased_until=timezone.now() - timedelta(seconds=1)
    )
    with mock.patch("anshin.delivery.tasks.send_batch.delay"):
        services.delivery_fan_out(delivery_id=delivery.pk)
    rows = list(Message.objects.order_by("subscriber_id").values_list("subscriber_id", "state"))
    assert rows == [(people[0].pk, SendState.ACCEPTED)] + [
        (p.pk, SendState.QUEUED) for p in people[1:]
    ]
    assert Delivery.objects.get(pk=delivery.pk).total == 10


def test_fan_out_of_a_city_with_no_subscribers_finishes_at_once(
    categories: dict[str, Any],
) -> None:
    alert = publish(categories["bousai"])
    delivery = Delivery.objects.get(alert=alert)
    assert (delivery.state, delivery.total) == (Delivery.State.DONE, 0)


# --- claims ----------------------------------------------------------------------------------


@pytest.mark.postgres_only
def test_claim_skips_rows_another_worker_holds_instead_of_waiting(
    categories: dict[str, Any],
) -> None:
    for i in range(6):
        make_subscriber(f"k{i}@example.jp", categories["bousai"])
    with mock.patch("anshin.delivery.tasks.send_batch.delay"):
        publish(categories["bousai"])
    ids = list(Message.objects.order_by("pk").values_list("pk", flat=True))
    held, release = threading.Event(), threading.Event()

    def other_worker() -> None:
        try:
            with transaction.atomic():
                list(Message.objects.filter(pk__in=ids[:3]).select_for_update())
                held.set()
                release.wait(timeout=30)
        finally:
            connection.close()

    thread = threading.Thread(target=other_worker)
    thread.start()
    try:
        assert held.wait(timeout=30)
        claim = claim_due(Message.objects.filter(pk__gte=ids[0], pk__lte=ids[-1]))
        claimed = sorted(Message.objects.filter(claim=claim).values_list("pk", flat=True))
    finally:
        release.set()
        thread.join(timeout=30)
    assert claimed == ids[3:]
    assert (
        list(Message.objects.filter(pk__in=ids[:3]).values_list("state", flat=True))
        == [SendState.QUEUED] * 3
    )


# --- leases during a long batch ----------------------------------------------------------------


def test_a_row_taken_back_mid_batch_is_not_sent_twice_and_the_rest_keep_their_lease(
    categories: dict[str, Any], settings: Any, smtp_sink: Any
) -> None:
    """A batch on a slow relay can outlast its lease; the reconciler then gives its unsent rows
    to another worker. The first worker must not send those rows as well, and renews the lease
    of what it still holds as it goes."""
    from anshin.delivery import render
    from anshin.delivery.sending import ClaimedRow, SendLimits, SubscriberRef, send_claimed

    settings.SEND_CONNECTIONS = 1
    for i in range(45):
        make_subscriber(f"lease{i}@example.jp", categories["bousai"])
    with mock.patch("anshin.delivery.tasks.send_batch.delay"):
        alert = publish(categories["bousai"])
    rows = Message.objects.order_by("pk")
    claim = claim_due(rows)
    claimed = [
        ClaimedRow(
            m.pk,
            claim,
            m.attempts,
            SubscriberRef(m.subscriber_id, m.subscriber.token_key),
            bytes(m.subscriber.email_ciphertext),
        )
        for m in rows.select_related("subscriber")
    ]
    Message.objects.filter(pk__in=[c.pk for c in claimed]).update(
        leased_until=timezone.now() - timedelta(seconds=1)
    )
    # The reconciler took back the last 5 rows (lease expired), and another worker holds them.
    lost = [c.pk for c in claimed[-5:]]
    Message.objects.filter(pk__in=lost).update(claim="other", state=SendState.SENDING)
    prepared = render.prepare_alert(alert)
    before = timezone.now()
    send_claimed(
        Message,
        claimed,
        lambda row, addr: render.render_prepared(prepared, row.owner, addr),
        limits=SendLimits(horizon=timezone.now() + timedelta(days=1), expiry=None),
    )
    assert len(smtp_sink.messages) == 40
    assert Message.objects.filter(state=SendState.ACCEPTED).count() == 40
    assert set(Message.objects.filter(claim="other").values_list("pk", flat=True)) == set(lost)
    assert Message.objects.filter(pk__in=lost, leased_until__gte=before).count() == 0
