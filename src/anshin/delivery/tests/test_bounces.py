"""Bounce intake and the suppression list, fed with bounces built the way real MTAs build
them (Postfix RFC 3464 DSNs, an ARF complaint, qmail and Exim plain-text bounces)."""

from __future__ import annotations

import json
import mailbox
from datetime import timedelta
from email.message import EmailMessage, Message
from email.mime.base import MIMEBase
from email.mime.message import MIMEMessage
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.db import models
from django.utils import timezone

from anshin.alerts.models import Alert, Category
from anshin.conftest import make_subscriber
from anshin.core.audit import OPERATOR, SYSTEM
from anshin.core.models import AuditEvent
from anshin.delivery import verp
from anshin.delivery.bounces import (
    Outcome,
    bounce_ingest,
    is_suppressed,
    suppressed_hashes,
    suppression_add_manual,
    suppression_list,
    suppression_remove,
)
from anshin.delivery.models import Bounce, Delivery, Notification, SendState, Suppression
from anshin.delivery.models import Message as MailRow
from anshin.residents.models import Subscriber

pytestmark = pytest.mark.django_db(transaction=True)

RESIDENT = "yamada.hanako@example.jp"
LOCAL_PART = "yamada.hanako"
DOMAIN = "bounce.example.jp"


@pytest.fixture(autouse=True)
def _bounce_domain(settings: Any) -> None:
    settings.BOUNCE_DOMAIN = DOMAIN


@pytest.fixture
def resident(categories: dict[str, Category]) -> Subscriber:
    return make_subscriber(RESIDENT, categories["bousai"])


def sent_mail(subscriber: Subscriber) -> MailRow:
    """An alert mail the relay accepted: the row a later bounce is about."""
    category = subscriber.categories.get()
    alert = Alert.objects.create(
        category=category, subject="訓練", body="訓練です。", created_via="cli"
    )
    delivery = Delivery.objects.create(alert=alert, state=Delivery.State.DONE)
    return MailRow.objects.create(
        delivery=delivery, subscriber=subscriber, state=SendState.ACCEPTED
    )


def return_path(mail: MailRow) -> str:
    return verp.verp_address("m", mail.pk)


# --- Bounces as MTAs write them -------------------------------------------------------------


def original_headers(sender: str) -> str:
    return (
        f"Return-Path: <{sender}>\n"
        f"From: =?utf-8?b?5a6J5b+D5biC?= <anshin@city.example.jp>\n"
        f"To: {RESIDENT}\n"
        "Subject: =?utf-8?b?W+WuieW/g+W4giDpmLLngb1dIOiok+e3tA==?=\n"
        "Message-ID: <0123456789abcdef@city.example.jp>\n"
    )


def postfix_dsn(sender: str, *, status: str, action: str = "failed", reply: str = "") -> bytes:
    """A Postfix "Undelivered Mail Returned to Sender" (RFC 3464 multipart/report)."""
    reply = reply or f"550 {status} <{RESIDENT}>: Recipient address rejected"
    report = MIMEMultipart("report")
    report.set_param("report-type", "delivery-status")
    report["From"] = "MAILER-DAEMON@relay.example.jp (Mail Delivery System)"
    report["To"] = sender
    report["Subject"] = "Undelivered Mail Returned to Sender"
    report["Auto-Submitted"] = "auto-replied"
    report.attach(
        MIMEText(
            "This is the mail system at host relay.example.jp.\n\n"
            "I'm sorry to have to inform you that your message could not\n"
            "be delivered to one or more recipients.\n\n"
            f"<{RESIDENT}>: host mx.example.jp[192.0.2.25] said: {reply}\n"
        )
    )
    per_message = Message()
    per_message["Reporting-MTA"] = "dns; relay.example.jp"
    per_message["X-Postfix-Sender"] = f"rfc822; {sender}"
    per_recipient = Message()
    per_recipient["Final-Recipient"] = f"rfc822; {RESIDENT}"
    per_recipient["Original-Recipient"] = f"rfc822;{RESIDENT}"
    per_recipient["Action"] = action
    per_recipient["Status"] = status
    per_recipient["Remote-MTA"] = "dns; mx.example.jp"
    per_recipient["Diagnostic-Code"] = f"smtp; {reply}"
    status_part = MIMEBase("message", "delivery-status")
    status_part.set_payload([per_message, per_recipient])
    report.attach(status_part)
    headers = MIMEText(original_headers(sender), "rfc822-headers")
    report.attach(headers)
    return report.as_bytes()


def arf_complaint(sender: str, *, feedback_type: str = "abuse") -> bytes:
    """An RFC 5965 feedback report as a mailbox provider's feedback loop sends it."""
    report = MIMEMultipart("report")
    report.set_param("report-type", "feedback-report")
    report["From"] = "fbl@mail.example.net"
    report["To"] = "abuse@city.example.jp"
    report["Subject"] = "FW: 訓練"
    report.attach(MIMEText("This is an email abuse report for an email message received.\n"))
    fields = MIMEBase("message", "feedback-report")
    fields.set_payload(
        f"Feedback-Type: {feedback_type}\nUser-Agent: ExampleFBL/1.0\nVersion: 1\n"
        "Source-IP: 192.0.2.10\n"
    )
    report.attach(fields)
    original = EmailMessage()
    for line in original_headers(sender).splitlines():
        name, _, value = line.partition(": ")
        original[name] = value
    original.set_content("訓練です。", charset="utf-8", cte="base64")
    report.attach(MIMEMessage(original))
    return report.as_bytes()


def plain_bounce(sender: str, text: str) -> bytes:
    msg = EmailMessage()
    msg["From"] = "MAILER-DAEMON@mx.example.jp"
    msg["To"] = sender
    msg["Subject"] = "failure notice"
    msg.set_content(text)
    return msg.as_bytes()


def qmail_bounce(sender: str, reason: str) -> bytes:
    return plain_bounce(
        sender,
        "Hi. This is the qmail-send program at mx.example.jp.\n"
        "I'm afraid I wasn't able to deliver your message to the following addresses.\n"
        "This is a permanent error; I've given up. Sorry it didn't work out.\n\n"
        f"<{RESIDENT}>:\n{reason}\n\n"
        "--- Below this line is a copy of the message.\n\n" + original_headers(sender),
    )


def nothing_recorded() -> bool:
    return not (
        Bounce.objects.exists() or Suppression.objects.exists() or AuditEvent.objects.exists()
    )


# --- VERP ------------------------------------------------------------------------------------


def test_verp_address_round_trips_and_is_safe_in_a_local_part(settings: Any) -> None:
    address = verp.verp_address("m", 1234567)
    local, _, domain = address.partition("@")
    token = local.removeprefix("bounce+")
    assert domain == DOMAIN and local.startswith("bounce+")
    assert len(token) <= 40 and set(token) <= set("abcdefghijklmnopqrstuvwxyz0123456789-")
    assert verp.parse_verp(address) == ("m", 1234567)
    assert verp.parse_verp(f"<{address.upper()}>") == ("m", 1234567)
    assert verp.parse_verp(verp.verp_address("n", 5)) == ("n", 5)


def test_verp_refuses_forged_tokens_and_other_domains(settings: Any) -> None:
    address = verp.verp_address("m", 41)
    other = verp.verp_address("m", 42)
    swapped = address.replace("m41-", "m42-")
    assert verp.parse_verp(swapped) is None and verp.looks_like_verp(swapped)
    assert verp.parse_verp(other.replace("m42-", "n42-")) is None
    assert verp.parse_verp(address.replace(DOMAIN, "evil.example")) is None
    assert verp.parse_verp("touroku@" + DOMAIN) is None
    settings.SECRET_KEY_FALLBACKS = [settings.SECRET_KEY]
    settings.SECRET_KEY = "a-new-secret-key-after-rotation-0123456789"
    assert verp.parse_verp(address) == ("m", 41)


# --- Hard, soft, complaint ---------------------------------------------------------------------


def test_postfix_dsn_with_5_1_1_suppresses_at_once(resident: Subscriber) -> None:
    mail = sent_mail(resident)
    result = bounce_ingest(raw=postfix_dsn(return_path(mail), status="5.1.1"))
    assert (result.outcome, result.status, result.suppressed) == (Outcome.HARD, "5.1.1", True)
    suppression = Suppression.objects.get()
    assert (suppression.address_hash, suppression.reason, suppression.detail) == (
        resident.email_hash,
        Suppression.Reason.HARD_BOUNCE,
        "5.1.1",
    )
    assert suppression.message_id == mail.pk
    assert is_suppressed(resident.email_hash)
    assert list(AuditEvent.objects.values_list("actor_kind", "action", "target_id", "details")) == [
        (
            "system",
            "suppression.add",
            str(suppression.pk),
            {"reason": "hard_bounce", "status": "5.1.1"},
        )
    ]
    assert MailRow.objects.get(pk=mail.pk).state == SendState.ACCEPTED  # the row keeps its state


def test_mailbox_full_suppresses_on_the_third_soft_bounce_in_14_days(
    resident: Subscriber,
) -> None:
    mails = [sent_mail(resident) for _ in range(3)]
    results = [
        bounce_ingest(
            raw=postfix_dsn(return_path(m), status="4.2.2", reply="452 4.2.2 Mailbox full")
        )
        for m in mails
    ]
    assert [(r.outcome, r.suppressed) for r in results] == [
        (Outcome.SOFT, False),
        (Outcome.SOFT, False),
        (Outcome.SOFT, True),
    ]
    suppression = Suppression.objects.get()
    assert (suppression.reason, suppression.detail, suppression.message_id) == (
        Suppression.Reason.SOFT_BOUNCES,
        "4.2.2; 3 soft bounces in 14 days",
        mails[2].pk,
    )
    assert AuditEvent.objects.get().details == {"reason": "soft_bounces", "status": "4.2.2"}


def test_soft_bounces_older_than_the_window_do_not_count(
    resident: Subscriber, settings: Any
) -> None:
    settings.SOFT_BOUNCE_LIMIT, settings.SOFT_BOUNCE_DAYS = 2, 7
    first, second = sent_mail(resident), sent_mail(resident)
    bounce_ingest(raw=postfix_dsn(return_path(first), status="4.2.2"))
    Bounce.objects.update(received_at=timezone.now() - timedelta(days=8))
    result = bounce_ingest(raw=postfix_dsn(return_path(second), status="4.2.2"))
    assert (result.outcome, result.suppressed) == (Outcome.SOFT, False)
    assert not Suppression.objects.exists()


def test_policy_refusal_5_7_1_once_is_soft_and_not_suppressed(resident: Subscriber) -> None:
    mail = sent_mail(resident)
    reply = "550 5.7.1 Message rejected as spam"
    result = bounce_ingest(raw=postfix_dsn(return_path(mail), status="5.7.1", reply=reply))
    assert (result.outcome, result.status, result.suppressed) == (Outcome.SOFT, "5.7.1", False)
    assert list(Bounce.objects.values_list("kind", "status", "message_id")) == [
        ("soft", "5.7.1", mail.pk)
    ]
    assert not Suppression.objects.exists() and not AuditEvent.objects.exists()


def test_arf_complaint_suppresses_at_once_found_by_the_returned_return_path(
    resident: Subscriber,
) -> None:
    mail = sent_mail(resident)
    result = bounce_ingest(
        raw=arf_complaint(return_path(mail)), envelope_recipients=["abuse@city.example.jp"]
    )
    assert (result.outcome, result.suppressed) == (Outcome.COMPLAINT, True)
    suppression = Suppression.objects.get()
    assert (suppression.reason, suppression.detail) == (Suppression.Reason.COMPLAINT, "complaint")
    assert AuditEvent.objects.get().details == {"reason": "complaint", "status": ""}


def test_not_spam_feedback_is_no_complaint(resident: Subscriber) -> None:
    raw = arf_complaint(return_path(sent_mail(resident)), feedback_type="not-spam")
    assert bounce_ingest(raw=raw).outcome == Outcome.NOT_A_BOUNCE
    assert nothing_recorded()


def test_qmail_user_unknown_without_a_code_is_hard_via_flufl_bounce(
    resident: Subscriber,
) -> None:
    mail = sent_mail(resident)
    result = bounce_ingest(raw=qmail_bounce(return_path(mail), "User unknown"))
    assert (result.outcome, result.status, result.suppressed) == (Outcome.HARD, "", True)
    assert Suppression.objects.get().detail == "no status code"


def test_exim_text_bounce_user_unknown_is_hard_via_flufl_bounce(resident: Subscriber) -> None:
    mail = sent_mail(resident)
    raw = plain_bounce(
        return_path(mail),
        "This message was created automatically by mail delivery software.\n\n"
        "A message that you sent could not be delivered to one or more of its\n"
        "recipients. This is a permanent error. The following address(es) failed:\n\n"
        f"  {RESIDENT}\n    User unknown\n\n"
        "------ This is a copy of the message, including all the headers. ------\n",
    )
    assert bounce_ingest(raw=raw).outcome == Outcome.HARD
    assert Suppression.objects.get().reason == Suppression.Reason.HARD_BOUNCE


def test_nonstandard_bounce_with_a_temporary_code_is_soft(resident: Subscriber) -> None:
    mail = sent_mail(resident)
    result = bounce_ingest(raw=qmail_bounce(return_path(mail), "Mailbox is full. (#4.2.2)"))
    assert (result.outcome, result.status, result.suppressed) == (Outcome.SOFT, "4.2.2", False)


def test_envelope_recipient_identifies_the_mail_when_headers_do_not(
    resident: Subscriber,
) -> None:
    mail = sent_mail(resident)
    raw = postfix_dsn("postmaster@city.example.jp", status="5.1.1")
    assert bounce_ingest(raw=raw).outcome == Outcome.NO_VERP
    result = bounce_ingest(raw=raw, envelope_recipients=[return_path(mail)])
    assert (result.outcome, result.suppressed) == (Outcome.HARD, True)


def test_bounce_of_a_notification_suppresses_too(resident: Subscriber) -> None:
    note = Notification.objects.create(subscriber=resident, kind=Notification.Kind.CONFIRM)
    result = bounce_ingest(raw=postfix_dsn(verp.verp_address("n", note.pk), status="5.1.1"))
    assert result.outcome == Outcome.HARD
    suppression = Suppression.objects.get()
    assert (suppression.notification_id, suppression.message_id) == (note.pk, None)


# --- Nothing recorded ---------------------------------------------------------------------------


def test_forged_token_records_nothing(resident: Subscriber) -> None:
    mail = sent_mail(resident)
    genuine = return_path(mail)
    local, _, domain = genuine.partition("@")
    forged = local[:-1] + ("a" if local[-1] != "a" else "b") + "@" + domain
    result = bounce_ingest(raw=postfix_dsn(forged, status="5.1.1"), envelope_recipients=[forged])
    assert result.outcome == Outcome.FORGED_TOKEN and not result.recorded
    assert nothing_recorded()


def test_bounce_for_an_unknown_message_records_nothing(resident: Subscriber) -> None:
    raw = postfix_dsn(verp.verp_address("m", 987654), status="5.1.1")
    assert bounce_ingest(raw=raw).outcome == Outcome.UNKNOWN_MESSAGE
    assert nothing_recorded()


def test_delay_warning_records_nothing(resident: Subscriber) -> None:
    raw = postfix_dsn(return_path(sent_mail(resident)), status="4.4.1", action="delayed")
    assert bounce_ingest(raw=raw).outcome == Outcome.DELAYED
    assert nothing_recorded()


def test_auto_reply_to_the_return_path_is_not_a_bounce(resident: Subscriber) -> None:
    raw = plain_bounce(return_path(sent_mail(resident)), "I am away until Monday.\n")
    assert bounce_ingest(raw=raw).outcome == Outcome.NOT_A_BOUNCE
    assert nothing_recorded()


def _headed(sender: str, rest: bytes) -> bytes:
    return b"To: " + sender.encode() + b"\n" + rest


def _nested(depth: int) -> bytes:
    return b"".join(
        b'Content-Type: multipart/mixed; boundary="b%d"\n\n--b%d\n' % (i, i) for i in range(depth)
    )


BAD_BASE64_DSN = (
    b'Content-Type: multipart/report; report-type=delivery-status; boundary="z"\n\n'
    b"--z\nContent-Type: message/delivery-status\nContent-Transfer-Encoding: base64\n\n"
    b"!!!notbase64\n--z--\n"
)


@pytest.mark.parametrize(
    ("make_raw", "outcome"),
    [
        (lambda sender: b"", Outcome.NO_VERP),
        (lambda sender: b"\x00\xff\xfe garbage \x80\x81" * 100, Outcome.NO_VERP),
        (lambda sender: postfix_dsn(sender, status="5.1.1")[:700], Outcome.NOT_A_BOUNCE),
        (
            lambda sender: postfix_dsn(sender, status="5.1.1").replace(b"boundary=", b"boundary=x"),
            Outcome.NOT_A_BOUNCE,
        ),
        (lambda sender: _headed(sender, BAD_BASE64_DSN), Outcome.NOT_A_BOUNCE),
        (lambda sender: _headed(sender, _nested(3000)), Outcome.UNPARSEABLE),
        (
            lambda sender: _headed(
                sender, b"Content-Type: text/plain; charset=nonesuch\n\nUser unknown \xff\n"
            ),
            Outcome.UNPARSEABLE,  # flufl.bounce's detectors raise on an unknown charset
        ),
    ],
    ids=["empty", "binary", "truncated", "broken-boundary", "bad-base64", "deep", "charset"],
)
def test_malformed_mail_never_raises_and_records_nothing(
    resident: Subscriber, make_raw: Any, outcome: Outcome
) -> None:
    result = bounce_ingest(raw=make_raw(return_path(sent_mail(resident))))
    assert (result.outcome, result.recorded) == (outcome, False)
    assert nothing_recorded()


def test_oversized_mail_is_refused_unread(resident: Subscriber) -> None:
    raw = postfix_dsn(return_path(sent_mail(resident)), status="5.1.1") + b"x" * (20 * 1024 * 1024)
    result = bounce_ingest(raw=raw)
    assert result.outcome == Outcome.TOO_LARGE and not result.recorded
    assert nothing_recorded()


def test_same_bounce_twice_gives_one_bounce_one_suppression_one_audit(
    resident: Subscriber,
) -> None:
    raw = postfix_dsn(return_path(sent_mail(resident)), status="5.1.1")
    first, second = bounce_ingest(raw=raw), bounce_ingest(raw=raw)
    assert (first.outcome, first.suppressed) == (Outcome.HARD, True)
    assert (second.outcome, second.suppressed, second.recorded) == (Outcome.DUPLICATE, False, False)
    assert (Bounce.objects.count(), Suppression.objects.count()) == (1, 1)
    assert AuditEvent.objects.count() == 1


def test_duplicate_soft_bounce_of_one_mail_counts_once(resident: Subscriber) -> None:
    raw = postfix_dsn(return_path(sent_mail(resident)), status="4.2.2")
    outcomes = [bounce_ingest(raw=raw).outcome for _ in range(3)]
    assert outcomes == [Outcome.SOFT, Outcome.DUPLICATE, Outcome.DUPLICATE]
    assert not Suppression.objects.exists()


# --- Staff actions and selectors ----------------------------------------------------------------


def test_manual_suppression_and_removal_are_audited_and_reset_the_count(
    resident: Subscriber, settings: Any
) -> None:
    settings.SOFT_BOUNCE_LIMIT = 2
    mails = [sent_mail(resident) for _ in range(3)]
    bounce_ingest(raw=postfix_dsn(return_path(mails[0]), status="4.2.2"))
    bounce_ingest(raw=postfix_dsn(return_path(mails[1]), status="4.2.2"))
    suppression = Suppression.objects.get()
    suppression_remove(suppression=suppression, actor=OPERATOR)
    assert not is_suppressed(resident.email_hash) and not Bounce.objects.exists()
    assert bounce_ingest(raw=postfix_dsn(return_path(mails[2]), status="4.2.2")).suppressed is False
    manual = suppression_add_manual(
        address=" yamada.hanako@EXAMPLE.JP ", actor=OPERATOR, reason_text=f"電話で依頼 {RESIDENT}"
    )
    assert (manual.address_hash, manual.reason) == (resident.email_hash, "manual")
    assert manual.detail == "電話で依頼 […]"
    assert list(AuditEvent.objects.values_list("actor_kind", "action", "details")) == [
        ("system", "suppression.add", {"reason": "soft_bounces", "status": "4.2.2"}),
        ("operator", "suppression.remove", {"reason": "soft_bounces"}),
        ("operator", "suppression.add", {"reason": "manual", "status": ""}),
    ]
    assert list(suppressed_hashes()) == [resident.email_hash]
    assert [(s.pk, s.subscriber_id) for s in suppression_list()] == [  # type: ignore[attr-defined]
        (manual.pk, resident.pk)
    ]


def test_selectors_work_as_a_fan_out_filter(resident: Subscriber, categories: Any) -> None:
    other = make_subscriber("other@example.jp", categories["bousai"])
    bounce_ingest(raw=postfix_dsn(return_path(sent_mail(resident)), status="5.1.1"))
    suppressed = models.Exists(
        Suppression.objects.filter(address_hash=models.OuterRef("email_hash"))
    )
    remaining = Subscriber.objects.filter(~suppressed).values_list("pk", flat=True)
    assert list(remaining) == [other.pk]
    assert list(Subscriber.objects.exclude(email_hash__in=suppressed_hashes())) == [other]


# --- Personal data ------------------------------------------------------------------------------


def test_no_address_is_stored_in_bounces_suppressions_or_audit(
    resident: Subscriber, categories: Any
) -> None:
    bounce_ingest(raw=postfix_dsn(return_path(sent_mail(resident)), status="5.7.1"))
    bounce_ingest(raw=qmail_bounce(return_path(sent_mail(resident)), "User unknown"))
    second = make_subscriber("yamada.hanako@example.net", categories["bousai"])
    bounce_ingest(raw=arf_complaint(return_path(sent_mail(second))))
    suppression_add_manual(address="yamada.hanako@example.org", actor=SYSTEM, reason_text=RESIDENT)
    assert (Bounce.objects.count(), Suppression.objects.count(), AuditEvent.objects.count()) == (
        3,
        3,
        3,
    )
    for model in (Bounce, Suppression, AuditEvent):
        for row in model._default_manager.all():
            for field in model._meta.concrete_fields:
                value = getattr(row, field.attname)
                text = (
                    json.dumps(value, ensure_ascii=False) if isinstance(value, dict) else str(value)
                )
                assert LOCAL_PART not in text.lower(), (model.__name__, field.name)


# --- The command --------------------------------------------------------------------------------


@pytest.fixture
def english(settings: Any) -> None:
    """Command output in English, as ANSHIN_LANGUAGE=en gives (Japanese is the default)."""
    settings.LANGUAGE_CODE = "en"


def test_command_imports_an_eml_file(resident: Subscriber, tmp_path: Path, english: None) -> None:
    path = tmp_path / "bounce.eml"
    path.write_bytes(postfix_dsn(return_path(sent_mail(resident)), status="5.1.1"))
    out = StringIO()
    call_command("bounces", "import", str(path), stdout=out)
    assert out.getvalue() == "Mails read: 1\n  hard: 1\nAddresses suppressed: 1\n"
    assert Suppression.objects.get().address_hash == resident.email_hash
    assert AuditEvent.objects.get().actor_kind == "operator"


def test_command_imports_an_mbox_and_never_prints_an_address(
    resident: Subscriber, tmp_path: Path, english: None
) -> None:
    path = tmp_path / "bounces.mbox"
    box = mailbox.mbox(path)
    mails = [sent_mail(resident) for _ in range(3)]
    for mail in mails:
        box.add(postfix_dsn(return_path(mail), status="4.2.2"))
    box.add(postfix_dsn(return_path(mails[0]), status="4.2.2"))
    box.add(plain_bounce(return_path(mails[0]), "I am away until Monday.\n"))
    box.add(postfix_dsn(verp.verp_address("m", 999999), status="5.1.1"))
    box.close()
    assert path.read_bytes().startswith(b"From ")
    out = StringIO()
    call_command("bounces", "import", str(path), stdout=out)
    assert out.getvalue() == (
        "Mails read: 6\n  soft: 3\n  duplicate: 1\n  not_a_bounce: 1\n  unknown_message: 1\n"
        "Addresses suppressed: 1\n"
    )
    assert LOCAL_PART not in out.getvalue()
    assert Suppression.objects.get().reason == Suppression.Reason.SOFT_BOUNCES


def test_command_fails_on_an_unreadable_file_after_importing_the_rest(
    resident: Subscriber, tmp_path: Path, english: None
) -> None:
    good = tmp_path / "good.eml"
    good.write_bytes(postfix_dsn(return_path(sent_mail(resident)), status="5.1.1"))
    out, err = StringIO(), StringIO()
    with pytest.raises(CommandError, match="1 file"):
        call_command(
            "bounces", "import", str(tmp_path / "missing.eml"), str(good), stdout=out, stderr=err
        )
    assert "missing.eml" in err.getvalue()
    assert Suppression.objects.count() == 1
