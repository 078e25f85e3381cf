"""The council report: counts read from the database, the checklist read from the live
configuration, the audit chain head, and a Japanese PDF with its font embedded."""

from __future__ import annotations

import hashlib
import zlib
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone
from django.utils.translation import override

from anshin.conftest import make_subscriber
from anshin.core.audit import OPERATOR, Actor, audit_record, audit_verify
from anshin.core.models import AuditEvent
from anshin.governance import council
from anshin.governance.council_pdf import sections
from anshin.governance.models import CouncilReport, Incident
from anshin.governance.tests.factories import alert_message, client_for, staff_user

TODAY = timezone.localdate


@pytest.fixture
def auditor(db: Any) -> Any:
    return staff_user("auditor", "view_councilreport", "add_councilreport")


def _report() -> council.Report:
    """In English, so that labels are stable to assert on (the Japanese is tested apart)."""
    start, end = council.default_period()
    with override("en"):
        return council.council_report(start=start, end=end)


def _checks(report: council.Report) -> dict[str, str]:
    return {c.label: c.state for c in report.checklist}


@pytest.mark.django_db
def test_the_report_counts_personal_data_held_by_kind(categories: Any) -> None:
    make_subscriber("a@example.jp", categories["bousai"])
    make_subscriber("b@example.jp", categories["bousai"])
    make_subscriber("c@example.jp", categories["bouhan"], state="unsubscribed")
    held = dict(_report().held)
    assert held["Residents: Subscribed"] == 2
    assert held["Residents: Unsubscribed"] == 1
    assert held["Residents: Waiting for confirmation"] == 0
    assert held["Staff members (active)"] == 0


@pytest.mark.django_db
def test_deliveries_are_counted_per_month_and_category(categories: Any) -> None:
    sub = make_subscriber("a@example.jp", categories["bousai"])
    message = alert_message(sub, categories["bousai"], age=0, state="accepted")
    type(message.delivery).objects.filter(pk=message.delivery_id).update(total=1)
    [(month, category, alerts, recipients)] = _report().deliveries
    assert month == timezone.localtime().strftime("%Y-%m")
    assert (category, alerts, recipients) == (categories["bousai"].name_en, 1, 1)


@pytest.mark.django_db
def test_the_access_summary_counts_audit_actions_in_the_period() -> None:
    audit_record(actor=OPERATOR, action="backup.create")
    audit_record(actor=OPERATOR, action="backup.create")
    assert ("backup.create", 2) in _report().access


@pytest.mark.django_db
def test_the_report_carries_the_verified_chain_head() -> None:
    audit_record(actor=OPERATOR, action="test.one")
    report = _report()
    head = audit_verify()
    assert (report.chain.head_seq, report.chain.head_hash, report.chain.ok) == (
        head.head_seq,
        head.head_hash,
        True,
    )


@pytest.mark.django_db
def test_a_tampered_audit_log_fails_the_checklist() -> None:
    event = audit_record(actor=OPERATOR, action="test.one")
    AuditEvent.objects.filter(pk=event.pk).update(details={"forged": 1})
    report = _report()
    assert not report.chain.ok
    assert _checks(report)["Audit log chain verified"] == council.NG


@pytest.mark.django_db
def test_the_checklist_follows_the_live_configuration(settings: Any) -> None:
    settings.DATA_KEY_FROM_ENV = False
    settings.HTTPS = False
    settings.SMTP_URL = "smtp://relay.example.jp:25"
    checks = _checks(_report())
    assert checks["Encryption key of personal data set from the environment"] == council.NG
    assert checks["Pages and mail links use HTTPS"] == council.NG
    assert checks["Mail handed to the relay over TLS"] == council.NG
    assert checks["Backups taken"] == council.NG
    assert checks["Retention periods set and the nightly purge running"] == council.NG
    # The middleware is installed and no staff account lacks a device.
    assert checks["Two-factor login for staff"] == council.OK
    assert checks["Signing key of deletion certificates present"] == council.OK
    settings.DATA_KEY_FROM_ENV = True
    settings.HTTPS = True
    settings.SMTP_URL = "smtp+starttls://relay.example.jp:587"
    audit_record(actor=OPERATOR, action="backup.create")
    from anshin.governance.services import retention_purge

    retention_purge(actor=OPERATOR)
    checks = _checks(_report())
    for label in (
        "Encryption key of personal data set from the environment",
        "Pages and mail links use HTTPS",
        "Mail handed to the relay over TLS",
        "Backups taken",
        "Retention periods set and the nightly purge running",
    ):
        assert checks[label] == council.OK, label


@pytest.mark.django_db
def test_an_old_backup_needs_action(settings: Any) -> None:
    settings.BACKUP_MAX_AGE_DAYS = 7
    event = audit_record(actor=OPERATOR, action="backup.create")
    AuditEvent.objects.filter(pk=event.pk).update(at=timezone.now() - timedelta(days=8))
    assert _checks(_report())["Backups taken"] == council.NG


@pytest.mark.django_db
def test_incidents_closed_before_the_period_are_left_out(auditor: Any) -> None:
    def incident(title: str, found_days: int, closed_days: int | None) -> None:
        now = timezone.now()
        Incident.objects.create(
            kind="near_miss",
            title=title,
            summary="s",
            found_at=now - timedelta(days=found_days),
            created_by=auditor,
            created_at=now,
            closed_at=now - timedelta(days=closed_days) if closed_days is not None else None,
        )

    incident("old and closed", 800, 700)
    incident("old but open", 800, None)
    incident("this year", 10, 5)
    titles = sorted(i.title for i in _report().incidents)
    assert titles == ["old but open", "this year"]


# --- The PDF and the pages --------------------------------------------------------------------


def _text_streams(pdf: bytes) -> bytes:
    """Uncompressed content of every Flate stream (the PDF's text is in them)."""
    out = []
    for part in pdf.split(b"stream\n")[1:]:
        body = part.split(b"endstream")[0]
        try:
            out.append(zlib.decompress(body))
        except zlib.error:
            continue
    return b"".join(out)


@pytest.mark.django_db
def test_the_issued_pdf_is_japanese_with_the_font_embedded_and_is_kept(
    auditor: Any, categories: Any
) -> None:
    make_subscriber("a@example.jp", categories["bousai"])
    start, end = council.default_period()
    issued = council.council_report_issue(actor=Actor.staff(auditor), start=start, end=end)
    pdf = bytes(issued.pdf)
    assert pdf.startswith(b"%PDF-") and hashlib.sha256(pdf).hexdigest() == issued.pdf_sha256
    assert b"/FontFile" in pdf and b"NotoSansCJK" in pdf
    assert b"a@example.jp" not in pdf and b"a@example.jp" not in _text_streams(pdf)
    assert issued.chain_seq == audit_verify().head_seq - 1  # its own entry comes after
    event = AuditEvent.objects.get(action="council_report.issue")
    assert event.details == {"report": issued.pk, "chain_seq": issued.chain_seq}


@pytest.mark.django_db
def test_the_pdf_sections_read_in_japanese() -> None:
    with override("ja"):
        headings = [s.heading for s in sections(_report())]
    assert headings[0] == "自己点検チェックリスト"
    assert "保有している個人情報" in headings


@pytest.mark.django_db
def test_one_click_issues_and_downloads_the_pdf(auditor: Any) -> None:
    client = client_for(auditor)
    page = client.get("/console/governance/report/", HTTP_ACCEPT_LANGUAGE="ja")
    assert page.status_code == 200 and "自己点検チェックリスト" in page.content.decode()
    start, end = council.default_period()
    response = client.post(
        "/console/governance/report/issue/", {"start": start.isoformat(), "end": end.isoformat()}
    )
    issued = CouncilReport.objects.get()
    assert response["Location"] == f"/console/governance/report/{issued.pk}/pdf/"
    download = client.get(response["Location"])
    assert download["Content-Type"] == "application/pdf"
    assert download.content == bytes(issued.pdf)


@pytest.mark.django_db
@pytest.mark.parametrize(
    "query",
    [
        "?start=2026-05-01&end=2026-04-01",
        "?start=2000-01-01&end=2026-01-01",
        "?start=x&end=<script>",
        "?start=" + "9" * 5000 + "&end=2026-01-01",
    ],
)
def test_a_malformed_period_is_refused(auditor: Any, query: str) -> None:
    response = client_for(auditor).get("/console/governance/report/" + query)
    assert response.status_code == 400 and b"<script>" not in response.content
    bad = client_for(auditor).post("/console/governance/report/issue/", {"start": "x", "end": "y"})
    assert bad.status_code == 400 and CouncilReport.objects.count() == 0


@pytest.mark.django_db
def test_staff_without_the_permission_see_and_issue_nothing(auditor: Any) -> None:
    start, end = council.default_period()
    council.council_report_issue(actor=Actor.staff(auditor), start=start, end=end)
    reader = client_for(staff_user("reader", "view_councilreport"))
    nobody = client_for(staff_user("nobody"))
    before = AuditEvent.objects.count()
    assert nobody.get("/console/governance/report/").status_code == 403
    assert (
        nobody.get(f"/console/governance/report/{CouncilReport.objects.get().pk}/pdf/").status_code
        == 403
    )
    period = {"start": start.isoformat(), "end": end.isoformat()}
    assert reader.post("/console/governance/report/issue/", period).status_code == 403
    assert CouncilReport.objects.count() == 1 and AuditEvent.objects.count() == before
