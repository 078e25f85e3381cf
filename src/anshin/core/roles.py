"""Staff roles: four Django groups, each holding exactly the model permissions the console's
views and services check (collected from every `permission_required`, `has_perm` and `perms.`
in src/anshin). A staff member may hold several roles; a superuser holds everything.

author (作成者) — writes and sends alerts and staff call-outs, relays received mail:
    alerts.add_alert (compose, send, retry failed, stop — console/views.py),
    directory.view_callout, directory.send_callout (call-outs and their board),
    inbound.view_intakedraft, inbound.change_intakedraft (received police/school mail),
    governance.view_incident, governance.add_incident (anyone may report a near-miss),
    governance.add_takedown (remove personal details from a published alert, issue 6).
approver (承認者) — the second person: decides disclosures to third parties (P3) and approves
    or sends back alerts of the categories that require it (the console's alert list and
    alert pages are open to every signed-in staff member):
    governance.view_disclosure, governance.approve_disclosure, alerts.approve_alert.
administrator (管理者) — runs the system and its internal exports:
    directory.view_staffmember, directory.import_staffmember, directory.export_staffmember,
    directory.view_callout, directory.export_callout (roll-call results),
    api.view_apikey, api.add_apikey, api.change_apikey,
    residents.view_receiptcheck, residents.add_receiptcheck, residents.change_receiptcheck,
    residents.import_subscribers (migration from the old system),
    residents.view_privacynotice, residents.add_privacynotice,
    governance.view_disclosure, governance.add_disclosure, governance.change_disclosure
    (request a disclosure, download the sealed file, record the hand-over),
    governance.view_incident, governance.add_incident, governance.change_incident,
    governance.view_councilreport, governance.add_councilreport,
    auth.view_user, auth.add_user, auth.change_user (user management),
    channels.view_channel, channels.add_channel, channels.change_channel, channels.view_post,
    channels.change_post (social channels and their failed posts),
    delivery.view_suppression, delivery.delete_suppression (the suppression list),
    delivery.view_canary, delivery.add_canary, delivery.delete_canary (test addresses, P6),
    governance.add_takedown, governance.view_takedown (takedowns of personal details),
    residents.view_subscriber (the residents' register, addresses masked),
    governance.reveal_address (see one full address, with a stated reason, P2),
    governance.view_addressreveal (the register of those reveals).
auditor (監査者) — reads the record, changes nothing:
    governance.view_councilreport, governance.view_certificate, governance.view_disclosure,
    governance.view_incident, residents.view_privacynotice, core.view_auditevent,
    directory.view_callout, residents.view_receiptcheck (the boards),
    channels.view_channel, channels.view_post, delivery.view_suppression,
    governance.view_takedown, residents.view_subscriber, governance.view_addressreveal.

The groups are created by core/migrations/0006_staff_roles.py and 0007–0010 (frozen
copies of this table); `test_roles` checks that the database still matches ROLES.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth.models import Group, Permission, User
from django.db import transaction

from anshin.core.audit import Actor, audit_record


@dataclass(frozen=True)
class Role:
    key: str
    group: str  # the Django group's name, shown in the admin
    permissions: tuple[str, ...]


ROLES: dict[str, Role] = {
    r.key: r
    for r in (
        Role(
            "author",
            "作成者",
            (
                "alerts.add_alert",
                "directory.view_callout",
                "directory.send_callout",
                "inbound.view_intakedraft",
                "inbound.change_intakedraft",
                "governance.view_incident",
                "governance.add_incident",
                "governance.add_takedown",
            ),
        ),
        Role(
            "approver",
            "承認者",
            (
                "governance.view_disclosure",
                "governance.approve_disclosure",
                "alerts.approve_alert",
            ),
        ),
        Role(
            "administrator",
            "管理者",
            (
                "directory.view_staffmember",
                "directory.import_staffmember",
                "directory.export_staffmember",
                "directory.view_callout",
                "directory.export_callout",
                "api.view_apikey",
                "api.add_apikey",
                "api.change_apikey",
                "residents.view_receiptcheck",
                "residents.add_receiptcheck",
                "residents.change_receiptcheck",
                "residents.import_subscribers",
                "residents.view_privacynotice",
                "residents.add_privacynotice",
                "governance.view_disclosure",
                "governance.add_disclosure",
                "governance.change_disclosure",
                "governance.view_incident",
                "governance.add_incident",
                "governance.change_incident",
                "governance.view_councilreport",
                "governance.add_councilreport",
                "auth.view_user",
                "auth.add_user",
                "auth.change_user",
                "channels.view_channel",
                "channels.add_channel",
                "channels.change_channel",
                "channels.view_post",
                "channels.change_post",
                "delivery.view_suppression",
                "delivery.delete_suppression",
                "delivery.view_canary",
                "delivery.add_canary",
                "delivery.delete_canary",
                "governance.add_takedown",
                "governance.view_takedown",
                "residents.view_subscriber",
                "governance.reveal_address",
                "governance.view_addressreveal",
            ),
        ),
        Role(
            "auditor",
            "監査者",
            (
                "governance.view_councilreport",
                "governance.view_certificate",
                "governance.view_disclosure",
                "governance.view_incident",
                "residents.view_privacynotice",
                "core.view_auditevent",
                "directory.view_callout",
                "residents.view_receiptcheck",
                "channels.view_channel",
                "channels.view_post",
                "delivery.view_suppression",
                "governance.view_takedown",
                "residents.view_subscriber",
                "governance.view_addressreveal",
            ),
        ),
    )
}


class UnknownRole(ValueError):
    pass


def role_named(name: str) -> Role:
    """A role by its key (author) or its group's name (作成者)."""
    for role in ROLES.values():
        if name.strip() in (role.key, role.group):
            return role
    raise UnknownRole(name)


def role_grant(*, user: User, role: Role, actor: Actor) -> bool:
    """Put the user in the role's group; False if they already held it. Audited."""
    with transaction.atomic():
        group = Group.objects.get(name=role.group)
        if user.groups.filter(pk=group.pk).exists():
            return False
        user.groups.add(group)
        audit_record(actor=actor, action="staff.role_granted", target=user, details=_d(role))
    return True


def role_revoke(*, user: User, role: Role, actor: Actor) -> bool:
    """Take the user out of the role's group; False if they did not hold it. Audited."""
    with transaction.atomic():
        group = Group.objects.get(name=role.group)
        if not user.groups.filter(pk=group.pk).exists():
            return False
        user.groups.remove(group)
        audit_record(actor=actor, action="staff.role_revoked", target=user, details=_d(role))
    return True


def roles_of(user: User) -> list[Role]:
    names = set(user.groups.values_list("name", flat=True))
    return [r for r in ROLES.values() if r.group in names]


def group_permissions(group: Group) -> set[str]:
    rows = group.permissions.values_list("content_type__app_label", "codename")
    return {f"{app}.{codename}" for app, codename in rows}


def permission_rows(labels: tuple[str, ...]) -> list[Permission]:
    found = []
    for label in labels:
        app, codename = label.split(".")
        found.append(Permission.objects.get(content_type__app_label=app, codename=codename))
    return found


def _d(role: Role) -> dict[str, str]:
    return {"role": role.key}
