"""Staff call-outs: who a selection reaches, the snapshot, hashed short tokens, mail through a
real SMTP server, replies until the deadline, reminders, SMS through the fake gateway."""

from __future__ import annotations

import re
from datetime import timedelta
from email.message import EmailMessage
from typing import Any

import pytest
from django.conf import settings
from django.test import Client
from django.utils import timezone

from anshin.conftest import Sink
from anshin.core.audit import OPERATOR, SYSTEM
from anshin.core.models import AuditEvent
from anshin.delivery.bounces import Outcome, bounce_ingest
from anshin.delivery.models import SendState, Suppression
from anshin.directory.callouts import selection as sel
from anshin.directory.callouts import tokens
from anshin.directory.callouts.sending import callout_reconcile, queue_round
from anshin.directory.callouts.services import (
    CalloutDraft,
    CalloutRefused,
    ReplyRefused,
    callout_auto_remind,
    callout_remind,
    callout_reply,
    callout_send,
    recipient_for_token,
)
from anshin.directory.models import StaffMember
from anshin.directory.models_callout import Callout, CalloutRecipient, CalloutSend
from anshin.directory.tests.conftest import make_staff

pytestmark = pytest.mark.django_db(transaction=True)

LINK = re.compile(r"http://[^/\s]+/r/([A-Za-z0-9_-]{11})")


@pytest.fixture
def staff() -> dict[str, StaffMember]:
    return {
        "a": make_staff(
            "a@city.lg.jp", name="安全一郎", phone="+819011110001", staff_id="S1",
            department="防災安全課", oncall_group="A", area="北部",
        ),
        "b": make_staff(
            "b@city.lg.jp", staff_id="S2", department="防災安全課", oncall_group="B", area="南部"
        ),
        "c": make_staff(
            "c@city.lg.jp", phone="+819011110003", staff_id="S3",
            department="総務課", oncall_group="A", area="北部",
        ),
        "d": make_staff(
            "d@city.lg.jp", staff_id="S4", department="総務課", oncall_group="B", area="北部"
        ),
        "e": make_staff(
            "e@city.lg.jp", active=False, department="防災安全課", oncall_group="A", area="北部"
        ),
        "f": make_staff(
            "f@city.lg.jp", department="市民課", area="北部", extra={"資格": "看護師"}
        ),
    }  # fmt: skip


EXAMPLE: sel.Selection = [
    [("department", "防災安全課"), ("oncall_group", "A")],
    [("area", "北部")],
]


def draft(selection: sel.Selection = EXAMPLE, **changes: Any) -> CalloutDraft:
    values: dict[str, Any] = {
        "subject": "参集指示：震度6弱",
        "body": "直ちに参集の可否を回答してください。",
        "selection": selection,
        "choices": ("参集可能", "参集不可", "30分以内に参集"),
        "reply_deadline": timezone.now() + timedelta(hours=2),
    }
    return CalloutDraft(**{**values, **changes})


def addressees(sink: Sink) -> list[str]:
    return sorted(rcpt for _, rcpts, _ in sink.messages for rcpt in rcpts)


def text_of(mail: EmailMessage) -> str:
    body = mail.get_body(preferencelist=("plain",))
    assert body is not None
    return str(body.get_content())


def token_in(mail: EmailMessage) -> str:
    match = LINK.search(text_of(mail))
    assert match, text_of(mail)
    return match.group(1)


# --- selection ---------------------------------------------------------------------------------


def test_selection_ands_groups_of_ored_terms_over_active_staff_only(
    staff: dict[str, StaffMember],
) -> None:
    found = set(sel.matching_members(EXAMPLE).values_list("pk", flat=True))
    assert found == {staff["a"].pk, staff["c"].pk}


def test_an_empty_selection_reaches_every_active_member(staff: dict[str, StaffMember]) -> None:
    found = set(sel.matching_members([]).values_list("pk", flat=True))
    assert found == {staff[k].pk for k in "abcdf"}


def test_a_further_column_can_be_selected(staff: dict[str, StaffMember]) -> None:
    selection = sel.selection_clean([[["extra:資格", "看護師"]]])
    assert list(sel.matching_members(selection)) == [staff["f"]]


def test_attribute_options_list_only_values_active_staff_have(
    staff: dict[str, StaffMember],
) -> None:
    options = {o.field: o.values for o in sel.attribute_options()}
    assert options["department"] == ["市民課", "総務課", "防災安全課"]
    assert options["oncall_group"] == ["A", "B"]
    assert options["extra:資格"] == ["看護師"]
    assert "team" not in options  # nobody has one


@pytest.mark.parametrize(
    "raw",
    [
        "department",
        [["department", "x"]],
        [[["password", "x"]]],
        [[["extra:", "x"]]],
        [[["department", 1]]],
        [[["department", "x" * 101]]],
        [[["department", "x"]]] * 6,
        [[["department", str(n)] for n in range(201)]],
    ],
)
def test_malformed_selections_are_refused(raw: Any) -> None:
    with pytest.raises(sel.SelectionInvalid):
        sel.selection_clean(raw)


def test_a_hostile_value_is_only_compared(staff: dict[str, StaffMember]) -> None:
    selection = sel.selection_clean([[["department", "' OR 1=1 --"], ["extra:a') OR ('1", "x"]]])
    assert sel.matching_count(selection) == 0


# --- send --------------------------------------------------------------------------------------


def test_send_snapshots_the_recipients_and_a_later_import_does_not_change_them(
    staff: dict[str, StaffMember], smtp_sink: Sink
) -> None:
    callout = callout_send(draft=draft(), actor=OPERATOR)
    assert callout.total == 2
    StaffMember.objects.filter(pk=staff["a"].pk).update(department="総務課", active=False)
    make_staff("new@city.lg.jp", department="防災安全課", area="北部")
    rows = CalloutRecipient.objects.filter(callout=callout).order_by("member_id")
    assert [(r.member_id, r.department) for r in rows] == [
        (staff["a"].pk, "防災安全課"),
        (staff["c"].pk, "総務課"),
    ]
    assert addressees(smtp_sink) == ["a@city.lg.jp", "c@city.lg.jp"]


def test_send_is_audited_without_personal_data(
    staff: dict[str, StaffMember], smtp_sink: Sink
) -> None:
    callout = callout_send(draft=draft(), actor=OPERATOR)
    event = AuditEvent.objects.get(action="callout.send")
    assert event.target_id == str(callout.pk)
    assert event.details["recipients"] == 2
    flat = str(event.details)
    assert "@" not in flat and "安全一郎" not in flat and "9011110001" not in flat


def test_mail_is_japanese_with_a_short_link_that_works(
    staff: dict[str, StaffMember], smtp_sink: Sink
) -> None:
    callout_send(draft=draft(), actor=OPERATOR)
    [mail] = smtp_sink.to("a@city.lg.jp")
    assert mail["Subject"] == f"【{settings.CITY_NAME} 職員参集】参集指示：震度6弱"
    text = text_of(mail)
    assert "直ちに参集の可否を回答してください。" in text and "・30分以内に参集" in text
    token = token_in(mail)
    assert LINK.search(text).group(0) == f"{settings.BASE_URL}/r/{token}"  # type: ignore[union-attr]
    client = Client(HTTP_ACCEPT_LANGUAGE="ja")
    page = client.get(f"/r/{token}")
    assert page.status_code == 200 and "参集不可" in page.content.decode()
    client.post(f"/r/{token}", {"choice": "1"})
    recipient = CalloutRecipient.objects.get(member=staff["a"])
    assert recipient.choice == 1


def test_mail_goes_out_with_a_verp_sender_naming_the_row(
    staff: dict[str, StaffMember], smtp_sink: Sink
) -> None:
    callout_send(draft=draft(), actor=OPERATOR)
    senders = sorted(sender for sender, _, _ in smtp_sink.messages)
    rows = CalloutSend.objects.filter(channel="email").order_by("pk")
    assert [s.split("-")[0] for s in senders] == [f"bounce+c{r.pk}" for r in rows]
    assert all(r.state == SendState.ACCEPTED for r in rows)


def test_a_bounce_of_call_out_mail_suppresses_nothing(
    staff: dict[str, StaffMember], smtp_sink: Sink
) -> None:
    callout_send(draft=draft(), actor=OPERATOR)
    sender = smtp_sink.messages[0][0]
    bounce = (
        "From: MAILER-DAEMON@relay\r\nTo: " + sender + "\r\nSubject: failure\r\n"
        "Content-Type: multipart/report; report-type=delivery-status; boundary=b\r\n\r\n"
        "--b\r\nContent-Type: text/plain\r\n\r\nfailed\r\n"
        "--b\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; relay\r\n\r\n"
        "Final-Recipient: rfc822; x@y\r\nAction: failed\r\nStatus: 5.1.1\r\n\r\n--b--\r\n"
    ).encode()
    assert bounce_ingest(raw=bounce, envelope_recipients=[sender]).outcome == Outcome.STAFF_MAIL
    assert not Suppression.objects.exists()


def test_tokens_are_short_and_stored_only_hashed(
    staff: dict[str, StaffMember], smtp_sink: Sink
) -> None:
    callout_send(draft=draft(), actor=OPERATOR)
    token = token_in(smtp_sink.to("c@city.lg.jp")[0])
    recipient = CalloutRecipient.objects.get(member=staff["c"])
    assert len(token) == 11
    stored = [str(v) for v in CalloutRecipient.objects.values_list().get(pk=recipient.pk)]
    assert not any(token in value for value in stored)
    assert recipient.token_hash == tokens.token_hash(token) != token
    assert recipient_for_token(token) == recipient


def test_a_selection_that_matches_nobody_writes_nothing(staff: dict[str, StaffMember]) -> None:
    with pytest.raises(CalloutRefused):
        callout_send(draft=draft([[("department", "存在しない課")]]), actor=OPERATOR)
    assert not Callout.objects.exists() and not AuditEvent.objects.exists()


@pytest.mark.parametrize(
    "changes",
    [
        {"body": "あ" * 5001},
        {"subject": "x" * 201},
        {"subject": "件名\r\nBcc: evil@example.com"},
        {"choices": tuple(f"選択{n}" for n in range(1000))},
        {"choices": ("可", "可")},
        {"choices": ("x" * 41,)},
        {"reply_deadline": timezone.now() - timedelta(minutes=1)},
        {"reply_deadline": None},
        {"send_email": False, "send_sms": False},
        {"reminder_after_minutes": 0},
        {"choices": (), "reminder_after_minutes": 10},
    ],
)
def test_invalid_drafts_are_refused_and_nothing_is_written(
    staff: dict[str, StaffMember], changes: dict[str, Any]
) -> None:
    with pytest.raises(CalloutRefused):
        callout_send(draft=draft(**changes), actor=OPERATOR)
    assert not Callout.objects.exists() and not CalloutSend.objects.exists()


# --- replies -----------------------------------------------------------------------------------


def test_an_answer_can_be_changed_until_the_deadline_and_not_after(
    staff: dict[str, StaffMember], smtp_sink: Sink
) -> None:
    callout = callout_send(draft=draft(), actor=OPERATOR)
    recipient = CalloutRecipient.objects.get(member=staff["a"])
    callout_reply(recipient=recipient, choice="0")
    changed = callout_reply(recipient=recipient, choice="2")
    assert (changed.choice, changed.reply_changes) == (2, 1)
    Callout.objects.filter(pk=callout.pk).update(reply_deadline=timezone.now())
    recipient = CalloutRecipient.objects.select_related("callout").get(pk=recipient.pk)
    with pytest.raises(ReplyRefused) as refused:
        callout_reply(recipient=recipient, choice="1")
    assert refused.value.code == "closed"
    assert CalloutRecipient.objects.get(pk=recipient.pk).choice == 2

    replies = AuditEvent.objects.filter(action="callout.reply")
    assert list(replies.values_list("actor_kind", "target_id", "details")) == [
        ("recipient", str(recipient.pk), {"callout": callout.pk}),
        ("recipient", str(recipient.pk), {"callout": callout.pk}),
    ]  # one per accepted answer, none for the refused one; never the answer itself


@pytest.mark.parametrize("choice", ["3", "-1", "１", "0x1", "", " 1", "9" * 40, "0; DROP"])
def test_a_choice_not_in_the_list_is_refused(
    staff: dict[str, StaffMember], smtp_sink: Sink, choice: str
) -> None:
    callout_send(draft=draft(), actor=OPERATOR)
    recipient = CalloutRecipient.objects.select_related("callout").get(member=staff["a"])
    with pytest.raises(ReplyRefused) as refused:
        callout_reply(recipient=recipient, choice=choice)
    assert refused.value.code == "bad_choice"
    assert CalloutRecipient.objects.get(pk=recipient.pk).replied_at is None


# --- reminders ---------------------------------------------------------------------------------


def test_a_reminder_goes_only_to_those_who_have_not_answered(
    staff: dict[str, StaffMember], smtp_sink: Sink
) -> None:
    callout = callout_send(draft=draft([]), actor=OPERATOR)
    for key in ("a", "b"):
        recipient = CalloutRecipient.objects.select_related("callout").get(member=staff[key])
        callout_reply(recipient=recipient, choice="0")
    smtp_sink.clear()
    reminder = callout_remind(callout=callout, actor=OPERATOR)
    assert reminder is not None and (reminder.number, reminder.recipients) == (1, 3)
    assert addressees(smtp_sink) == ["c@city.lg.jp", "d@city.lg.jp", "f@city.lg.jp"]
    [mail] = smtp_sink.to("c@city.lg.jp")
    assert mail["Subject"].startswith("【再送・未回答の方へ】")
    first_token = CalloutRecipient.objects.get(member=staff["c"]).token_hash
    assert tokens.token_hash(token_in(mail)) == first_token  # the same link as before


def test_a_reminder_round_is_never_sent_twice(
    staff: dict[str, StaffMember], smtp_sink: Sink
) -> None:
    callout = callout_send(draft=draft(), actor=OPERATOR)
    callout_remind(callout=callout, actor=OPERATOR)
    smtp_sink.clear()
    queue_round(callout_id=callout.pk, round=1)  # a repeated task message
    callout_reconcile()
    assert smtp_sink.messages == []
    assert CalloutSend.objects.filter(round=1).count() == 2


def test_the_automatic_reminder_comes_once_after_n_minutes(
    staff: dict[str, StaffMember], smtp_sink: Sink
) -> None:
    callout = callout_send(draft=draft(reminder_after_minutes=30), actor=OPERATOR)
    assert callout_auto_remind() == {"reminders": 0}  # not yet
    Callout.objects.filter(pk=callout.pk).update(sent_at=timezone.now() - timedelta(minutes=31))
    smtp_sink.clear()
    assert callout_auto_remind() == {"reminders": 1}
    assert callout_auto_remind() == {"reminders": 0}
    assert addressees(smtp_sink) == ["a@city.lg.jp", "c@city.lg.jp"]
    event = AuditEvent.objects.get(action="callout.remind")
    assert (event.actor_kind, event.details["automatic"]) == (SYSTEM.kind, True)


def test_no_reminder_after_the_deadline_and_waiting_reminders_expire(
    staff: dict[str, StaffMember], smtp_sink: Sink, settings: Any
) -> None:
    callout = callout_send(draft=draft(), actor=OPERATOR)
    settings.SMTP_URL = "smtp://127.0.0.1:9"  # the relay is down: the reminder waits
    callout_remind(callout=callout, actor=OPERATOR)
    Callout.objects.filter(pk=callout.pk).update(reply_deadline=timezone.now())
    callout.refresh_from_db()
    assert callout_remind(callout=callout, actor=OPERATOR) is None
    callout_reconcile()
    states = set(CalloutSend.objects.filter(round=1).values_list("state", flat=True))
    assert states == {SendState.EXPIRED}


# --- SMS ---------------------------------------------------------------------------------------


def test_sms_goes_to_staff_with_a_phone_with_the_same_link(
    staff: dict[str, StaffMember], smtp_sink: Sink, sms_gateway: Any
) -> None:
    callout_send(draft=draft(send_sms=True), actor=OPERATOR)
    received = sorted(sms_gateway.received, key=lambda m: m.to)
    assert [m.to for m in received] == ["+819011110001", "+819011110003"]
    mail_token = token_in(smtp_sink.to("a@city.lg.jp")[0])
    assert received[0].text.endswith(f"{settings.BASE_URL}/r/{mail_token}")
    rows = CalloutSend.objects.filter(channel="sms")
    assert {r.state for r in rows} == {SendState.ACCEPTED}


def test_sms_gateway_errors_are_recorded_per_recipient(
    staff: dict[str, StaffMember], sms_gateway: Any, settings: Any
) -> None:
    sms_gateway.respond_with(503)
    callout_send(draft=draft(send_email=False, send_sms=True), actor=OPERATOR)
    rows = list(CalloutSend.objects.filter(channel="sms"))
    assert {(r.state, r.smtp_reply) for r in rows} == {(SendState.QUEUED, "HTTP 503")}
    assert all(r.next_attempt_at is not None for r in rows)
    sms_gateway.respond_with(400)
    CalloutSend.objects.update(next_attempt_at=None, enqueued_at=None)
    callout_reconcile()
    assert set(CalloutSend.objects.values_list("state", flat=True)) == {SendState.FAILED}


def test_a_stuck_sending_row_is_released_and_sent_by_the_reconciler(
    staff: dict[str, StaffMember], smtp_sink: Sink, settings: Any
) -> None:
    settings.SMTP_URL = "smtp://127.0.0.1:9"
    callout_send(draft=draft(), actor=OPERATOR)
    settings.SMTP_URL = smtp_sink.url
    CalloutSend.objects.update(  # as a worker that died mid-send leaves them
        state=SendState.SENDING,
        claim="lost",
        leased_until=timezone.now() - timedelta(seconds=1),
        next_attempt_at=None,
    )
    counts = callout_reconcile()
    assert counts["released"] == 2
    assert addressees(smtp_sink) == ["a@city.lg.jp", "c@city.lg.jp"]
