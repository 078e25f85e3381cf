"""Bulk import of consented residents: the service against a real database, mail through a real
SMTP server on loopback, and the `anshin residents import` command as a real process."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.utils import translation

from anshin.alerts.models import Category
from anshin.alerts.services import alert_publish
from anshin.conftest import Sink, make_subscriber
from anshin.core import crypto
from anshin.core.addresses import normalize_address
from anshin.core.audit import OPERATOR
from anshin.core.models import AuditEvent
from anshin.residents.importing import (
    BASIS_MAX,
    ImportAborted,
    ImportResult,
    _Importer,
    decode_csv,
    residents_import,
)
from anshin.residents.models import Subscriber

pytestmark = pytest.mark.django_db(transaction=True)

BASIS = "migrated from the old system, 2017-03-01"

MIXED = [
    "email,categories",  # 1 header
    "hanako@example.jp,bousai;bouhan",  # 2 created
    "taro..jiro@docomo.ne.jp,bouhan",  # 3 created (carrier address)
    "taro.@ezweb.ne.jp,bousai|bouhan",  # 4 created (carrier address)
    "hanako@EXAMPLE.JP,bousai",  # 5 duplicate of line 2
    "active@example.jp,bouhan",  # 6 already active
    "pending@example.jp,bouhan",  # 7 pending -> activated
    "left@example.jp,bousai",  # 8 unsubscribed, not re-added
    "not-an-address,bousai",  # 9 invalid address
    "kazuo@example.jp,jishin",  # 10 unknown category
    "jiro@example.jp,",  # 11 empty categories
    "saburo@example.jp,bousai,bouhan",  # 12 ragged
    "shiro@example.jp,bousai;" + "x" * 1000,  # 13 over-long row
    "",  # 14 blank: skipped, not counted
    "goro@example.jp,bousai",  # 15 created
]
ADDRESSES = [
    "hanako@example.jp",
    "taro..jiro@docomo.ne.jp",
    "taro.@ezweb.ne.jp",
    "hanako@EXAMPLE.JP",
    "active@example.jp",
    "pending@example.jp",
    "left@example.jp",
    "not-an-address",
    "kazuo@example.jp",
    "jiro@example.jp",
    "saburo@example.jp",
    "shiro@example.jp",
    "goro@example.jp",
]


def subscriber(address: str) -> Subscriber:
    return Subscriber.objects.get(email_hash=crypto.lookup_hash(normalize_address(address)))


def slugs(sub: Subscriber) -> set[str]:
    return set(sub.categories.values_list("slug", flat=True))


def run_import(lines: list[str], **kwargs: Any) -> ImportResult:
    with translation.override("en"):
        return residents_import(lines=lines, basis=BASIS, actor=OPERATOR, **kwargs)


@pytest.fixture
def existing(categories: dict[str, Category]) -> dict[str, Subscriber]:
    return {
        "active": make_subscriber("active@example.jp", categories["bousai"]),
        "pending": make_subscriber(
            "pending@example.jp", categories["bousai"], state=Subscriber.State.PENDING
        ),
        "left": make_subscriber(
            "left@example.jp", categories["bousai"], state=Subscriber.State.UNSUBSCRIBED
        ),
    }


def test_mixed_file_gives_exact_counts(existing: dict[str, Subscriber]) -> None:
    result = run_import(MIXED)
    assert (result.rows, result.created, result.activated) == (13, 4, 1)
    assert (result.already_subscribed, result.unsubscribed_not_readded) == (1, 1)
    assert result.header is True
    assert [(d.line, d.code) for d in result.duplicates_in_file] == [(5, "duplicate")]
    assert "line 2" in result.duplicates_in_file[0].message
    assert [(e.line, e.code) for e in result.errors] == [
        (9, "no_at"),
        (10, "unknown_category"),
        (11, "no_categories"),
        (12, "columns"),
        (13, "row_too_long"),
    ]
    assert Subscriber.objects.count() == 3 + 4
    assert sorted(result.subscriber_ids) == sorted(
        subscriber(a).pk
        for a in ("hanako@example.jp", "taro..jiro@docomo.ne.jp", "taro.@ezweb.ne.jp")
        + ("goro@example.jp", "pending@example.jp")
    )


def test_imported_residents_are_active_with_their_categories_and_basis(
    existing: dict[str, Subscriber],
) -> None:
    run_import(MIXED)
    expected = {
        "hanako@example.jp": {"bousai", "bouhan"},
        "taro..jiro@docomo.ne.jp": {"bouhan"},
        "taro.@ezweb.ne.jp": {"bousai", "bouhan"},
        "goro@example.jp": {"bousai"},
    }
    for address, categories in expected.items():
        sub = subscriber(address)
        assert sub.email == address
        assert (sub.state, sub.consent_basis, sub.notice) == (Subscriber.State.ACTIVE, BASIS, None)
        assert sub.confirmed_at is not None and len(sub.token_key) == 32
        assert slugs(sub) == categories
    for address in ("kazuo@example.jp", "jiro@example.jp", "saburo@example.jp"):
        assert not Subscriber.objects.filter(email_hash=crypto.lookup_hash(address)).exists()


def test_pending_signup_is_activated_with_the_files_categories(
    existing: dict[str, Subscriber],
) -> None:
    existing["pending"].confirm_nonce = "n" * 32
    existing["pending"].save()
    run_import(MIXED)
    sub = subscriber("pending@example.jp")
    assert (sub.state, sub.consent_basis, sub.confirm_nonce) == ("active", BASIS, "")
    assert sub.confirmed_at is not None
    assert slugs(sub) == {"bouhan"}


def test_resident_who_left_is_not_subscribed_again(existing: dict[str, Subscriber]) -> None:
    run_import(MIXED)
    left = subscriber("left@example.jp")
    assert (left.state, left.consent_basis) == (Subscriber.State.UNSUBSCRIBED, "test")
    assert slugs(left) == {"bousai"}


def test_active_subscriber_keeps_their_own_choices(existing: dict[str, Subscriber]) -> None:
    run_import(MIXED)
    active = subscriber("active@example.jp")
    assert (active.state, active.consent_basis, slugs(active)) == ("active", "test", {"bousai"})


@pytest.mark.parametrize("chunk_rows", [1, 2000])
def test_duplicate_rows_are_imported_once_with_combined_categories(
    categories: dict[str, Category], chunk_rows: int
) -> None:
    lines = ["hanako@example.jp,bousai", "ichiro@example.jp,bousai", "hanako@Example.jp,bouhan"]
    result = run_import(lines, chunk_rows=chunk_rows)
    assert (result.created, len(result.duplicates_in_file)) == (2, 1)
    assert slugs(subscriber("hanako@example.jp")) == {"bousai", "bouhan"}


def test_local_part_case_is_a_different_address(categories: dict[str, Category]) -> None:
    result = run_import(["Hanako@example.jp,bousai", "hanako@example.jp,bousai"])
    assert (result.created, result.duplicates_in_file) == (2, [])


def test_importing_the_same_file_again_changes_nothing(existing: dict[str, Subscriber]) -> None:
    run_import(MIXED)
    again = run_import(MIXED)
    assert (again.created, again.activated, again.already_subscribed) == (0, 0, 6)
    assert again.unsubscribed_not_readded == 1
    assert Subscriber.objects.count() == 7


def test_a_signup_committed_during_the_import_is_found_on_retry(
    categories: dict[str, Category], monkeypatch: pytest.MonkeyPatch
) -> None:
    make_subscriber("racer@example.jp", categories["bousai"], state=Subscriber.State.PENDING)
    real_plan = _Importer._plan
    plans = []

    def stale_first_plan(self: _Importer) -> Any:
        outcome, new, pending = real_plan(self)
        plans.append(len(pending))
        if len(plans) == 1:  # as if the sign-up had committed just after our look-up
            return outcome, new + [entry for entry, _ in pending], []
        return outcome, new, pending

    monkeypatch.setattr(_Importer, "_plan", stale_first_plan)
    result = run_import(["other@example.jp,bousai", "racer@example.jp,bouhan"])
    assert plans == [1, 1]
    assert (result.created, result.activated, Subscriber.objects.count()) == (1, 1, 2)
    assert slugs(subscriber("racer@example.jp")) == {"bouhan"}
    assert slugs(subscriber("other@example.jp")) == {"bousai"}


def test_dry_run_predicts_the_counts_and_writes_nothing(existing: dict[str, Subscriber]) -> None:
    result = run_import(MIXED, dry_run=True)
    assert (result.created, result.activated, result.already_subscribed) == (4, 1, 1)
    assert (result.unsubscribed_not_readded, len(result.errors)) == (1, 5)
    assert result.subscriber_ids == []
    assert Subscriber.objects.count() == 3
    assert subscriber("pending@example.jp").state == Subscriber.State.PENDING
    assert not AuditEvent.objects.filter(action="residents.import").exists()


def test_japanese_category_names_and_full_width_separators(
    categories: dict[str, Category],
) -> None:
    result = run_import(["hanako@example.jp,防災；防犯", "ichiro@example.jp, BOUSAI | "])
    assert result.created == 2
    assert slugs(subscriber("hanako@example.jp")) == {"bousai", "bouhan"}
    assert slugs(subscriber("ichiro@example.jp")) == {"bousai"}


def test_stray_quote_spoils_only_its_own_row(categories: dict[str, Category]) -> None:
    result = run_import(
        ['"hanako@example.jp,bousai', "ichiro@example.jp,bousai", '"x@y.jp",bousai']
    )
    assert [(e.line, e.code) for e in result.errors] == [(1, "quote")]
    assert result.created == 2


def test_trailing_empty_columns_from_excel_are_accepted(categories: dict[str, Category]) -> None:
    result = run_import(["hanako@example.jp,bousai,,", ",,", "ichiro@example.jp,bouhan"])
    assert (result.rows, result.created, result.errors) == (2, 2, [])


def test_row_messages_never_quote_a_cell(categories: dict[str, Category]) -> None:
    # Columns swapped, addresses in the category column, an address in an over-long row.
    lines = [
        "bousai,hanako@example.jp",
        "ichiro@example.jp,ichiro@example.jp",
        "jiro@example.jp,tanaka-jiro",
        "saburo@example.jp,",
        "shiro@example.jp," + "bousai;" * 200,
        "goro@exa mple.jp,bousai",
        "rokuro@example.jp,bousai,rokuro@example.jp",
    ]
    result = run_import(lines)
    assert len(result.errors) == len(lines)
    messages = " ".join(e.message for e in result.errors)
    for secret in ("hanako", "ichiro", "jiro", "tanaka", "saburo", "shiro", "goro", "rokuro"):
        assert secret not in messages


def test_audit_record_has_the_counts_and_basis_and_no_address(
    existing: dict[str, Subscriber],
) -> None:
    run_import(MIXED)
    (event,) = AuditEvent.objects.filter(action="residents.import")
    assert event.actor_kind == AuditEvent.ActorKind.OPERATOR
    assert event.details == {
        "basis": BASIS,
        "rows": 13,
        "created": 4,
        "activated": 1,
        "already_subscribed": 1,
        "unsubscribed_not_readded": 1,
        "duplicates_in_file": 1,
        "errors": 5,
        "error_codes": {
            "columns": 1,
            "no_at": 1,
            "no_categories": 1,
            "row_too_long": 1,
            "unknown_category": 1,
        },
    }
    stored = json.dumps(event.details, ensure_ascii=False) + event.target_id
    assert not any(part in stored for a in ADDRESSES for part in (a, a.split("@")[0]))


def test_imported_residents_receive_an_alert_in_their_categories(
    smtp_sink: Sink, categories: dict[str, Category]
) -> None:
    run_import(["taro..jiro@docomo.ne.jp,bouhan", "hanako@example.jp,bousai;bouhan"])
    alert_publish(
        actor=OPERATOR, category=categories["bouhan"], subject="詐欺注意", body="注意", via="cli"
    )
    alert_publish(
        actor=OPERATOR, category=categories["bousai"], subject="避難", body="避難", via="cli"
    )
    # The subject carries a city/category prefix; compare the alert's own subject at the end.
    taro = [m["Subject"] for m in smtp_sink.to("taro..jiro@docomo.ne.jp")]
    hanako = [m["Subject"] for m in smtp_sink.to("hanako@example.jp")]
    assert len(taro) == 1 and taro[0].endswith("詐欺注意")
    assert len(hanako) == 2
    assert any(s.endswith("避難") for s in hanako) and any(s.endswith("詐欺注意") for s in hanako)


def test_basis_is_required_and_at_most_200_characters(categories: dict[str, Category]) -> None:
    assert BASIS_MAX == Subscriber._meta.get_field("consent_basis").max_length
    for basis, code in [("", "basis_required"), ("a\nb", "basis_control")]:
        with pytest.raises(ImportAborted) as refused:
            residents_import(lines=["a@example.jp,bousai"], basis=basis, actor=OPERATOR)
        assert refused.value.code == code
    with pytest.raises(ImportAborted) as refused, translation.override("en"):
        residents_import(lines=["a@example.jp,bousai"], basis="x" * 201, actor=OPERATOR)
    assert refused.value.code == "basis_too_long"
    assert "201 characters, at most 200" in refused.value.message
    assert residents_import(lines=["a@example.jp,bousai"], basis="x" * 200, actor=OPERATOR).created
    assert Subscriber.objects.count() == 1


# --- Files ---------------------------------------------------------------------------------


def test_cp932_file_with_a_japanese_header(categories: dict[str, Category]) -> None:
    data = "メールアドレス,配信区分\r\nhanako@example.jp,防災;bouhan\r\n".encode("cp932")
    csv_text = decode_csv(data)
    assert csv_text.encoding == "cp932"
    result = run_import(csv_text.lines())
    assert (result.header, result.rows, result.created) == (True, 1, 1)
    assert slugs(subscriber("hanako@example.jp")) == {"bousai", "bouhan"}


def test_utf8_file_with_a_bom(categories: dict[str, Category]) -> None:
    csv_text = decode_csv("\ufeffemail,categories\nhanako@example.jp,bousai\n".encode())
    assert csv_text.encoding == "utf-8-sig"
    result = run_import(csv_text.lines())
    assert (result.header, result.created) == (True, 1)


def test_utf8_file_without_a_header(categories: dict[str, Category]) -> None:
    csv_text = decode_csv("hanako@example.jp,防犯\n".encode())
    assert csv_text.encoding == "utf-8"
    result = run_import(csv_text.lines())
    assert (result.header, result.created) == (False, 1)


@pytest.mark.parametrize(
    ("data", "code"),
    [
        (b"", "empty"),
        (b"\xef\xbb\xbf \r\n\r\n", "empty"),
        (bytes(range(256)) * 4, "binary"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "binary"),
        (b"PK\x03\x04\x14\x00\x06\x00", "spreadsheet"),
        ("email,categories\n".encode("utf-16"), "utf16"),
        (b"hanako@example.jp,bousai\n\x81\x7f\xff", "encoding"),
        (b"hanako@example.jp\nichiro@example.jp\n", "not_csv"),
    ],
)
def test_unusable_files_are_refused_whole(data: bytes, code: str) -> None:
    with pytest.raises(ImportAborted) as refused:
        decode_csv(data)
    assert refused.value.code == code


@pytest.mark.parametrize(
    ("lines", "code"), [(["email,categories", ""], "no_rows"), (["", " , "], "empty")]
)
def test_file_without_data_rows_is_refused_and_not_audited(
    categories: dict[str, Category], lines: list[str], code: str
) -> None:
    with pytest.raises(ImportAborted) as refused:
        residents_import(lines=lines, basis=BASIS, actor=OPERATOR)
    assert refused.value.code == code
    assert not AuditEvent.objects.filter(action="residents.import").exists()


# --- The command -----------------------------------------------------------------------------


def test_command_report_lists_counts_and_errors_by_line(
    tmp_path: Path, existing: dict[str, Subscriber]
) -> None:
    path = tmp_path / "old.csv"
    path.write_text("\n".join(["メールアドレス,配信区分", *MIXED[1:]]), encoding="cp932")
    out, err = io.StringIO(), io.StringIO()
    with translation.override("en"):
        call_command("residents", "import", str(path), "--basis", BASIS, stdout=out, stderr=err)
    report = out.getvalue()
    assert "Rows: 13 (encoding cp932, header row: yes)" in report
    assert "       4  created\n" in report
    assert "       1  unsubscribed, not re-added\n" in report
    assert "  line 12 [columns] " in report and "  line 5 [duplicate] " in report
    assert not any(address in report + err.getvalue() for address in ADDRESSES)


def test_command_reports_progress_on_large_files(
    tmp_path: Path, categories: dict[str, Category]
) -> None:
    path = tmp_path / "big.csv"
    path.write_text("\n".join(f"r{i}@example.jp,bousai" for i in range(10_001)))
    err = io.StringIO()
    with translation.override("en"):
        call_command(
            "residents", "import", str(path), "--basis", BASIS, stdout=io.StringIO(), stderr=err
        )
    assert err.getvalue() == "imported 10000 rows…\n"
    assert Subscriber.objects.filter(state="active", consent_basis=BASIS).count() == 10_001


_ENVS: dict[str, dict[str, str]] = {}


def anshin(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = _ENVS.get(str(home)) or _cli_env(home)
    return subprocess.run(
        [sys.executable, "-m", "anshin.core.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _cli_env(home: Path) -> dict[str, str]:
    env = {**os.environ, "ANSHIN_HOME": str(home), "ANSHIN_LANGUAGE": "en"}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    return env


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A migrated ANSHIN_HOME for the command; on the operator stack, with its own throw-away
    PostgreSQL database."""
    from anshin.e2e.stack import _operator_services

    path = tmp_path_factory.mktemp("residents-import")
    env = _cli_env(path)
    with _operator_services(env):
        _ENVS[str(path)] = env
        assert anshin(path, "migrate", "--noinput").returncode == 0
        yield path
        del _ENVS[str(path)]


def test_cli_imports_with_row_errors_exits_0_and_never_prints_an_address(
    home: Path, tmp_path: Path
) -> None:
    path = tmp_path / "old.csv"
    path.write_text("\n".join(MIXED), encoding="utf-8")
    result = anshin(home, "residents", "import", str(path), "--basis", BASIS)
    assert result.returncode == 0, result.stderr
    assert "13" in result.stdout
    assert not any(address in result.stdout + result.stderr for address in ADDRESSES)
    again = anshin(home, "residents", "import", str(path), "--basis", BASIS, "--dry-run")
    assert again.returncode == 0, again.stderr


def test_cli_strict_imports_nothing_when_a_row_is_bad(home: Path, tmp_path: Path) -> None:
    path = tmp_path / "strict.csv"
    path.write_text("strict-ok@example.jp,bousai\nstrict-bad@example,bousai\n")
    strict = anshin(home, "residents", "import", str(path), "--basis", BASIS, "--strict")
    assert strict.returncode == 1
    assert "Traceback" not in strict.stderr
    assert "strict-" not in strict.stdout + strict.stderr
    dry = anshin(home, "residents", "import", str(path), "--basis", BASIS, "--dry-run")
    assert dry.returncode == 0
    assert any(line.split() == ["1", "created"] for line in dry.stdout.splitlines()), dry.stdout


@pytest.mark.parametrize(
    ("content", "basis", "status"),
    [
        (b"\x00\x01\x02binary", BASIS, 2),
        (b"", BASIS, 2),
        (b"email,categories\r\n", BASIS, 2),
        (b"a@example.jp,bousai\n", "x" * 201, 2),
        (b"bad,bousai\nalso-bad,bousai\n", BASIS, 1),
    ],
)
def test_cli_exits_non_zero_with_a_plain_message(
    home: Path, tmp_path: Path, content: bytes, basis: str, status: int
) -> None:
    path = tmp_path / "input.csv"
    path.write_bytes(content)
    result = anshin(home, "residents", "import", str(path), "--basis", basis)
    assert result.returncode == status
    assert "CommandError" in result.stderr and "Traceback" not in result.stderr
    assert "a@example.jp" not in result.stdout + result.stderr


def test_cli_missing_file_exits_2(home: Path, tmp_path: Path) -> None:
    result = anshin(home, "residents", "import", str(tmp_path / "nope.csv"), "--basis", BASIS)
    assert result.returncode == 2 and "Traceback" not in result.stderr
