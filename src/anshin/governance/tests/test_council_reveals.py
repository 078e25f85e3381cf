"""The council report counts, per month and from the audit log, how often staff saw a full
address (each time with a stated reason, P2) and looked a resident up by exact address."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone
from django.utils.translation import override

from anshin.conftest import make_subscriber
from anshin.core.audit import Actor
from anshin.core.models import AuditEvent
from anshin.governance import access, council
from anshin.governance.tests.factories import client_for, staff_user

pytestmark = pytest.mark.django_db


def _report() -> council.Report:
    start, end = council.default_period()
    with override("en"):
        return council.council_report(start=start, end=end)


def test_reveals_and_look_ups_are_counted_per_month(categories: Any) -> None:
    resident = make_subscriber("taro@example.jp", categories["bousai"])
    clerk = Actor.staff(staff_user("clerk", "view_subscriber", "reveal_address"))
    access.address_reveal(
        actor=clerk, subscriber=resident, reason="inquiry", note="電話での問い合わせ"
    )
    access.address_reveal(
        actor=clerk, subscriber=resident, reason="other", note="配信記録の確認のため"
    )
    access.subscriber_look_up(actor=clerk, address="taro@example.jp")
    earlier = AuditEvent.objects.filter(action=access.REVEALED).order_by("seq").first()
    assert earlier is not None
    AuditEvent.objects.filter(pk=earlier.pk).update(at=timezone.now() - timedelta(days=62))
    this_month = timezone.localtime().strftime("%Y-%m")
    that_month = timezone.localtime(timezone.now() - timedelta(days=62)).strftime("%Y-%m")
    assert _report().reveals == [(that_month, 1, 0), (this_month, 1, 1)]


def test_the_report_page_shows_the_reveals_table(categories: Any) -> None:
    resident = make_subscriber("taro@example.jp", categories["bousai"])
    clerk = Actor.staff(staff_user("clerk", "reveal_address"))
    access.address_reveal(
        actor=clerk, subscriber=resident, reason="inquiry", note="電話での問い合わせ"
    )
    viewer = client_for(staff_user("auditor", "view_councilreport"))
    viewer.cookies["django_language"] = "en"
    page = viewer.get("/console/governance/report/").content.decode()
    table = page.split('id="reveals"')[1].split("</table>")[0]
    assert timezone.localtime().strftime("%Y-%m") in table
    assert '<td class="count">1</td><td class="count">0</td>' in table
    assert "taro" not in page
