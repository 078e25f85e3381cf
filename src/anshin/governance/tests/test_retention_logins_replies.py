"""Retention of staff sign-in records (django-axes) and of replies to staff call-outs: the purge
removes exactly what is past its period, leaves the rest and anything still in use, issues a
signed certificate that verifies, keeps a roll-call's outcome as counts, and no log line names a
username or an address. A completed sign-in is audited by account id, without an address."""

from __future__ import annotations

import io
import json
import logging
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django.contrib.auth.models import User
from django.core.management import call_command
from django.test import Client
from django.utils import translation

from anshin.conftest import staff_device, totp_code
from anshin.core.audit import OPERATOR, audit_verify
from anshin.core.models import AuditEvent
from anshin.delivery.models import SendState
from anshin.directory.models import StaffMember
from anshin.directory.models_callout import Callout, CalloutRecipient, CalloutSend
from anshin.governance.models import Certificate
from anshin.governance.services import retention_preview, retention_purge
from anshin.governance.tests.factories import days_ago

pytestmark = pytest.mark.django_db

IP = "203.0.113.5"
USERNAME = "kanri.taro"
PASSWORD = "clerk-passphrase-12345"


def _verify(certificate: Certificate, tmp_path: Path) -> str:
    path = tmp_path / "certificate.pdf"
    path.write_bytes(bytes(certificate.pdf))
    out = io.StringIO()
    with translation.override("en"):
        call_command("certificates", "verify", str(path), stdout=out)
    return out.getvalue()


# --- sign-in records --------------------------------------------------------------------------


def _axes_row(model: Any, age: float, username: str = USERNAME, **fields: Any) -> Any:
    row = model.objects.create(
        username=username,
        ip_address=IP,
        user_agent="Mozilla/5.0",
        http_accept="text/html",
        path_info="/console/login/",
        **fields,
    )
    model.objects.filter(pk=row.pk).update(attempt_time=days_ago(age))
    return row


def _attempt(age: float, username: str = USERNAME) -> AccessAttempt:
    return _axes_row(
        AccessAttempt,
        age,
        username,
        get_data="",
        post_data="username=********",
        failures_since_start=2,
    )


def test_old_sign_in_records_are_deleted_and_recent_ones_kept(tmp_path: Path) -> None:
    old = [_attempt(31, "old.clerk"), _axes_row(AccessLog, 31), _axes_row(AccessFailureLog, 31)]
    recent = [_attempt(29), _axes_row(AccessLog, 29), _axes_row(AccessFailureLog, 29)]
    assert retention_preview()["logins"] == 3
    counts = retention_purge(actor=OPERATOR)
    assert counts["logins"] == 3
    for row in old:
        assert not type(row).objects.filter(pk=row.pk).exists()
    for row in recent:
        assert type(row).objects.filter(pk=row.pk).exists()
    certificate = Certificate.objects.get(kind="logins")
    assert certificate.breakdown == {"attempts": 1, "sign_ins": 1, "failures": 1}
    assert certificate.content["action"] == "deleted"
    assert certificate.content["rule"] == {"setting": "ANSHIN_RETENTION_LOGINS_DAYS", "days": 30}
    signed = json.dumps(certificate.content, ensure_ascii=False)
    assert IP not in signed and USERNAME not in signed and "old.clerk" not in signed
    out = _verify(certificate, tmp_path)
    assert out.startswith("The signature is valid")
    assert "Number of records: 3 records" in out and "ANSHIN_RETENTION_LOGINS_DAYS" in out


def test_a_lockout_still_in_force_is_never_purged(settings: Any) -> None:
    settings.RETENTION_DAYS = {**settings.RETENTION_DAYS, "logins": 1}
    settings.AXES_COOLOFF_TIME = timedelta(days=3)
    counting = _attempt(2)
    _attempt(4, "other")  # its lockout lifted long ago
    assert retention_purge(actor=OPERATOR)["logins"] == 1
    assert list(AccessAttempt.objects.values_list("pk", flat=True)) == [counting.pk]


def test_a_sign_in_is_audited_by_account_and_axes_keeps_no_log_of_it(
    caplog: pytest.LogCaptureFixture,
) -> None:
    user = User.objects.create_user(USERNAME, password=PASSWORD, is_staff=True)
    device = staff_device(user)
    client = Client(REMOTE_ADDR=IP, HTTP_USER_AGENT="Mozilla/5.0 (Test)")
    with caplog.at_level(logging.DEBUG):
        client.post("/console/login/", {"username": USERNAME, "password": "wrong"})
        assert (
            client.post("/console/login/", {"username": USERNAME, "password": PASSWORD}).status_code
            == 302
        )
        verified = client.post("/console/otp/verify/", {"code": totp_code(device)})
        assert verified.status_code == 302
        retention_purge(actor=OPERATOR)
    [event] = AuditEvent.objects.filter(action="staff.sign_in")
    assert (event.actor_user_id, event.target_id, event.details) == (
        user.pk,
        str(user.pk),
        {"factor": "totp"},
    )
    assert IP not in json.dumps(event.details) and audit_verify().ok
    assert not AccessLog.objects.exists() and not AccessFailureLog.objects.exists()
    assert not AccessAttempt.objects.exists()  # the success cleared the wrong password
    for record in caplog.records:
        line = record.getMessage()
        assert IP not in line and USERNAME not in line, line


def test_a_password_alone_is_not_a_sign_in() -> None:
    User.objects.create_user(USERNAME, password=PASSWORD, is_staff=True)
    client = Client(REMOTE_ADDR=IP)
    assert (
        client.post("/console/login/", {"username": USERNAME, "password": PASSWORD}).status_code
        == 302
    )
    assert not AuditEvent.objects.filter(action="staff.sign_in").exists()


# --- replies to call-outs -----------------------------------------------------------------------


_MEMBERS = iter(range(1, 10_000))


def _member() -> StaffMember:
    n = next(_MEMBERS)
    return StaffMember.objects.create(
        staff_id=f"S{n:04d}",
        name_ciphertext=b"x",
        email_ciphertext=b"x",
        email_hash=f"{n:064x}",
        department="防災安全課",
    )


def _callout(*, deadline: datetime | None, sent: datetime, answers: list[int | None]) -> Callout:
    callout = Callout.objects.create(
        subject="参集",
        body="参集可否を回答してください",
        choices=["参集可", "参集不可"] if deadline else [],
        reply_deadline=deadline,
        total=len(answers),
        sent_at=sent,
        actor_kind="staff",
    )
    for answer in answers:
        recipient = CalloutRecipient.objects.create(
            callout=callout,
            member=_member(),
            department="防災安全課",
            token_nonce="n",
            token_hash=f"h{next(_MEMBERS)}",
            choice=answer,
            replied_at=None if answer is None else sent,
        )
        CalloutSend.objects.create(
            recipient=recipient, callout=callout, channel="email", state=SendState.ACCEPTED
        )
    return callout


def test_replies_of_call_outs_closed_past_the_period_are_deleted_counts_kept(
    tmp_path: Path,
) -> None:
    closed = _callout(deadline=days_ago(91), sent=days_ago(92), answers=[0, 1, None])
    open_long = _callout(deadline=days_ago(89), sent=days_ago(120), answers=[0])
    no_reply = _callout(deadline=None, sent=days_ago(100), answers=[None, None])
    recent = _callout(deadline=None, sent=days_ago(10), answers=[None])
    members = StaffMember.objects.count()
    assert retention_preview()["replies"] == 5
    assert retention_purge(actor=OPERATOR)["replies"] == 5
    left = set(CalloutRecipient.objects.values_list("callout_id", flat=True))
    assert left == {open_long.pk, recent.pk}
    assert set(CalloutSend.objects.values_list("callout_id", flat=True)) == left
    assert Callout.objects.count() == 4 and StaffMember.objects.count() == members
    tallies = {
        e.target_id: e.details for e in AuditEvent.objects.filter(action="callout.replies_erased")
    }
    assert tallies == {
        str(closed.pk): {"recipients": 3, "answers": {"0": 1, "1": 1, "none": 1}},
        str(no_reply.pk): {"recipients": 2, "answers": {"none": 2}},
    }
    assert audit_verify().ok
    certificate = Certificate.objects.get(kind="replies")
    assert certificate.breakdown == {"recipients": 5}
    assert certificate.content["rule"] == {"setting": "ANSHIN_RETENTION_REPLIES_DAYS", "days": 90}
    out = _verify(certificate, tmp_path)
    assert out.startswith("The signature is valid") and "Number of records: 5 records" in out


def test_a_reply_whose_mail_is_still_being_sent_is_kept() -> None:
    callout = _callout(deadline=days_ago(100), sent=days_ago(101), answers=[None, 0])
    busy = CalloutRecipient.objects.filter(callout=callout, choice__isnull=True).get()
    CalloutSend.objects.filter(recipient=busy).update(state=SendState.SENDING)
    assert retention_purge(actor=OPERATOR)["replies"] == 1
    assert list(CalloutRecipient.objects.values_list("pk", flat=True)) == [busy.pk]


# --- the transparency page ----------------------------------------------------------------------


def test_the_transparency_page_lists_the_new_kinds_with_their_periods(client: Client) -> None:
    client.cookies["django_language"] = "en"
    page = client.get("/transparency/").content.decode()
    assert 'id="period-logins"' in page and 'id="period-replies"' in page
    logins = page.split('id="period-logins"')[1].split("</tr>")[0]
    replies = page.split('id="period-replies"')[1].split("</tr>")[0]
    assert "Staff sign-in records" in logins and "30 days" in logins
    assert "Replies of staff to call-outs" in replies and "90 days" in replies
    with translation.override("ja"):
        japanese = Client().get("/transparency/").content.decode()
    assert "職員のサインイン記録" in japanese and "職員参集・安否確認への回答" in japanese
