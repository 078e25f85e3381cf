"""Real SMTP conversations with the inbound listener: what it accepts, what it refuses, and
that hostile mail never crashes it nor makes it mail anybody more than once."""

from __future__ import annotations

import base64
import re
import smtplib
from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

import pytest
from django.test import Client

from anshin.conftest import Sink, make_subscriber
from anshin.core import crypto
from anshin.delivery.models import Bounce, Notification, Suppression
from anshin.delivery.verp import verp_address
from anshin.inbound.models import IntakeDraft
from anshin.inbound.tests.conftest import DOMAIN, INTAKE, POLICE, REGISTER, Inbound, mail
from anshin.residents.models import Subscriber

pytestmark = pytest.mark.django_db(transaction=True)

RESIDENT = "taro..jiro@docomo.ne.jp"  # a legacy carrier address, as residents have them
LINK = re.compile(r"http://[^\s]+/subscribe/mail/[^\s/]+/")


def _text(message: EmailMessage) -> str:
    body = message.get_body(preferencelist=("plain",))
    assert body is not None
    return str(body.get_content())


def test_empty_mail_registration_end_to_end(inbound: Inbound, smtp_sink: Sink, categories: Any):
    assert inbound.send(RESIDENT, [REGISTER], mail(sender=RESIDENT, to=REGISTER)) == {}

    [reply] = smtp_sink.to(RESIDENT)
    assert "登録用リンク" in str(reply["Subject"])
    assert reply["Auto-Submitted"] == "auto-generated"
    link = LINK.search(_text(reply))
    assert link is not None and RESIDENT not in link.group() and "docomo" not in link.group()
    path = link.group().split("127.0.0.1:8000", 1)[1]

    client = Client()
    page = client.get(path)
    assert page.status_code == 200
    assert "個人情報" in page.content.decode()  # the privacy notice is shown before the button
    assert Subscriber.objects.get().state == Subscriber.State.PENDING  # GET changes nothing

    done = client.post(path, {"categories": ["bousai"], "notice_version": "1"})
    assert done.status_code == 200
    subscriber = Subscriber.objects.get()
    assert subscriber.state == Subscriber.State.ACTIVE
    assert [c.slug for c in subscriber.categories.all()] == ["bousai"]
    assert subscriber.notice is not None and subscriber.notice.version == 1
    assert subscriber.consent_basis == "empty mail registration"
    complete = smtp_sink.to(RESIDENT)[1]
    assert "登録完了" in str(complete["Subject"])
    assert "防災" in _text(complete)
    assert client.post(path, {"categories": ["bouhan"]}).status_code == 410  # single use
    assert [c.slug for c in Subscriber.objects.get().categories.all()] == ["bousai"]


def test_active_subscriber_gets_already_registered_mail(
    inbound: Inbound, smtp_sink: Sink, categories: Any
):
    make_subscriber(RESIDENT, categories["bouhan"])
    inbound.send(RESIDENT, [REGISTER], mail(sender=RESIDENT, to=REGISTER))
    [reply] = smtp_sink.to(RESIDENT)
    assert "登録済み" in str(reply["Subject"])
    assert Subscriber.objects.get().state == Subscriber.State.ACTIVE


def test_unknown_recipient_is_refused_at_rcpt(inbound: Inbound, smtp_sink: Sink):
    for recipient in (f"someone@{DOMAIN}", "touroku@other.example.jp", f"bounce+m1-aaaa@{DOMAIN}"):
        with pytest.raises(smtplib.SMTPRecipientsRefused) as refused:
            inbound.send(RESIDENT, [recipient], mail(sender=RESIDENT, to=recipient))
        assert refused.value.recipients[recipient][0] == 550
    assert Subscriber.objects.count() == 0 and smtp_sink.messages == []


def test_forged_verp_token_is_refused(inbound: Inbound):
    forged = f"bounce+n1-{'a' * 13}@{DOMAIN}"
    with pytest.raises(smtplib.SMTPRecipientsRefused) as refused:
        inbound.send("", [forged], b"Subject: x\r\n\r\nx\r\n")
    assert refused.value.recipients[forged][0] == 550
    assert Bounce.objects.count() == 0


@pytest.mark.parametrize(
    ("sender", "headers"),
    [
        ("", {}),  # a null sender: a bounce or other MTA mail
        ("MAILER-DAEMON@mx.example.jp", {}),
        (RESIDENT, {"Auto_Submitted": "auto-replied"}),
        (RESIDENT, {"Auto_Submitted": "auto-generated; owner-email=x@example.jp"}),
        (RESIDENT, {"Precedence": "bulk"}),
        (RESIDENT, {"Precedence": "junk"}),
        (RESIDENT, {"List_Id": "<news.example.jp>"}),
        (RESIDENT, {"List_Unsubscribe": "<mailto:leave@example.jp>"}),
        (RESIDENT, {"X_Auto_Response_Suppress": "All"}),
        ("anshin@city.example.jp", {}),  # our own sender: answering would loop
        (REGISTER, {}),
    ],
)
def test_loops_and_automatic_mail_get_no_reply(
    inbound: Inbound, smtp_sink: Sink, sender: str, headers: dict[str, str]
):
    data = mail(sender=sender or "x@example.jp", to=REGISTER, **headers)
    assert inbound.send(sender, [REGISTER], data) == {}  # accepted, quietly
    assert smtp_sink.messages == []
    assert Notification.objects.count() == 0 and Subscriber.objects.count() == 0


def test_auto_submitted_no_is_answered(inbound: Inbound, smtp_sink: Sink):
    inbound.send(RESIDENT, [REGISTER], mail(sender=RESIDENT, to=REGISTER, Auto_Submitted="no"))
    assert len(smtp_sink.to(RESIDENT)) == 1


def test_forged_header_from_is_not_mailed(inbound: Inbound, smtp_sink: Sink):
    """The reply goes to the envelope sender only; a From: header names no one we mail."""
    victim = "victim@example.jp"
    data = mail(sender=victim, to=REGISTER, Reply_To=victim, Return_Path=f"<{victim}>")
    inbound.send(RESIDENT, [REGISTER], data)
    assert smtp_sink.to(victim) == []
    assert [rcpts for _, rcpts, _ in smtp_sink.messages] == [[RESIDENT]]


def test_flood_from_one_sender_is_rate_limited_and_answered_once(
    inbound: Inbound, smtp_sink: Sink, settings: Any
):
    settings.INBOUND_SENDER_LIMIT = 5
    accepted = refused = 0
    for n in range(12):
        try:
            inbound.send(RESIDENT, [REGISTER], mail(sender=RESIDENT, to=REGISTER, body=str(n)))
            accepted += 1
        except smtplib.SMTPRecipientsRefused as exc:
            assert exc.recipients[REGISTER][0] == 450
            refused += 1
    assert (accepted, refused) == (5, 7)
    assert len(smtp_sink.to(RESIDENT)) == 1  # the per-address budget: one reply, not five


def test_flood_from_one_client_is_rate_limited(inbound: Inbound, smtp_sink: Sink, settings: Any):
    settings.INBOUND_CLIENT_LIMIT = 3
    results = []
    for n in range(6):
        sender = f"user{n}@example.jp"
        try:
            inbound.send(sender, [REGISTER], mail(sender=sender, to=REGISTER))
            results.append(250)
        except smtplib.SMTPRecipientsRefused as exc:
            results.append(exc.recipients[REGISTER][0])
    assert results == [250, 250, 250, 450, 450, 450]
    assert sorted(r[0] for _, r, _ in smtp_sink.messages) == [
        f"user{n}@example.jp" for n in range(3)
    ]


def test_bounces_are_not_rate_limited_per_client(inbound: Inbound, settings: Any, categories: Any):
    settings.INBOUND_CLIENT_LIMIT = 1
    for n in range(3):
        subscriber = make_subscriber(f"r{n}@example.jp", categories["bousai"])
        note = Notification.objects.create(subscriber=subscriber, kind="complete", state="accepted")
        address = verp_address("n", note.pk)
        assert inbound.send("", [address], _dsn(address, "5.1.1")) == {}
    assert Suppression.objects.count() == 3


def test_huge_mail_is_refused_with_552(inbound: Inbound, smtp_sink: Sink):
    data = mail(sender=RESIDENT, to=REGISTER, body="あ" * 600_000)  # about 1.8 MB
    with pytest.raises((smtplib.SMTPDataError, smtplib.SMTPSenderRefused)) as refused:
        inbound.send(RESIDENT, [REGISTER], data)
    assert refused.value.smtp_code == 552
    assert smtp_sink.messages == [] and Subscriber.objects.count() == 0


@pytest.mark.parametrize(
    "data",
    [
        b"\x00\xff\xfe garbage without headers\r\n",
        b"Content-Type: multipart/mixed; boundary=\r\n"
        b"Subject: =?iso-2022-jp?B?GyRC!!?=\r\n\r\n--\r\n",
        b"Content-Type: text/plain; charset=no-such-charset\r\nContent-Transfer-Encoding: base64"
        b"\r\n\r\n@@@not base64@@@\r\n",
        b"Content-Type: multipart/mixed; boundary=a\r\n\r\n"
        + b"--a\r\nContent-Type: multipart/mixed; boundary=a\r\n\r\n" * 2000,
    ],
)
def test_malformed_mime_is_handled_without_a_crash(
    inbound: Inbound, smtp_sink: Sink, data: bytes, settings: Any
):
    settings.INBOUND_CLIENT_LIMIT = 100
    officer = "officer@keishicho.example.jp"
    assert inbound.send(officer, [INTAKE], data) == {}
    assert inbound.send(RESIDENT, [REGISTER], data) == {}
    assert IntakeDraft.objects.count() == 1
    assert len(smtp_sink.to(RESIDENT)) == 1
    # and the listener still answers
    assert inbound.send(officer, [INTAKE], mail(sender=officer, to=INTAKE, subject="次")) == {}


def test_bounce_at_verp_address_suppresses_the_address(
    inbound: Inbound, smtp_sink: Sink, categories: Any
):
    subscriber = make_subscriber(RESIDENT, categories["bousai"])
    note = Notification.objects.create(subscriber=subscriber, kind="complete", state="accepted")
    address = verp_address("n", note.pk)
    assert inbound.send("", [address], _dsn(address, "5.1.1")) == {}
    [suppression] = Suppression.objects.all()
    assert suppression.address_hash == subscriber.email_hash
    assert suppression.notification_id == note.pk
    assert smtp_sink.messages == []  # a bounce is never answered


def test_intake_mail_becomes_a_draft_with_its_source(inbound: Inbound, smtp_sink: Sink):
    # The original as police mail comes: ISO-2022-JP with a Windows extension (①, CP50220).
    body = (
        "3月1日午後4時ごろ、".encode("iso2022_jp")
        + b"\x1b$B-!\x1b(B"
        + "公園付近で声かけがありました。".encode("iso2022_jp")
    )
    subject = base64.b64encode("【不審者情報】声かけ事案の発生".encode("iso2022_jp")).decode()
    original = (
        b"From: =?ISO-2022-JP?B?"
        + base64.b64encode("警視庁".encode("iso2022_jp"))
        + b"?= <info@mail.keishicho.example.jp>\r\n"
        + f"Subject: =?ISO-2022-JP?B?{subject}?=\r\n".encode()
        + b"Date: Mon, 02 Mar 2026 09:15:00 +0900\r\n"
        b"Message-ID: <police-123@mail.keishicho.example.jp>\r\nMIME-Version: 1.0\r\n"
        b"Content-Type: text/plain; charset=ISO-2022-JP\r\nContent-Transfer-Encoding: 7bit\r\n"
        b"\r\n" + body + b"\r\n"
    )
    forward = EmailMessage()
    forward["From"] = POLICE
    forward["To"] = INTAKE
    forward["Subject"] = "Fwd: 【不審者情報】"
    forward["Message-ID"] = "<fwd-1@keishicho.example.jp>"
    forward.set_content("転送します。")
    forward.add_attachment(message_from_bytes(original, policy=policy.SMTP))

    assert inbound.send(POLICE, [INTAKE], forward.as_bytes(policy=policy.SMTP)) == {}
    # The MTA delivers it again (our 250 was lost): still one draft.
    inbound.send(POLICE, [INTAKE], forward.as_bytes(policy=policy.SMTP))

    [draft] = IntakeDraft.objects.all()
    assert draft.subject == "【不審者情報】声かけ事案の発生"
    assert draft.body == "3月1日午後4時ごろ、①公園付近で声かけがありました。"
    assert draft.source_from == "info@mail.keishicho.example.jp"
    assert draft.source_message_id == "<police-123@mail.keishicho.example.jp>"
    assert draft.source_sent_at == datetime(2026, 3, 2, 0, 15, tzinfo=UTC)
    assert draft.forwarded_by == POLICE
    assert draft.state == IntakeDraft.State.NEW
    assert smtp_sink.messages == []  # never sent automatically


def test_intake_shift_jis_inline_forward(inbound: Inbound):
    sender = "shidou@city.example.jp"
    body = "学校からのお知らせ：髙橋小学校付近で不審者①".encode("cp932")
    data = (
        b"From: shidou@city.example.jp\r\nSubject: =?shift_jis?B?"
        + base64.b64encode("指導室より".encode("cp932"))
        + b"?=\r\nDate: Tue, 03 Mar 2026 10:00:00 +0900\r\nMessage-ID: <s1@city.example.jp>\r\n"
        b"Content-Type: text/plain; charset=Shift_JIS\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
        + body
        + b"\r\n"
    )
    inbound.send(sender, [INTAKE], data)
    [draft] = IntakeDraft.objects.all()
    assert (draft.subject, draft.body) == (
        "指導室より",
        "学校からのお知らせ：髙橋小学校付近で不審者①",
    )
    assert draft.source_message_id == "<s1@city.example.jp>"


def test_intake_from_unlisted_sender_is_refused(inbound: Inbound, smtp_sink: Sink):
    for sender in ("someone@example.jp", "x@keishicho.example.jp.evil.example", ""):
        with pytest.raises(smtplib.SMTPRecipientsRefused) as refused:
            inbound.send(sender, [INTAKE], mail(sender=POLICE, to=INTAKE, subject="偽"))
        assert refused.value.recipients[INTAKE][0] == 550
    assert IntakeDraft.objects.count() == 0


def test_one_mail_to_several_addresses_is_handled_per_address(inbound: Inbound, smtp_sink: Sink):
    refused = inbound.send(
        POLICE, [INTAKE, REGISTER, f"nobody@{DOMAIN}"], mail(sender=POLICE, to=INTAKE)
    )
    assert list(refused) == [f"nobody@{DOMAIN}"]
    assert IntakeDraft.objects.count() == 1 and len(smtp_sink.to(POLICE)) == 1


def test_suppressed_address_gets_no_reply(inbound: Inbound, smtp_sink: Sink):
    Suppression.objects.create(address_hash=crypto.lookup_hash(RESIDENT), reason="complaint")
    inbound.send(RESIDENT, [REGISTER], mail(sender=RESIDENT, to=REGISTER))
    assert smtp_sink.messages == []


def _dsn(verp: str, status: str) -> bytes:
    return (
        f"From: MAILER-DAEMON@mx.example.jp\r\nTo: {verp}\r\nSubject: Undelivered\r\n"
        "MIME-Version: 1.0\r\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="b"\r\n\r\n'
        "--b\r\nContent-Type: text/plain\r\n\r\nThe mail could not be delivered.\r\n"
        "--b\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.example.jp\r\n"
        f"\r\nFinal-Recipient: rfc822; someone@example.jp\r\nAction: failed\r\nStatus: {status}\r\n"
        "--b--\r\n"
    ).encode()
