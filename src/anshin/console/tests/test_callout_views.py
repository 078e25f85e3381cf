"""Staff console: call-outs — compose with a live count, send, the board (audited), reminders
and the CSV export, each behind its permission; hostile input refused with nothing written."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth.models import Permission
from django.test import Client
from django.utils import timezone

from anshin.conftest import staff_login
from anshin.core.audit import OPERATOR
from anshin.core.models import AuditEvent
from anshin.directory.callouts.services import CalloutDraft, callout_reply, callout_send
from anshin.directory.models_callout import Callout, CalloutRecipient, CalloutReminder
from anshin.directory.tests.conftest import make_staff

pytestmark = pytest.mark.django_db

DEADLINE = (timezone.localtime() + timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M")


def term(field: str, value: str) -> str:
    return json.dumps([field, value], ensure_ascii=False)


@pytest.fixture(autouse=True)
def staff() -> None:
    make_staff("a@city.lg.jp", name="安全一郎", staff_id="S1", department="防災安全課",
               oncall_group="A", area="北部")  # fmt: skip
    make_staff("b@city.lg.jp", name="=HYPERLINK(\"x\")", staff_id="S2", department="総務課",
               oncall_group="A", area="南部")  # fmt: skip
    make_staff("c@city.lg.jp", name="髙橋", staff_id="S3", department="総務課", area="北部")


def _client(user: Any) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    staff_login(client, user)
    return client


@pytest.fixture
def sender(django_user_model: Any) -> Client:
    user = django_user_model.objects.create_user("sender", password="x", is_staff=True)
    for codename in ("send_callout", "export_callout"):
        user.user_permissions.add(Permission.objects.get(codename=codename))
    return _client(user)


@pytest.fixture
def outsider(django_user_model: Any) -> Client:
    return _client(django_user_model.objects.create_user("other", password="x", is_staff=True))


def form(**changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "subject": "参集指示",
        "body": "参集の可否を回答してください。",
        "choices": "参集可能\n参集不可",
        "reply_deadline": DEADLINE,
        "send_email": "on",
        "g1": [term("department", "防災安全課"), term("oncall_group", "A")],
        "g2": [term("area", "北部")],
        "send": "1",
    }
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


def sent_callout() -> Callout:
    return callout_send(
        draft=CalloutDraft(
            subject="安否確認",
            body="状況を回答してください。",
            selection=[],
            choices=("無事", "負傷"),
            reply_deadline=timezone.now() + timedelta(hours=1),
        ),
        actor=OPERATOR,
    )


# --- permissions -------------------------------------------------------------------------------


def test_without_permission_every_page_is_403_and_nothing_happens(outsider: Client) -> None:
    callout = sent_callout()
    AuditEvent.objects.all().delete()
    assert outsider.get("/console/callouts/").status_code == 403
    assert outsider.get("/console/callouts/new/").status_code == 403
    assert outsider.post("/console/callouts/new/", form()).status_code == 403
    assert outsider.post("/console/callouts/count/", form()).status_code == 403
    assert outsider.get(f"/console/callouts/{callout.pk}/").status_code == 403
    assert outsider.post(f"/console/callouts/{callout.pk}/remind/").status_code == 403
    assert outsider.post(f"/console/callouts/{callout.pk}/export/").status_code == 403
    assert Callout.objects.count() == 1 and not CalloutReminder.objects.exists()
    assert not AuditEvent.objects.exclude(action="staff.sign_in").exists()


def test_signed_out_visitors_are_sent_to_the_login_page(client: Client) -> None:
    page = client.get("/console/callouts/new/")
    assert page.status_code == 302 and page["Location"].startswith("/console/login/")


def test_a_viewer_sees_the_board_but_cannot_send(django_user_model: Any) -> None:
    user = django_user_model.objects.create_user("viewer", password="x", is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="view_callout"))
    viewer = _client(user)
    callout = sent_callout()
    assert viewer.get(f"/console/callouts/{callout.pk}/").status_code == 200
    assert viewer.post("/console/callouts/new/", form()).status_code == 403
    assert viewer.post(f"/console/callouts/{callout.pk}/export/").status_code == 403
    assert Callout.objects.count() == 1


# --- compose -----------------------------------------------------------------------------------


def test_compose_offers_the_values_present_in_the_directory(sender: Client) -> None:
    html = sender.get("/console/callouts/new/").content.decode()
    assert "防災安全課" in html and "総務課" in html and "南部" in html
    assert 'hx-post="/console/callouts/count/"' in html


def test_the_live_count_counts_active_staff_that_match(sender: Client) -> None:
    page = sender.post("/console/callouts/count/", form(), HTTP_HX_REQUEST="true")
    assert re.search(r'id="count-value">1<', page.content.decode())
    everyone = sender.post("/console/callouts/count/", form(g1=None, g2=None))
    assert 'id="count-value">3<' in everyone.content.decode()


def test_the_count_button_works_without_javascript(sender: Client) -> None:
    page = sender.post("/console/callouts/new/", form(send=None, count="1"))
    assert page.status_code == 200 and 'id="count-value">1<' in page.content.decode()
    assert not Callout.objects.exists()


def test_a_preset_fills_the_choices(sender: Client) -> None:
    page = sender.post("/console/callouts/new/", form(send=None, preset="safety", choices=""))
    assert "無事\n負傷\n自宅被害</textarea>" in page.content.decode()
    assert not Callout.objects.exists()


def test_sending_creates_the_call_out_and_opens_its_board(sender: Client) -> None:
    page = sender.post("/console/callouts/new/", form())
    callout = Callout.objects.get()
    assert page.status_code == 302 and page["Location"] == f"/console/callouts/{callout.pk}/"
    assert callout.total == 1 and callout.choices == ["参集可能", "参集不可"]
    event = AuditEvent.objects.get(action="callout.send")
    assert event.actor_user is not None and event.actor_user.username == "sender"


@pytest.mark.parametrize(
    "changes",
    [
        {"body": "あ" * 5001},
        {"subject": "x" * 201},
        {"choices": "\n".join(f"選択肢{n}" for n in range(1000))},
        {"choices": "\n".join(f"c{n}" for n in range(11))},
        {"reply_deadline": "2000-01-01T00:00"},
        {"reply_deadline": "not a date"},
        {"send_email": None},
        {"g1": [term("department", "存在しない課")]},
        {"g1": ["not json"]},
        {"g1": [json.dumps(["password", "x"])]},
        {"g1": [term("department", "x") for _ in range(201)]},
        {"reminder_after_minutes": "99999"},
    ],
)
def test_hostile_or_invalid_input_is_refused_and_nothing_is_sent(
    sender: Client, changes: dict[str, Any]
) -> None:
    page = sender.post("/console/callouts/new/", form(**changes))
    assert page.status_code in (200, 400)
    assert (
        not Callout.objects.exists()
        and not AuditEvent.objects.exclude(action="staff.sign_in").exists()
    )
    assert 'class="errorlist"' in page.content.decode()


def test_a_script_in_the_subject_is_shown_as_text(sender: Client) -> None:
    sender.post("/console/callouts/new/", form(subject="<script>alert(1)</script>"))
    callout = Callout.objects.get()
    html = sender.get(f"/console/callouts/{callout.pk}/").content.decode()
    assert "<script>alert(1)</script>" not in html and "&lt;script&gt;alert(1)" in html


# --- board -------------------------------------------------------------------------------------


def test_the_board_shows_counts_and_names_and_its_viewing_is_audited(sender: Client) -> None:
    callout = sent_callout()
    recipient = CalloutRecipient.objects.select_related("callout").get(member__staff_id="S1")
    callout_reply(recipient=recipient, choice="1")
    html = sender.get(f"/console/callouts/{callout.pk}/").content.decode()
    assert re.search(r'data-choice="1">1<', html) and 'id="count-no-answer">2<' in html
    assert "安全一郎" in html and 'hx-trigger="every 3s"' in html
    assert AuditEvent.objects.filter(action="callout.board_view").count() == 1
    partial = sender.get(f"/console/callouts/{callout.pk}/", HTTP_HX_REQUEST="true")
    assert "<html" not in partial.content.decode() and "安全一郎" in partial.content.decode()
    assert AuditEvent.objects.filter(action="callout.board_view").count() == 1


def test_an_unknown_call_out_is_404(sender: Client) -> None:
    assert sender.get("/console/callouts/999999/").status_code == 404


def test_the_remind_button_reminds_those_who_have_not_answered(sender: Client) -> None:
    callout = sent_callout()
    recipient = CalloutRecipient.objects.select_related("callout").get(member__staff_id="S1")
    callout_reply(recipient=recipient, choice="0")
    page = sender.post(f"/console/callouts/{callout.pk}/remind/")
    assert page.status_code == 302
    reminder = CalloutReminder.objects.get()
    assert (reminder.number, reminder.recipients, reminder.automatic) == (1, 2, False)
    assert sender.get(f"/console/callouts/{callout.pk}/remind/").status_code == 405


# --- export ------------------------------------------------------------------------------------


def test_export_is_csv_with_formula_cells_neutralised_and_audited(sender: Client) -> None:
    callout = sent_callout()
    page = sender.post(f"/console/callouts/{callout.pk}/export/", {"encoding": "utf-8"})
    text = page.content.decode("utf-8-sig")
    assert page["Content-Type"] == "text/csv; charset=utf-8"
    assert text.splitlines()[0] == "職員番号,氏名,所属（送信時）,回答,回答日時,メール,SMS"
    assert '\'=HYPERLINK(""x"")' in text and "未回答" in text
    event = AuditEvent.objects.get(action="callout.export")
    assert event.details == {"rows": 3, "encoding": "utf-8"}


def test_export_in_cp932(sender: Client) -> None:
    callout = sent_callout()
    page = sender.post(f"/console/callouts/{callout.pk}/export/", {"encoding": "cp932"})
    assert "髙橋" in page.content.decode("cp932")


def test_export_with_an_unknown_encoding_falls_back_to_utf8(sender: Client) -> None:
    callout = sent_callout()
    page = sender.post(f"/console/callouts/{callout.pk}/export/", {"encoding": "../../x"})
    assert page.content.startswith("\ufeff".encode())
