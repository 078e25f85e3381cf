"""A copy of the database alone reveals no address, phone number or name.

Residents register and confirm through the real pages, an alert is sent through the real
engine to a real SMTP server, one resident unsubscribes, staff are
imported from a CSV — and then the database is read as a thief would have it: the SQLite file
with its WAL (secure_delete is on, so freed pages are zeroed too), or PostgreSQL's pg_dump.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
from django.db import connection
from django.test import Client

from anshin.alerts.models import Alert
from anshin.alerts.services import alert_publish
from anshin.conftest import Sink
from anshin.core.audit import OPERATOR
from anshin.directory.tests.conftest import run_import, staff_csv

pytestmark = pytest.mark.django_db(transaction=True)

LINK = re.compile(r"http://127\.0\.0\.1:8000(/[^\s]+/)")
RESIDENTS = ["hanako.secret@example.jp", "gone.secret@example.ne.jp", "left.secret@example.jp"]
STAFF_CSV = staff_csv(
    "0001,山田花子秘密,yamada.secret@city.example.jp,０９０−１２３４−５６７８,防災安全課,主査,,北部,A"
)
SECRETS = [
    *RESIDENTS,
    "hanako.secret",
    "yamada.secret",
    "山田花子秘密",
    "+819012345678",
    "9012345678",
    "090-1234-5678",
]


def _link(mail: Any, prefix: str) -> str:
    body = mail.get_body(preferencelist=("plain",)).get_content()
    return next(path for path in LINK.findall(body) if path.startswith(prefix))


def _fill_the_database(sink: Sink, categories: dict[str, Any]) -> None:
    client = Client()
    for address in RESIDENTS:
        client.post("/subscribe/", {"email": address, "categories": ["bousai"]})
        assert client.post(_link(sink.to(address)[0], "/subscribe/confirm/")).status_code == 200
    alert_publish(
        actor=OPERATOR, category=categories["bousai"], subject="避難指示", body="北部", via="cli"
    )
    assert len(sink.to(RESIDENTS[0])) == 3  # confirm, complete, the alert
    unsubscribe = _link(sink.to(RESIDENTS[2])[-1], "/manage/")
    client.post(unsubscribe.replace("/manage/", "/unsubscribe/", 1))
    assert run_import(STAFF_CSV).status == "applied"


def _leaks(blob: bytes) -> list[str]:
    found = []
    for secret in SECRETS:
        for encoding in ("utf-8", "utf-16-le", "utf-16-be"):
            if secret.encode(encoding) in blob:
                found.append(f"{secret} ({encoding})")
    return found


def _database_copy() -> bytes:
    settings_dict = connection.settings_dict
    if connection.vendor == "sqlite":
        name = Path(settings_dict["NAME"])
        return b"".join(p.read_bytes() for p in name.parent.glob(name.name + "*"))
    command = ["pg_dump", "--no-owner", "-h", settings_dict["HOST"] or "127.0.0.1"]
    command += ["-p", str(settings_dict["PORT"] or 5432), "-U", settings_dict["USER"]]
    env = {"PGPASSWORD": settings_dict["PASSWORD"] or ""}
    dump = subprocess.run(
        [*command, settings_dict["NAME"]], capture_output=True, env=env, check=True, timeout=120
    )
    return dump.stdout


def test_a_copy_of_the_database_holds_no_personal_data(
    smtp_sink: Sink, categories: dict[str, Any]
) -> None:
    _fill_the_database(smtp_sink, categories)
    blob = _database_copy()
    assert b"core_auditevent" in blob or b"CREATE TABLE" in blob  # it is the real database
    assert _leaks(blob) == []


def test_the_search_would_find_a_plaintext_address(categories: dict[str, Any]) -> None:
    """The check above is able to fail: a value written in clear is found."""
    Alert.objects.create(
        category=categories["bousai"], subject=RESIDENTS[0], body="", created_via="console"
    )
    assert _leaks(_database_copy()) == [f"{RESIDENTS[0]} (utf-8)", "hanako.secret (utf-8)"]
