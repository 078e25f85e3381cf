"""`anshin apikeys create|list|revoke`: API keys for scripts, recorded as the operator's."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.timezone import localtime

from anshin.alerts.models import Category
from anshin.api.keys import api_key_create, api_key_revoke, api_keys_all
from anshin.api.models import ApiKey
from anshin.core.audit import OPERATOR


class Command(BaseCommand):
    help = "API keys for integrations: create (prints the key once), list, revoke."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="verb", required=True)
        create = sub.add_parser("create", help="Create a key; the key is printed once.")
        create.add_argument("--name", required=True)
        create.add_argument(
            "--category", action="append", required=True, help="category slug (repeatable)"
        )
        create.add_argument("--read", action="store_true", help="may read alerts and counts")
        create.add_argument("--send", action="store_true", help="may publish alerts")
        sub.add_parser("list", help="List keys (never their secrets).")
        revoke = sub.add_parser("revoke", help="Revoke a key by its id.")
        revoke.add_argument("key_id", type=int)

    def handle(self, *args: Any, **options: Any) -> None:
        {"create": self._create, "list": self._list, "revoke": self._revoke}[options["verb"]](
            options
        )

    def _create(self, options: dict[str, Any]) -> None:
        slugs = list(dict.fromkeys(options["category"]))
        categories = list(Category.objects.filter(slug__in=slugs, active=True))
        unknown = sorted(set(slugs) - {c.slug for c in categories})
        if unknown:
            raise CommandError(f"No active category: {', '.join(unknown)}")
        try:
            key, secret = api_key_create(
                actor=OPERATOR,
                name=options["name"],
                categories=categories,
                can_read=options["read"],
                can_send=options["send"],
            )
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from None
        self.stderr.write(f"Key {key.pk} created. It is shown only now:")
        self.stdout.write(secret)

    def _list(self, options: dict[str, Any]) -> None:
        for key in api_keys_all():
            scope = ",".join(s for s, ok in (("read", key.can_read), ("send", key.can_send)) if ok)
            slugs = ",".join(sorted(c.slug for c in key.categories.all()))
            state = f"revoked {localtime(key.revoked_at):%Y-%m-%d}" if key.revoked_at else "active"
            used = "never used"
            if key.last_used_at:
                used = f"last used {localtime(key.last_used_at):%Y-%m-%d %H:%M}"
            self.stdout.write(
                f"{key.pk}\t{key.name}\tanshin_{key.prefix}_…\t{slugs}\t{scope}\t{used}\t{state}"
            )

    def _revoke(self, options: dict[str, Any]) -> None:
        key = ApiKey.objects.filter(pk=options["key_id"]).first()
        if key is None:
            raise CommandError(f"No API key {options['key_id']}.")
        if not api_key_revoke(actor=OPERATOR, key=key):
            raise CommandError(f"API key {key.pk} was already revoked.")
        self.stdout.write(f"API key {key.pk} revoked.")
