"""directory_import and directory_export against a real database."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.contrib.auth.models import Permission, User
from django.core.exceptions import PermissionDenied
from django.db import connection
from django.test.utils import CaptureQueriesContext

from anshin.alerts.services import alert_publish
from anshin.conftest import Sink, make_subscriber
from anshin.core.audit import OPERATOR, RESIDENT, Actor
from anshin.core.models import AuditEvent
from anshin.directory import importing
from anshin.directory.csvio import read_staff_csv
from anshin.directory.models import DirectoryImport, StaffMember
from anshin.directory.services import ExportRefused, directory_export
from anshin.directory.tests.conftest import HEADER_EN, errors_of, member, run_import, staff_csv
from anshin.residents.models import Subscriber

pytestmark = pytest.mark.django_db

TARO = "001,山﨑 ①郎,taro@city.example.jp,０９０－１２３４－５６７８,総務課,課長,1班,本町,第1配備"
HANAKO = "002,鈴木 花子,hanako@city.example.jp,03-1234-5678,防災安全課,主事,2班,栄町,第2配備"
JIRO = "003,佐藤 次郎,jiro@city.example.jp,,市民課,,,市外,"
STAFF = staff_csv(TARO, HANAKO, JIRO)
PERSONAL = ("taro", "hanako", "jiro", "山﨑", "鈴木", "佐藤", "1234", "5678")


def active_ids() -> set[str | None]:
    return set(StaffMember.objects.filter(active=True).values_list("staff_id", flat=True))


def test_new_staff_are_created_with_contact_data_encrypted() -> None:
    report = run_import(STAFF)
    assert (report.status, report.key, report.encoding) == ("applied", "staff_id", "utf-8")
    assert report.counts() == {
        "rows": 3,
        "created": 3,
        "updated": 0,
        "reactivated": 0,
        "unchanged": 0,
        "deactivated": 0,
    }
    taro = member("taro@city.example.jp")
    assert (taro.staff_id, taro.name, taro.email, taro.phone) == (
        "001",
        "山﨑 ①郎",
        "taro@city.example.jp",
        "+819012345678",
    )
    assert (taro.department, taro.position, taro.team, taro.area, taro.oncall_group) == (
        "総務課",
        "課長",
        "1班",
        "本町",
        "第1配備",
    )
    assert (member("jiro@city.example.jp").phone, taro.extra, taro.active) == ("", {}, True)
    stored = b"".join(
        bytes(m.name_ciphertext) + bytes(m.email_ciphertext) + bytes(m.phone_ciphertext or b"")
        for m in StaffMember.objects.all()
    )
    assert b"taro" not in stored and b"+8190" not in stored and "山".encode() not in stored


def test_importing_the_same_file_again_writes_no_member() -> None:
    run_import(STAFF)
    before = dict(StaffMember.objects.values_list("pk", "updated_at"))
    report = run_import(STAFF)
    assert (report.status, report.created, report.updated, report.unchanged) == (
        "applied",
        0,
        0,
        3,
    )
    assert dict(StaffMember.objects.values_list("pk", "updated_at")) == before
    assert DirectoryImport.objects.count() == 2  # the check itself is on record


def test_upsert_by_staff_number_updates_address_phone_and_attributes() -> None:
    run_import(STAFF)
    pk = member("taro@city.example.jp").pk
    moved = "001,山﨑 ①郎,yamazaki@city.example.jp,03-9999-0000,危機管理室,課長,1班,本町,第1配備"
    report = run_import(staff_csv(moved, HANAKO, JIRO))
    assert (report.updated, report.unchanged, report.created) == (1, 2, 0)
    taro = StaffMember.objects.get(pk=pk)
    assert (taro.email, taro.phone, taro.department) == (
        "yamazaki@city.example.jp",
        "+81399990000",
        "危機管理室",
    )
    assert not StaffMember.objects.filter(staff_id="001").exclude(pk=pk).exists()


def test_upsert_by_address_when_the_file_has_no_staff_number() -> None:
    run_import(STAFF)
    report = run_import(
        staff_csv(
            "TARO,taro@city.example.jp,道路課",
            "新人,shinjin@city.example.jp,道路課",
            header="name,email,department",
        )
    )
    assert (report.key, report.updated, report.created, report.unchanged) == ("email", 1, 1, 0)
    taro = member("taro@city.example.jp")
    assert (taro.staff_id, taro.name, taro.department) == ("001", "TARO", "道路課")
    assert taro.phone == "+819012345678" and taro.position == "課長"  # columns not in the file
    assert member("shinjin@city.example.jp").staff_id is None


def test_a_staff_number_adopts_the_unnumbered_member_with_that_address() -> None:
    run_import(staff_csv("taro@city.example.jp,総務課", header="email,department"))
    pk = member("taro@city.example.jp").pk
    report = run_import(staff_csv("S-100,taro@city.example.jp", header="staff_id,email"))
    assert (report.updated, report.created) == (1, 0)
    assert StaffMember.objects.get().pk == pk
    assert (member("taro@city.example.jp").staff_id, StaffMember.objects.count()) == ("S-100", 1)


def test_two_staff_members_can_swap_addresses() -> None:
    run_import(STAFF)
    swapped = [
        TARO.replace("taro@", "hanako@"),
        HANAKO.replace("hanako@", "taro@"),
        JIRO,
    ]
    report = run_import(staff_csv(*swapped))
    assert (report.status, report.updated) == ("applied", 2)
    assert member("taro@city.example.jp").staff_id == "002"
    assert member("hanako@city.example.jp").staff_id == "001"


def test_staff_missing_from_the_file_stay_unless_asked_to_deactivate() -> None:
    run_import(STAFF)
    kept = run_import(staff_csv(TARO, HANAKO))
    assert (kept.deactivated, active_ids()) == (0, {"001", "002", "003"})
    report = run_import(staff_csv(TARO, HANAKO), deactivate_missing=True)
    assert (report.deactivated, report.unchanged) == (1, 2)
    assert active_ids() == {"001", "002"}
    assert StaffMember.objects.filter(staff_id="003", active=False).exists()  # kept, inactive


def test_a_leaver_back_in_the_file_is_reactivated() -> None:
    run_import(STAFF)
    run_import(staff_csv(TARO), deactivate_missing=True)
    report = run_import(staff_csv(TARO, JIRO.replace("市民課", "道路課")))
    assert (report.reactivated, report.updated, report.unchanged) == (1, 0, 1)
    assert member("jiro@city.example.jp").department == "道路課"
    assert StaffMember.objects.count() == 3


def test_a_leavers_address_may_go_to_a_newcomer() -> None:
    run_import(STAFF)
    run_import(staff_csv(TARO, HANAKO), deactivate_missing=True)
    report = run_import(staff_csv(TARO, HANAKO, "004,後任,jiro@city.example.jp,,市民課,,,,"))
    assert (report.status, report.created) == ("applied", 1)
    assert member("jiro@city.example.jp").staff_id == "004"
    assert StaffMember.objects.filter(staff_id="003", active=False).exists()


def test_one_bad_row_means_nothing_is_written() -> None:
    run_import(STAFF)
    before = list(StaffMember.objects.order_by("pk").values())
    changed = [TARO.replace("総務課", "道路課"), "004,新人,shinjin@city.example.jp,,,,,,"]
    report = run_import(
        staff_csv(*changed, "005,誤り,not-an-address,,,,,,"), deactivate_missing=True
    )
    assert (report.status, report.import_id) == ("refused", None)
    assert errors_of(report) == [(4, "email", "email_no_at")]
    assert (report.created, report.updated, report.deactivated) == (1, 1, 2)  # the preview
    assert list(StaffMember.objects.order_by("pk").values()) == before
    assert DirectoryImport.objects.count() == 1
    assert AuditEvent.objects.filter(action="directory.import").count() == 1


def test_duplicates_in_the_file_refuse_the_import() -> None:
    report = run_import(
        staff_csv(TARO, HANAKO, TARO.replace("001", "009"), JIRO.replace("jiro", "j"))
    )
    assert report.status == "refused"
    assert errors_of(report) == [(4, "email", "duplicate")]
    assert not StaffMember.objects.exists()


def test_an_address_held_by_an_active_member_not_in_the_file_is_refused() -> None:
    run_import(STAFF)
    newcomer = "004,新人,jiro@city.example.jp,,,,,,"  # jiro (003) is still active
    report = run_import(staff_csv(TARO, HANAKO, newcomer))
    assert errors_of(report) == [(4, "email", "email_in_use")]
    assert "another active staff member" in report.errors[0].message
    replaced = run_import(staff_csv(TARO, HANAKO, newcomer), deactivate_missing=True)
    assert (replaced.status, replaced.created, replaced.deactivated) == ("applied", 1, 1)


def test_invalid_phones_and_addresses_are_reported_without_their_values() -> None:
    report = run_import(
        staff_csv(
            "001,山﨑,taro@city.example.jp,9012345678,,,,,",
            "002,鈴木,hanako@city,03-1234-5678,,,,,",
            "003,佐藤,jiro@city.example.jp,+1 212 555 1234,,,,,",
        )
    )
    assert errors_of(report) == [
        (2, "phone", "phone_leading_zero"),
        (3, "email", "email_domain"),
        (4, "phone", "phone_foreign"),
    ]
    text = json.dumps([e.message for e in report.errors], ensure_ascii=False)
    assert not any(secret in text for secret in (*PERSONAL, "9012345678", "212"))


def test_absent_columns_are_kept_and_empty_cells_clear() -> None:
    run_import(STAFF)
    run_import(staff_csv("001,taro@city.example.jp,,", header="staff_id,email,phone,position"))
    taro = member("taro@city.example.jp")
    assert (taro.phone, taro.position, taro.department, taro.name) == ("", "", "総務課", "山﨑 ①郎")


def test_further_columns_are_kept_as_attributes_and_cleared_by_an_empty_cell() -> None:
    header = HEADER_EN + ",資格,血液型"
    run_import(staff_csv(TARO + ",防災士,A", HANAKO + ",,B", header=header))
    assert member("taro@city.example.jp").extra == {"資格": "防災士", "血液型": "A"}
    assert member("hanako@city.example.jp").extra == {"血液型": "B"}
    report = run_import(staff_csv("001,taro@city.example.jp,", header="staff_id,email,資格"))
    assert report.updated == 1
    assert member("taro@city.example.jp").extra == {"血液型": "A"}


def test_dry_run_predicts_the_counts_and_writes_nothing() -> None:
    run_import(STAFF)
    with CaptureQueriesContext(connection) as queries:
        report = run_import(
            staff_csv(TARO.replace("課長", "部長"), "004,新人,shinjin@city.example.jp,,,,,,"),
            dry_run=True,
            deactivate_missing=True,
        )
    assert report.status == "checked"
    assert (report.updated, report.created, report.deactivated) == (1, 1, 2)
    assert not any(q["sql"].lstrip().upper().startswith(("INSERT", "UPDATE")) for q in queries)
    assert active_ids() == {"001", "002", "003"}
    assert DirectoryImport.objects.count() == 1


def test_applied_import_is_recorded_for_audit_without_personal_data() -> None:
    report = run_import(staff_csv(TARO + ",A", HANAKO + ",B", header=HEADER_EN + ",血液型"))
    record = DirectoryImport.objects.get()
    assert report.import_id == record.pk
    assert (record.actor_kind, record.key, record.encoding) == ("operator", "staff_id", "utf-8")
    assert record.file_sha256 == report.sha256 and len(record.file_sha256) == 64
    assert record.counts["created"] == 2
    (event,) = AuditEvent.objects.filter(action="directory.import")
    assert (event.target_type, event.target_id) == ("directory.directoryimport", str(record.pk))
    assert event.details["created"] == 2 and event.details["extra_columns"] == 1
    assert event.details["fields"] == sorted(
        ["staff_id", "name", "email", "phone", "department", "position", "team", "area"]
        + ["oncall_group"]
    )
    stored = json.dumps(event.details, ensure_ascii=False) + json.dumps(record.counts)
    assert not any(secret in stored for secret in PERSONAL)


def test_staff_are_not_residents() -> None:
    run_import(STAFF)
    assert not Subscriber.objects.exists()


def test_only_staff_with_the_permission_may_import_or_export(
    django_user_model: type[User],
) -> None:
    clerk = django_user_model.objects.create_user("clerk", password="x" * 16, is_staff=True)
    for action in (
        lambda actor: run_import(STAFF, actor=actor),
        lambda actor: directory_export(actor=actor, encoding="utf-8"),
    ):
        for actor in (Actor.staff(clerk), RESIDENT):
            with pytest.raises(PermissionDenied):
                action(actor)
    assert not StaffMember.objects.exists() and not AuditEvent.objects.exists()
    clerk.user_permissions.add(Permission.objects.get(codename="import_staffmember"))
    clerk = django_user_model.objects.get(pk=clerk.pk)  # a fresh permission cache
    assert run_import(STAFF, actor=Actor.staff(clerk)).status == "applied"
    assert DirectoryImport.objects.get().actor_user == clerk


def test_a_different_file_than_the_one_checked_is_refused() -> None:
    checked = run_import(STAFF, dry_run=True)
    other = run_import(staff_csv(TARO), expect_sha256=checked.sha256)
    assert (other.status, other.problem and other.problem.code) == ("refused", "changed")
    assert run_import(STAFF, expect_sha256=checked.sha256).status == "applied"


def test_a_change_between_plan_and_apply_makes_a_new_plan(monkeypatch: pytest.MonkeyPatch) -> None:
    run_import(STAFF)
    real_plan = importing.make_plan
    plans = []

    def plan_then_someone_edits(*args: Any, **kwargs: Any) -> Any:
        plan = real_plan(*args, **kwargs)
        plans.append(plan)
        if len(plans) == 1:  # a console edit commits just after our read
            StaffMember.objects.filter(staff_id="002").update(department="変更")  # no timestamp
        return plan

    monkeypatch.setattr(importing, "make_plan", plan_then_someone_edits)
    report = run_import(staff_csv(TARO, HANAKO, JIRO.replace("市民課", "道路課")))
    assert len(plans) == 2 and report.status == "applied"
    assert (report.updated, report.unchanged) == (2, 1)  # hanako's edit was seen and undone
    assert member("hanako@city.example.jp").department == "防災安全課"


def test_a_file_of_100000_rows_is_accepted() -> None:
    lines = [f"{i},職員{i},s{i}@city.example.lg.jp,090{i:08d},総務課,,,," for i in range(100_000)]
    report = run_import(staff_csv(*lines), dry_run=True)
    assert (report.status, report.rows, report.created, report.errors) == (
        "checked",
        100_000,
        100_000,
        [],
    )


def test_more_rows_than_the_limit_are_refused(settings: Any) -> None:
    settings.DIRECTORY_IMPORT_MAX_ROWS = 2
    report = run_import(STAFF)
    assert report.problem is not None and report.problem.code == "too_many_rows"
    assert "more than 2 data rows" in report.problem.message
    assert not StaffMember.objects.exists()


@pytest.mark.parametrize(
    ("data", "code"),
    [
        (b"", "empty"),
        (b"\x00\x01binary\xff" * 50, "binary"),
        (staff_csv(TARO).replace(b"\xe5", b"\xff"), "encoding"),
    ],
)
def test_unusable_files_give_a_report_not_an_exception(data: bytes, code: str) -> None:
    report = run_import(data)
    assert (report.status, report.problem and report.problem.code) == ("refused", code)
    assert not StaffMember.objects.exists() and not DirectoryImport.objects.exists()


def test_the_size_limit_is_a_setting(settings: Any) -> None:
    settings.DIRECTORY_IMPORT_MAX_BYTES = 100
    report = run_import(STAFF)
    assert report.problem is not None and report.problem.code == "too_large"
    assert read_staff_csv(STAFF, max_bytes=len(STAFF), max_rows=3).data_rows == 3


# --- Export ------------------------------------------------------------------------------


@pytest.mark.parametrize("encoding", ["utf-8", "cp932"])
def test_export_imports_back_unchanged(encoding: str) -> None:
    formulas = "004,=cmd|' /C calc'!A0,shiro@city.example.jp,,+総務課,-1,@1班,\t本町,"
    run_import(staff_csv(TARO, HANAKO, JIRO, formulas.replace("\t", ""), header=HEADER_EN))
    StaffMember.objects.filter(staff_id="002").update(extra={"資格": "=1+1"})
    data = directory_export(actor=OPERATOR, encoding=encoding)
    assert data.startswith(b"\xef\xbb\xbf") == (encoding == "utf-8")
    text = data.decode("utf-8-sig" if encoding == "utf-8" else "cp932")
    assert text.splitlines()[0] == (
        "職員番号,氏名,メールアドレス,電話番号,所属,役職,班,居住地域,参集グループ,資格"
    )
    assert "001,山﨑 ①郎,taro@city.example.jp,090-1234-5678,総務課," in text
    assert "'=cmd|' /C calc'!A0" in text and ",'+総務課,'-1,'@1班," in text
    assert "'=1+1" in text
    again = run_import(data)
    assert (again.status, again.encoding, again.unchanged, again.updated) == (
        "applied",
        "utf-8-sig" if encoding == "utf-8" else "cp932",
        4,
        0,
    )
    assert member("shiro@city.example.jp").name == "=cmd|' /C calc'!A0"


def test_export_leaves_out_staff_who_left() -> None:
    run_import(STAFF)
    run_import(staff_csv(TARO), deactivate_missing=True)
    text = directory_export(actor=OPERATOR, encoding="utf-8").decode("utf-8-sig")
    assert len(text.splitlines()) == 2 and "hanako" not in text


def test_cp932_export_refuses_characters_it_cannot_encode() -> None:
    run_import(staff_csv(TARO, "005,𠮷田 一,yoshida@city.example.jp,,,,,,", header=HEADER_EN))
    with pytest.raises(ExportRefused) as refused:
        directory_export(actor=OPERATOR, encoding="cp932")
    (problem,) = refused.value.problems
    assert (problem.line, problem.staff_id, problem.column) == (3, "005", "氏名")
    assert problem.character == "U+20BB7 𠮷"
    assert "UTF-8" in refused.value.message
    assert not AuditEvent.objects.filter(action="directory.export").exists()
    assert "𠮷田".encode() in directory_export(actor=OPERATOR, encoding="utf-8")


def test_export_is_audited_without_personal_data() -> None:
    run_import(STAFF)
    directory_export(actor=OPERATOR, encoding="cp932")
    (event,) = AuditEvent.objects.filter(action="directory.export")
    assert event.actor_kind == "operator"
    assert event.details["rows"] == 3 and event.details["encoding"] == "cp932"
    assert not any(secret in json.dumps(event.details, ensure_ascii=False) for secret in PERSONAL)


@pytest.mark.django_db(transaction=True)
def test_a_resident_alert_never_reaches_staff(smtp_sink: Sink, categories: dict[str, Any]) -> None:
    run_import(STAFF)
    make_subscriber("resident@example.jp", categories["bousai"])
    alert_publish(
        actor=OPERATOR, category=categories["bousai"], subject="避難", body="避難所開設", via="cli"
    )
    recipients = {rcpt for _sender, rcpts, _message in smtp_sink.messages for rcpt in rcpts}
    assert recipients == {"resident@example.jp"}
