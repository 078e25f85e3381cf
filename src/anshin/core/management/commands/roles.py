"""`anshin roles grant USER ROLE`, `anshin roles revoke USER ROLE`, `anshin roles list [USER]`:
staff roles for scripts, recorded in the audit log as done by the operator. ROLE is author,
approver, administrator or auditor (or the group's Japanese name: 作成者, 承認者, 管理者,
監査者)."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import User
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from anshin.core.audit import OPERATOR
from anshin.core.roles import ROLES, UnknownRole, role_grant, role_named, role_revoke, roles_of


class Command(BaseCommand):
    help = "Staff roles: grant, revoke, list (author, approver, administrator, auditor)."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="verb", required=True)
        for verb in ("grant", "revoke"):
            one = sub.add_parser(verb, help=f"{verb} a role")
            one.add_argument("user", help="user name")
            one.add_argument("role", help=", ".join(ROLES))
        listing = sub.add_parser("list", help="each staff member's roles (or one member's)")
        listing.add_argument("user", nargs="?", help="user name")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["verb"] == "list":
            self._list(options["user"])
            return
        user = _user(options["user"])
        try:
            role = role_named(options["role"])
        except UnknownRole:
            raise CommandError(
                _("Unknown role. Use one of: %(roles)s") % {"roles": ", ".join(ROLES)}
            ) from None
        change = role_grant if options["verb"] == "grant" else role_revoke
        done = change(user=user, role=role, actor=OPERATOR)
        self.stdout.write(_("%(verb)s %(role)s (%(group)s): %(result)s") % {
            "verb": options["verb"],
            "role": role.key,
            "group": role.group,
            "result": _("done") if done else _("no change"),
        })  # fmt: skip

    def _list(self, username: str | None) -> None:
        users = [_user(username)] if username else User.objects.order_by("username")
        for user in users:
            names = ", ".join(f"{r.key} ({r.group})" for r in roles_of(user)) or "-"
            flags = " [superuser]" if user.is_superuser else ""
            flags += "" if user.is_active else " [inactive]"
            self.stdout.write(f"{user.username}{flags}: {names}")


def _user(username: str) -> User:
    try:
        return User.objects.get(username=username)
    except User.DoesNotExist:
        raise CommandError(_("No staff user with that user name.")) from None
