"""Staff roles: the groups hold exactly the permissions of anshin.core.roles, each role reaches
exactly its pages, a forbidden action changes nothing, and `anshin roles` is audited."""

from __future__ import annotations

from io import StringIO
from typing import Any

import pytest
from django.contrib.auth.models import Group, User
from django.core.management import CommandError, call_command
from django.test import Client

from anshin.alerts.models import Alert
from anshin.api.models import ApiKey
from anshin.conftest import Sink, staff_device, staff_login
from anshin.core.audit import OPERATOR
from anshin.core.models import AuditEvent
from anshin.core.roles import ROLES, group_permissions, role_grant, role_named
from anshin.governance import council

pytestmark = pytest.mark.django_db

ALL = ("author", "approver", "administrator", "auditor")
#: page -> the roles that may open it (everyone else gets 403)
PAGES = {
    "/console/compose/": {"author"},
    "/console/callouts/": {"author", "administrator", "auditor"},
    "/console/callouts/new/": {"author"},
    "/console/inbound/": {"author"},
    "/console/directory/": {"administrator"},
    "/console/directory/upload/": {"administrator"},
    "/console/api-keys/": {"administrator"},
    "/console/receipts/": {"administrator", "auditor"},
    "/console/residents/import/": {"administrator"},
    "/console/governance/disclosures/": {"approver", "administrator", "auditor"},
    "/console/governance/incidents/": {"author", "administrator", "auditor"},
    "/console/governance/notices/": {"administrator", "auditor"},
    "/console/governance/certificates/": {"auditor"},
    "/console/governance/report/": {"administrator", "auditor"},
    "/console/channels/": {"administrator", "auditor"},
}


def client_with(role: str) -> Client:
    user = User.objects.create_user(f"staff-{role}", password="x")
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    staff_login(client, user, roles=(role,))
    return client


def test_the_groups_hold_exactly_the_documented_permissions() -> None:
    for role in ROLES.values():
        assert group_permissions(Group.objects.get(name=role.group)) == set(role.permissions)
    assert set(Group.objects.values_list("name", flat=True)) >= {
        "作成者",
        "承認者",
        "管理者",
        "監査者",
    }


@pytest.mark.parametrize("role", ALL)
def test_each_role_opens_exactly_its_pages(role: str) -> None:
    client = client_with(role)
    for page, allowed in PAGES.items():
        expected = 200 if role in allowed else 403
        assert client.get(page).status_code == expected, (role, page)


@pytest.mark.parametrize("role", ["approver", "administrator", "auditor"])
def test_only_authors_send_alerts_and_a_refusal_sends_nothing(
    role: str, categories: Any, smtp_sink: Sink
) -> None:
    client = client_with(role)
    data = {"category": "bousai", "subject": "避難指示", "body": "本文", "send": "1"}
    assert client.post("/console/compose/", data).status_code == 403
    assert not Alert.objects.exists() and smtp_sink.messages == []
    assert not AuditEvent.objects.filter(action__startswith="alert.").exists()


def test_an_author_sends_an_alert(categories: Any, smtp_sink: Sink) -> None:
    client = client_with("author")
    data = {"category": "bousai", "subject": "避難指示", "body": "本文", "send": "1"}
    response = client.post("/console/compose/", data)
    alert = Alert.objects.get()
    assert response["Location"] == f"/console/alerts/{alert.pk}/"


@pytest.mark.parametrize("action", ["retry", "stop"])
def test_only_authors_retry_or_stop_an_alert(action: str, categories: Any) -> None:
    from anshin.alerts.services import alert_publish

    alert = alert_publish(
        actor=OPERATOR, category=categories["bousai"], subject="s", body="b", via="console"
    )
    clients = [client_with(role) for role in ("approver", "administrator", "auditor")]
    before = (Alert.objects.values().get(pk=alert.pk), AuditEvent.objects.count())
    for client in clients:
        assert client.post(f"/console/alerts/{alert.pk}/{action}/").status_code == 403
    assert (Alert.objects.values().get(pk=alert.pk), AuditEvent.objects.count()) == before


@pytest.mark.parametrize("role", ["author", "approver", "auditor"])
def test_only_administrators_create_api_keys(role: str) -> None:
    client = client_with(role)
    data = {"name": "警察メール中継", "categories": ["bouhan"], "can_read": "on"}
    assert client.post("/console/api-keys/new/", data).status_code == 403
    assert not ApiKey.objects.exists()


def test_roles_command_grants_revokes_and_lists_audited() -> None:
    user = User.objects.create_user("clerk", password="x")
    out = StringIO()
    call_command("roles", "grant", "clerk", "作成者", stdout=out)
    call_command("roles", "grant", "clerk", "auditor", stdout=out)
    call_command("roles", "grant", "clerk", "auditor", stdout=out)  # no change, not audited
    assert user.groups.count() == 2 and User.objects.get(pk=user.pk).has_perm("alerts.add_alert")
    call_command("roles", "revoke", "clerk", "author", stdout=out)
    assert not User.objects.get(pk=user.pk).has_perm("alerts.add_alert")
    listing = StringIO()
    call_command("roles", "list", stdout=listing)
    assert listing.getvalue().strip() == "clerk: auditor (監査者)"
    events = AuditEvent.objects.filter(target_id=str(user.pk)).order_by("seq")
    assert [(e.action, e.details, e.actor_kind) for e in events] == [
        ("staff.role_granted", {"role": "author"}, "operator"),
        ("staff.role_granted", {"role": "auditor"}, "operator"),
        ("staff.role_revoked", {"role": "author"}, "operator"),
    ]


@pytest.mark.parametrize(
    "args", [("grant", "clerk", "superuser"), ("grant", "nobody", "author"), ("revoke", "", "")]
)
def test_roles_command_refuses_unknown_users_and_roles(args: tuple[str, ...]) -> None:
    User.objects.create_user("clerk", password="x")
    with pytest.raises(CommandError):
        call_command("roles", *args)
    assert not AuditEvent.objects.exists()
    assert not Group.objects.filter(user__username="clerk").exists()


def test_role_names_are_keys_or_japanese_group_names() -> None:
    assert role_named("承認者") is role_named("approver") is ROLES["approver"]


def _two_factor_check() -> council.Check:
    from django.utils import translation

    from anshin.core.audit import audit_verify

    with translation.override("en"):
        checks = council.self_inspection(audit_verify())
        (check,) = [c for c in checks if "Two-factor" in str(c.label)]
    return check


def test_self_inspection_reports_two_factor_from_configuration(settings: Any) -> None:
    enrolled = User.objects.create_user("enrolled", password="x")
    staff_device(enrolled)
    assert _two_factor_check().state == council.OK
    late = User.objects.create_user("late", password="x")
    check = _two_factor_check()
    assert check.state == council.NG and "1" in check.detail and "2" in check.detail
    late.is_active = False
    late.save()
    assert _two_factor_check().state == council.OK
    settings.MIDDLEWARE = [m for m in settings.MIDDLEWARE if not m.startswith("anshin.core.otp")]
    assert _two_factor_check().state == council.NG


def test_granting_is_idempotent_for_services() -> None:
    user = User.objects.create_user("clerk", password="x")
    assert role_grant(user=user, role=ROLES["auditor"], actor=OPERATOR) is True
    assert role_grant(user=user, role=ROLES["auditor"], actor=OPERATOR) is False
