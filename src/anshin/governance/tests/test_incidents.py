"""The near-miss and incident register (S12): deadlines counted from the day found, ticks,
the periodic review prompt, and pages that refuse bad input and unpermitted staff."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from anshin.core.audit import Actor
from anshin.core.models import AuditEvent
from anshin.governance import incidents as register
from anshin.governance.models import Incident
from anshin.governance.periodic import incidents_review_prompt
from anshin.governance.tests.factories import client_for, staff_user

TOKYO = ZoneInfo("Asia/Tokyo")
FOUND = datetime(2026, 4, 1, 23, 30, tzinfo=TOKYO)
FIELDS: dict[str, Any] = {
    "kind": Incident.Kind.INCIDENT,
    "title": "誤送信",
    "summary": "別の宛先にメールを送った",
    "occurred_at": FOUND - timedelta(hours=2),
    "found_at": FOUND,
    "affected": 12,
    "malicious": False,
    "cause": "",
    "measures": "",
}


@pytest.fixture
def officer(db: Any) -> Any:
    return staff_user("officer", "view_incident", "add_incident", "change_incident")


def _record(officer: Any, **change: Any) -> Incident:
    return register.incident_record(actor=Actor.staff(officer), **{**FIELDS, **change})


@pytest.mark.django_db
def test_an_incident_shows_prompt_and_final_report_deadlines_from_the_day_found(
    officer: Any,
) -> None:
    incident = _record(officer)
    prompt, final = register.incident_deadlines(incident, today=date(2026, 4, 10))
    assert (prompt.due_from, prompt.due) == (date(2026, 4, 4), date(2026, 4, 6))
    assert prompt.overdue and final.due == date(2026, 5, 1) and not final.overdue


@pytest.mark.django_db
def test_a_malicious_incident_has_sixty_days_for_the_final_report(officer: Any) -> None:
    incident = _record(officer, malicious=True)
    _prompt, final = register.incident_deadlines(incident, today=date(2026, 4, 2))
    assert final.due == date(2026, 5, 31)


@pytest.mark.django_db
def test_a_near_miss_has_no_reporting_deadlines(officer: Any) -> None:
    assert register.incident_deadlines(_record(officer, kind=Incident.Kind.NEAR_MISS)) == []


@pytest.mark.django_db
def test_ticking_a_report_records_its_day_and_is_audited(officer: Any) -> None:
    incident = _record(officer)
    done = register.incident_report_done(
        actor=Actor.staff(officer), incident=incident, report="prompt", on=date(2026, 4, 3)
    )
    prompt, final = register.incident_deadlines(done, today=date(2026, 4, 20))
    assert prompt.done_on == date(2026, 4, 3) and not prompt.overdue and final.done_on is None
    event = AuditEvent.objects.filter(action="incident.report").get()
    assert event.details == {
        "incident": incident.pk,
        "kind": "incident",
        "report": "prompt",
        "on": "2026-04-03",
    }


@pytest.mark.django_db
def test_open_entries_not_reviewed_for_n_days_are_flagged_once(officer: Any, settings: Any) -> None:
    settings.INCIDENT_REVIEW_DAYS = 30
    stale, fresh, closed = _record(officer), _record(officer), _record(officer)
    Incident.objects.filter(pk__in=[stale.pk, closed.pk]).update(
        last_reviewed_at=timezone.now() - timedelta(days=31)
    )
    Incident.objects.filter(pk=closed.pk).update(closed_at=timezone.now())
    assert incidents_review_prompt() == {"incidents_flagged": 1}
    assert incidents_review_prompt() == {"incidents_flagged": 0}
    assert list(register.incidents_due_for_review()) == [stale]
    assert AuditEvent.objects.filter(action="incident.review_due").count() == 1
    register.incident_review(actor=Actor.staff(officer), incident=stale, close=False)
    assert list(register.incidents_due_for_review()) == []
    assert Incident.objects.get(pk=fresh.pk).review_flagged_at is None


@pytest.mark.django_db
def test_the_hub_shows_entries_due_for_review(officer: Any) -> None:
    incident = _record(officer)
    Incident.objects.filter(pk=incident.pk).update(review_flagged_at=timezone.now())
    page = client_for(officer).get("/console/governance/", HTTP_ACCEPT_LANGUAGE="ja")
    assert 'id="incidents-due"' in page.content.decode()


# --- Pages -----------------------------------------------------------------------------------


def _form(**change: str) -> dict[str, str]:
    return {
        "kind": "incident",
        "title": "誤送信",
        "summary": "別の宛先に送った",
        "occurred_at": "2026-04-01T21:30",
        "found_at": "2026-04-01T23:30",
        "affected": "12",
        "cause": "",
        "measures": "",
        **change,
    }


@pytest.mark.django_db
def test_staff_record_an_incident_and_tick_its_prompt_report(officer: Any) -> None:
    client = client_for(officer)
    response = client.post("/console/governance/incidents/", _form())
    incident = Incident.objects.get()
    assert response.status_code == 302 and incident.affected == 12
    assert timezone.localtime(incident.found_at) == FOUND
    page = client.get(f"/console/governance/incidents/{incident.pk}/", HTTP_ACCEPT_LANGUAGE="ja")
    text = page.content.decode()
    assert "速やかに（2026-04-04～2026-04-06 まで）" in text and "2026-05-01 まで" in text
    client.post(
        f"/console/governance/incidents/{incident.pk}/report/",
        {"report": "prompt", "on": "2026-04-03"},
    )
    assert Incident.objects.get().prompt_reported_on == date(2026, 4, 3)


@pytest.mark.django_db
@pytest.mark.parametrize(
    "change",
    [
        {"found_at": ""},
        {"found_at": "not a date"},
        {"found_at": "2999-01-01T00:00"},
        {"occurred_at": "2026-04-02T00:00"},  # after it was found
        {"affected": "-1"},
        {"affected": "99999999999"},
        {"kind": "<script>"},
        {"title": "x" * 201},
        {"summary": "x" * 5001},
    ],
)
def test_malformed_or_hostile_entries_are_refused(officer: Any, change: dict[str, str]) -> None:
    response = client_for(officer).post("/console/governance/incidents/", _form(**change))
    assert response.status_code == 400
    assert Incident.objects.count() == 0
    assert b"<script>" not in response.content


@pytest.mark.django_db
@pytest.mark.parametrize("on", ["2999-01-01", "2026-02-30", "x"])
def test_a_report_day_must_be_a_real_past_day(officer: Any, on: str) -> None:
    incident = _record(officer)
    url = f"/console/governance/incidents/{incident.pk}/report/"
    assert client_for(officer).post(url, {"report": "prompt", "on": on}).status_code == 400
    assert Incident.objects.get().prompt_reported_on is None


@pytest.mark.django_db
def test_staff_without_permissions_change_nothing(officer: Any) -> None:
    incident = _record(officer)
    reader = client_for(staff_user("reader", "view_incident"))
    nobody = client_for(staff_user("nobody"))
    before = AuditEvent.objects.count()
    base = f"/console/governance/incidents/{incident.pk}/"
    assert nobody.get("/console/governance/incidents/").status_code == 403
    assert reader.post("/console/governance/incidents/", _form()).status_code == 403
    assert reader.post(base, _form(title="改ざん")).status_code == 403
    assert reader.post(base + "report/", {"report": "final", "on": "2026-04-03"}).status_code == 403
    assert reader.post(base + "review/", {"close": "on"}).status_code == 403
    assert AuditEvent.objects.count() == before
    row = Incident.objects.get()
    assert (row.title, row.final_reported_on, row.closed_at) == ("誤送信", None, None)
    assert Incident.objects.count() == 1


@pytest.mark.django_db
def test_reviewing_with_close_closes_the_entry(officer: Any) -> None:
    incident = _record(officer)
    client_for(officer).post(
        f"/console/governance/incidents/{incident.pk}/review/", {"close": "on"}
    )
    assert Incident.objects.get().closed_at is not None
    again = client_for(officer).post(f"/console/governance/incidents/{incident.pk}/review/")
    assert again.status_code == 404
