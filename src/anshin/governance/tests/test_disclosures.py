"""The disclosure ledger (P3): the address is never stored, two different people are needed,
the file opens with the one-time passphrase only, every step is audited, and a forbidden step
changes nothing."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied
from django.core.management import CommandError, call_command
from django.db import IntegrityError, transaction
from django.utils import timezone

from anshin.conftest import make_subscriber
from anshin.core.audit import Actor, audit_verify
from anshin.core.models import AuditEvent
from anshin.governance import disclosures as ledger
from anshin.governance import sealing
from anshin.governance.models import Disclosure
from anshin.governance.tests.factories import client_for, staff_user

ADDRESS = "taro..jiro@docomo.ne.jp"
REQUEST = {
    "purpose": "窃盗事件の捜査のため",
    "recipient": "安心警察署 生活安全課",
    "legal_basis": "刑事訴訟法第197条第2項",
    "reference": "安心署第123号",
}
State = Disclosure.State


@pytest.fixture
def clerk(db: Any) -> Any:
    return staff_user("clerk", "view_disclosure", "add_disclosure", "approve_disclosure")


@pytest.fixture
def chief(db: Any) -> Any:
    return staff_user("chief", "view_disclosure", "approve_disclosure", "change_disclosure")


@pytest.fixture
def requested(clerk: Any, categories: Any) -> Disclosure:
    make_subscriber(ADDRESS, categories["bouhan"])
    return ledger.disclosure_request(actor=Actor.staff(clerk), address=ADDRESS, **REQUEST)


def _everything_stored(disclosure: Disclosure) -> str:
    rows = Disclosure.objects.filter(pk=disclosure.pk).values()
    audit = AuditEvent.objects.values_list("details", flat=True)
    return json.dumps([list(rows), list(audit)], default=str, ensure_ascii=False)


@pytest.mark.django_db
def test_a_request_stores_the_keyed_code_and_the_row_never_the_address(
    requested: Disclosure,
) -> None:
    assert requested.subscriber is not None and requested.subscriber.email == ADDRESS
    assert requested.subject_hash == requested.subscriber.email_hash
    assert "taro" not in _everything_stored(requested)
    event = AuditEvent.objects.get(action="disclosure.request")
    assert event.details == {"disclosure": requested.pk, "subscriber": requested.subscriber_id}


@pytest.mark.django_db
def test_the_requester_can_never_approve_their_own_request(
    requested: Disclosure, clerk: Any
) -> None:
    before = AuditEvent.objects.count()
    with pytest.raises(ledger.DisclosureRefused):
        ledger.disclosure_approve(actor=Actor.staff(clerk), disclosure=requested)
    with pytest.raises(ledger.DisclosureRefused):
        ledger.disclosure_reject(actor=Actor.staff(clerk), disclosure=requested, note="")
    requested.refresh_from_db()
    assert requested.state == State.REQUESTED and requested.decided_by is None
    assert bytes(requested.sealed) == b"" and AuditEvent.objects.count() == before


@pytest.mark.django_db
def test_the_database_refuses_a_self_approval_whatever_the_code_does(
    requested: Disclosure, clerk: Any
) -> None:
    with pytest.raises(IntegrityError), transaction.atomic():
        Disclosure.objects.filter(pk=requested.pk).update(decided_by=clerk, state=State.APPROVED)


@pytest.mark.django_db
def test_approval_needs_the_approval_permission(requested: Disclosure) -> None:
    viewer = staff_user("viewer", "view_disclosure", "change_disclosure")
    with pytest.raises(PermissionDenied):
        ledger.disclosure_approve(actor=Actor.staff(viewer), disclosure=requested)
    requested.refresh_from_db()
    assert requested.state == State.REQUESTED


@pytest.mark.django_db
def test_an_approved_file_opens_with_the_passphrase_and_holds_the_record(
    requested: Disclosure, chief: Any
) -> None:
    approved = ledger.disclosure_approve(actor=Actor.staff(chief), disclosure=requested, note="可")
    assert approved.disclosure.state == State.APPROVED
    assert approved.disclosure.decided_by == chief and approved.disclosure.records == 1
    sealed = ledger.disclosure_file(actor=Actor.staff(chief), disclosure=approved.disclosure)
    document = json.loads(sealing.unseal(sealed, approved.passphrase))
    assert document["reference"] == "安心署第123号" and document["found"] is True
    [record] = document["records"]
    assert record["address"] == ADDRESS
    assert record["state"] == "active" and record["categories"] == ["bouhan"]
    assert approved.passphrase not in _everything_stored(approved.disclosure)
    actions = list(AuditEvent.objects.order_by("seq").values_list("action", flat=True))
    assert actions[-3:] == ["disclosure.request", "disclosure.approve", "disclosure.download"]
    assert audit_verify().ok


@pytest.mark.django_db
def test_an_address_with_no_registration_gives_a_file_saying_so(clerk: Any, chief: Any) -> None:
    request = ledger.disclosure_request(
        actor=Actor.staff(clerk), address="nobody@example.jp", **REQUEST
    )
    assert request.subscriber is None
    approved = ledger.disclosure_approve(actor=Actor.staff(chief), disclosure=request)
    document = json.loads(sealing.unseal(bytes(approved.disclosure.sealed), approved.passphrase))
    assert document["found"] is False and document["records"] == []


@pytest.mark.django_db
def test_recording_the_handover_keeps_date_and_person_and_erases_the_copy(
    requested: Disclosure, chief: Any
) -> None:
    approved = ledger.disclosure_approve(actor=Actor.staff(chief), disclosure=requested)
    today = timezone.localdate()
    done = ledger.disclosure_record_provided(
        actor=Actor.staff(chief), disclosure=approved.disclosure, provided_on=today, method="手渡し"
    )
    assert (done.state, done.provided_on, done.provided_by) == (State.PROVIDED, today, chief)
    assert bytes(done.sealed) == b"" and len(done.sealed_sha256) == 64
    with pytest.raises(ledger.DisclosureRefused):
        ledger.disclosure_file(actor=Actor.staff(chief), disclosure=done)


@pytest.mark.django_db
def test_a_request_cannot_be_decided_twice(requested: Disclosure, chief: Any) -> None:
    other = staff_user("other", "approve_disclosure")
    ledger.disclosure_reject(actor=Actor.staff(chief), disclosure=requested, note="根拠不足")
    stale = Disclosure.objects.get(pk=requested.pk)
    stale.state = State.REQUESTED  # a second approver on a page loaded before the rejection
    with pytest.raises(ledger.DisclosureRefused):
        ledger.disclosure_approve(actor=Actor.staff(other), disclosure=stale)
    assert Disclosure.objects.get(pk=requested.pk).state == State.REJECTED


# --- Pages -----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_staff_request_and_another_approves_through_the_pages(
    clerk: Any, chief: Any, categories: Any
) -> None:
    make_subscriber(ADDRESS, categories["bousai"])
    page = client_for(clerk).post(
        "/console/governance/disclosures/", {**REQUEST, "address": ADDRESS}
    )
    disclosure = Disclosure.objects.get()
    assert page.status_code == 302 and page["Location"].endswith(f"/{disclosure.pk}/")
    own = client_for(clerk).get(page["Location"], HTTP_ACCEPT_LANGUAGE="ja").content.decode()
    assert 'id="own-request"' in own and 'value="approve"' not in own
    url = f"/console/governance/disclosures/{disclosure.pk}/"
    refused = client_for(clerk).post(url + "decide/", {"decision": "approve"})
    assert refused.status_code == 409
    assert Disclosure.objects.get().state == State.REQUESTED
    approved = client_for(chief).post(url + "decide/", {"decision": "approve", "note": "可"})
    assert approved["Cache-Control"] == "no-store"
    passphrase = approved.context["passphrase"]
    assert passphrase in approved.content.decode()
    assert passphrase not in client_for(chief).get(url).content.decode()
    download = client_for(chief).get(url + "file/")
    assert download["Content-Disposition"].endswith(f'"disclosure-{disclosure.pk}.anshin"')
    document = json.loads(sealing.unseal(download.content, passphrase))
    assert document["records"][0]["address"] == ADDRESS


@pytest.mark.django_db
def test_staff_without_permissions_change_nothing(requested: Disclosure, chief: Any) -> None:
    nobody = client_for(staff_user("nobody"))
    viewer = client_for(staff_user("viewer", "view_disclosure"))
    before = (AuditEvent.objects.count(), Disclosure.objects.count())
    base = f"/console/governance/disclosures/{requested.pk}/"
    assert nobody.get("/console/governance/disclosures/").status_code == 403
    assert (
        nobody.post(
            "/console/governance/disclosures/", {**REQUEST, "address": "a@b.jp"}
        ).status_code
        == 403
    )
    assert (
        viewer.post(
            "/console/governance/disclosures/", {**REQUEST, "address": "a@b.jp"}
        ).status_code
        == 403
    )
    assert viewer.post(base + "decide/", {"decision": "approve"}).status_code == 403
    assert (
        viewer.post(base + "provided/", {"provided_on": "2026-01-01", "method": "x"}).status_code
        == 403
    )
    assert viewer.get(base + "file/").status_code == 403  # no file yet
    assert (AuditEvent.objects.count(), Disclosure.objects.count()) == before
    assert Disclosure.objects.get().state == State.REQUESTED


@pytest.mark.django_db
@pytest.mark.parametrize(
    "change",
    [
        {"address": "not an address"},
        {"address": "a" * 400 + "@example.jp"},
        {"address": "<script>@x"},
        {"recipient": "x" * 201},
        {"purpose": "x" * 2001},
        {"purpose": ""},
        {"legal_basis": ""},
    ],
)
def test_malformed_or_oversized_requests_are_refused(clerk: Any, change: dict[str, str]) -> None:
    response = client_for(clerk).post(
        "/console/governance/disclosures/", {**REQUEST, "address": ADDRESS, **change}
    )
    assert response.status_code == 400
    assert Disclosure.objects.count() == 0
    assert b"<script>" not in response.content


@pytest.mark.django_db
@pytest.mark.parametrize("day", ["", "2026-13-40", "9999-01-01", "<b>"])
def test_a_handover_date_must_be_a_real_past_day(
    requested: Disclosure, chief: Any, day: str
) -> None:
    approved = ledger.disclosure_approve(actor=Actor.staff(chief), disclosure=requested)
    url = f"/console/governance/disclosures/{approved.disclosure.pk}/provided/"
    response = client_for(chief).post(url, {"provided_on": day, "method": "手渡し"})
    assert response.status_code == 400
    assert Disclosure.objects.get().state == State.APPROVED


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["999999/", "0/file/", "abc/", "1" * 300 + "/decide/"])
def test_unknown_or_malformed_disclosure_ids_are_not_found(chief: Any, path: str) -> None:
    client = client_for(chief)
    response = (client.post if "decide" in path else client.get)(
        "/console/governance/disclosures/" + path
    )
    assert response.status_code == 404


@pytest.mark.django_db
def test_the_processors_page_lists_relay_and_sms_without_secrets(settings: Any, clerk: Any) -> None:
    settings.SMTP_URL = "smtp+starttls://user:s3cret-pw@relay.example.jp:587"
    settings.SMS_URL = "smseagles://tok3n-value@sms.example.jp"
    settings.MAIL_PROCESSOR_NAME = "株式会社メール配信"
    text = client_for(clerk).get("/console/governance/processors/", HTTP_ACCEPT_LANGUAGE="ja")
    body = text.content.decode()
    assert "relay.example.jp" in body and "sms.example.jp" in body and "株式会社メール配信" in body
    assert "s3cret" not in body and "tok3n" not in body and "user:" not in body


@pytest.mark.django_db
def test_the_processors_page_says_when_sms_is_not_used(settings: Any, clerk: Any) -> None:
    settings.SMS_URL = ""
    body = client_for(clerk).get("/console/governance/processors/").content.decode()
    assert body.count('colspan="3"') == 1


# --- The recipient's command ----------------------------------------------------------------


@pytest.mark.django_db
def test_the_recipient_decrypts_the_file_with_the_command(
    requested: Disclosure, chief: Any, tmp_path: Path
) -> None:
    approved = ledger.disclosure_approve(actor=Actor.staff(chief), disclosure=requested)
    sealed, secret, out = tmp_path / "d.anshin", tmp_path / "pass.txt", tmp_path / "d.json"
    sealed.write_bytes(bytes(approved.disclosure.sealed))
    secret.write_text(approved.passphrase.lower() + "\n")
    call_command(
        "disclosures",
        "decrypt",
        str(sealed),
        "--passphrase-file",
        str(secret),
        "--output",
        str(out),
    )
    assert json.loads(out.read_text())["records"][0]["address"] == ADDRESS
    secret.write_text("WRONG-PASS\n")
    with pytest.raises(CommandError) as refused:
        call_command("disclosures", "decrypt", str(sealed), "--passphrase-file", str(secret))
    assert refused.value.returncode == 1


@pytest.mark.parametrize("name", ["/nonexistent/file", "/dev/null"])
def test_the_command_refuses_unreadable_or_empty_files(tmp_path: Path, name: str) -> None:
    secret = tmp_path / "pass.txt"
    secret.write_text("AAAA\n")
    with pytest.raises(CommandError):
        call_command("disclosures", "decrypt", name, "--passphrase-file", str(secret))
