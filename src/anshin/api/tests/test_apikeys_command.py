"""`anshin apikeys create|list|revoke`."""

from __future__ import annotations

from io import StringIO
from typing import Any

import pytest
from django.core.management import CommandError, call_command

from anshin.api.keys import api_key_authenticate
from anshin.api.models import ApiKey
from anshin.core.models import AuditEvent

pytestmark = pytest.mark.django_db


def _run(*args: str) -> str:
    out = StringIO()
    call_command("apikeys", *args, stdout=out, stderr=StringIO())
    return out.getvalue()


def test_create_prints_a_working_key_once_and_list_never_shows_it(categories: Any) -> None:
    secret = _run("create", "--name", "河川センサー", "--category", "bousai", "--send").strip()
    key = api_key_authenticate(secret)
    assert key is not None and key.name == "河川センサー"
    assert (key.can_read, key.can_send) == (False, True)
    assert list(key.categories.values_list("slug", flat=True)) == ["bousai"]
    assert AuditEvent.objects.get(action="api_key.create").actor_kind == "operator"
    listing = _run("list")
    assert f"anshin_{key.prefix}_…" in listing and "bousai" in listing and "send" in listing
    assert secret.split("_", 2)[2] not in listing


def test_revoke_stops_the_key(categories: Any) -> None:
    secret = _run("create", "--name", "relay", "--category", "bouhan", "--read").strip()
    key = ApiKey.objects.get()
    assert _run("revoke", str(key.pk)).strip() == f"API key {key.pk} revoked."
    assert api_key_authenticate(secret) is None
    assert "revoked" in _run("list")
    with pytest.raises(CommandError, match="already revoked"):
        _run("revoke", str(key.pk))


@pytest.mark.parametrize(
    "args",
    [
        ["create", "--name", "x", "--category", "nosuch", "--read"],
        ["create", "--name", "x", "--category", "bousai"],
        ["create", "--name", "", "--category", "bousai", "--read"],
        ["revoke", "999999"],
    ],
)
def test_bad_input_exits_with_a_message_and_changes_nothing(
    categories: Any, args: list[str]
) -> None:
    with pytest.raises(CommandError):
        _run(*args)
    assert ApiKey.objects.count() == 0
    assert not AuditEvent.objects.filter(action__startswith="api_key").exists()
