"""The audit log's hash chain: every append is numbered and chained, and `anshin audit verify`
names the first entry that was altered, removed, reordered, or cut off the end."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.db import connection, transaction
from django.utils import translation

from anshin.core.audit import (
    GENESIS,
    OPERATOR,
    SYSTEM,
    audit_checkpoint,
    audit_record,
    audit_verify,
)
from anshin.core.models import AuditChain, AuditEvent


def _record(n: int) -> list[AuditEvent]:
    return [
        audit_record(actor=SYSTEM, action="test.step", details={"step": i, "ids": (i, i + 1)})
        for i in range(n)
    ]


def _sql(statement: str, *params: Any) -> None:
    """Tamper as someone with database access would: bypassing the application."""
    with connection.cursor() as cursor:
        cursor.execute(statement, params)


@pytest.mark.django_db
def test_entries_are_numbered_and_chained_from_genesis() -> None:
    events = _record(3)
    assert [e.seq for e in events] == [1, 2, 3]
    assert events[0].prev_hash == GENESIS
    assert [e.prev_hash for e in events[1:]] == [e.hash for e in events[:-1]]
    assert len({e.hash for e in events}) == 3
    chain = AuditChain.objects.get()
    assert (chain.seq, chain.head) == (3, events[-1].hash)
    report = audit_verify()
    assert (report.ok, report.checked, report.head_seq, report.head_hash) == (
        True,
        3,
        3,
        events[-1].hash,
    )


@pytest.mark.django_db
def test_details_are_stored_exactly_as_hashed() -> None:
    raw: dict[Any, Any] = {1: ("a", "b"), "日本": None}
    event = audit_record(actor=OPERATOR, action="x", details=raw)
    stored = AuditEvent.objects.get(pk=event.pk)
    assert stored.details == {"1": ["a", "b"], "日本": None}
    assert audit_verify().ok


@pytest.mark.django_db
def test_an_altered_entry_is_found() -> None:
    _record(5)
    _sql("UPDATE core_auditevent SET details = %s WHERE seq = 3", '{"step": 99}')
    report = audit_verify()
    assert (report.ok, report.broken_at, report.problem, report.checked) == (
        False,
        3,
        "altered",
        2,
    )


@pytest.mark.django_db
def test_an_altered_actor_is_found() -> None:
    _record(2)
    _sql("UPDATE core_auditevent SET actor_kind = 'staff' WHERE seq = 1")
    assert (audit_verify().broken_at, audit_verify().problem) == (1, "altered")


@pytest.mark.django_db
def test_a_removed_entry_is_found() -> None:
    _record(5)
    _sql("DELETE FROM core_auditevent WHERE seq = 4")
    report = audit_verify()
    assert (report.broken_at, report.problem) == (4, "removed")


@pytest.mark.django_db
def test_entries_cut_off_the_end_are_found() -> None:
    _record(5)
    _sql("DELETE FROM core_auditevent WHERE seq >= 4")
    report = audit_verify()
    assert (report.broken_at, report.problem, report.checked) == (4, "truncated", 3)


@pytest.mark.django_db
def test_a_removed_entry_renumbered_to_hide_the_gap_is_found() -> None:
    _record(4)
    _sql("DELETE FROM core_auditevent WHERE seq = 2")
    _sql("UPDATE core_auditevent SET seq = seq - 10 WHERE seq > 2")
    _sql("UPDATE core_auditevent SET seq = seq + 9 WHERE seq < 0")
    report = audit_verify()
    assert (report.broken_at, report.problem) == (2, "reordered")


@pytest.mark.django_db
def test_swapped_entries_are_found() -> None:
    _record(4)
    _sql("UPDATE core_auditevent SET seq = -2 WHERE seq = 2")
    _sql("UPDATE core_auditevent SET seq = 2 WHERE seq = 3")
    _sql("UPDATE core_auditevent SET seq = 3 WHERE seq = -2")
    report = audit_verify()
    assert (report.broken_at, report.problem) == (2, "reordered")


@pytest.mark.django_db
def test_a_rolled_back_action_leaves_no_entry_and_no_gap() -> None:
    _record(1)
    with pytest.raises(RuntimeError), transaction.atomic():
        audit_record(actor=SYSTEM, action="doomed")
        raise RuntimeError
    event = audit_record(actor=SYSTEM, action="after")
    assert event.seq == 2
    assert list(AuditEvent.objects.values_list("action", flat=True)) == ["test.step", "after"]
    assert audit_verify().ok


@pytest.mark.django_db(transaction=True)
def test_concurrent_writers_keep_one_gap_free_chain() -> None:
    errors: list[BaseException] = []

    def write() -> None:
        try:
            for _ in range(15):
                audit_record(actor=SYSTEM, action="concurrent")
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=write) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    assert list(AuditEvent.objects.values_list("seq", flat=True)) == list(range(1, 61))
    report = audit_verify()
    assert (report.ok, report.checked) == (True, 60)


@pytest.mark.django_db
def test_verify_command_prints_the_head_of_an_intact_log(capsys: Any) -> None:
    events = _record(2)
    with translation.override("en"):
        call_command("audit", "verify")
    assert capsys.readouterr().out.strip() == (
        f"The audit log is intact: 2 entries. Chain head: #2 {events[-1].hash}"
    )


@pytest.mark.django_db
def test_verify_command_fails_naming_the_entry() -> None:
    _record(3)
    _sql("UPDATE core_auditevent SET action = 'innocent' WHERE seq = 2")
    with translation.override("en"), pytest.raises(CommandError) as caught:
        call_command("audit", "verify")
    assert caught.value.returncode == 1
    assert str(caught.value) == (
        "The audit log is broken: entry #2 was altered after it was written. "
        "1 entry before it is intact."
    )


# --- Retention checkpoints: the chain may start after purged entries ------------------------


def _purged(n: int, through: int) -> AuditEvent:
    """n entries, a checkpoint covering the first `through`, and those entries deleted."""
    _record(n)
    checkpoint = audit_checkpoint(actor=SYSTEM, through_seq=through, details={"run": 1})
    AuditEvent.objects.filter(seq__lte=through).delete()
    return checkpoint


@pytest.mark.django_db
def test_a_chain_that_starts_after_a_checkpoint_verifies() -> None:
    checkpoint = _purged(5, 3)
    assert checkpoint.details["purged_through_seq"] == 3
    audit_record(actor=SYSTEM, action="after")
    report = audit_verify()
    assert (report.ok, report.start_seq, report.checked, report.head_seq) == (True, 4, 4, 7)


@pytest.mark.django_db
def test_entries_a_checkpoint_covers_but_not_yet_deleted_are_left_out() -> None:
    _record(4)
    audit_checkpoint(actor=SYSTEM, through_seq=2, details={})
    AuditEvent.objects.filter(seq=1).delete()  # a purge interrupted half-way
    report = audit_verify()
    assert (report.ok, report.start_seq, report.checked) == (True, 3, 3)


@pytest.mark.django_db
def test_the_first_entry_after_a_checkpoint_removed_is_found() -> None:
    _purged(5, 3)
    _sql("DELETE FROM core_auditevent WHERE seq = 4")
    report = audit_verify()
    assert (report.broken_at, report.problem) == (4, "removed")


@pytest.mark.django_db
def test_a_checkpoint_moved_forward_to_hide_entries_is_found() -> None:
    checkpoint = _purged(6, 2)
    hidden = AuditEvent.objects.get(seq=4)
    details = {**checkpoint.details, "purged_through_seq": 4, "purged_through_hash": hidden.hash}
    AuditEvent.objects.filter(pk=checkpoint.pk).update(details=details)
    _sql("DELETE FROM core_auditevent WHERE seq IN (3, 4)")
    report = audit_verify()
    assert (report.broken_at, report.problem) == (checkpoint.seq, "altered")


@pytest.mark.django_db
@pytest.mark.parametrize("through", ["3", -1, 99, None])
def test_a_malformed_checkpoint_is_found(through: Any) -> None:
    checkpoint = _purged(4, 2)
    AuditEvent.objects.filter(pk=checkpoint.pk).update(
        details={**checkpoint.details, "purged_through_seq": through}
    )
    report = audit_verify()
    assert (report.ok, report.broken_at, report.problem) == (False, checkpoint.seq, "altered")


@pytest.mark.django_db
def test_a_removed_checkpoint_is_found() -> None:
    checkpoint = _purged(4, 2)
    AuditEvent.objects.filter(pk=checkpoint.pk).update(action="innocent")
    assert (audit_verify().broken_at, audit_verify().problem) == (1, "removed")
    AuditEvent.objects.filter(pk=checkpoint.pk).delete()
    assert (audit_verify().broken_at, audit_verify().problem) == (1, "removed")


@pytest.mark.django_db
def test_truncation_after_a_checkpoint_is_found() -> None:
    checkpoint = _purged(4, 2)
    _record(2)
    _sql("DELETE FROM core_auditevent WHERE seq > %s", checkpoint.seq)
    report = audit_verify()
    assert (report.broken_at, report.problem) == (checkpoint.seq + 1, "truncated")


@pytest.mark.django_db
def test_reordering_after_a_checkpoint_is_found() -> None:
    _purged(5, 2)
    _sql("UPDATE core_auditevent SET seq = -4 WHERE seq = 4")
    _sql("UPDATE core_auditevent SET seq = 4 WHERE seq = 5")
    _sql("UPDATE core_auditevent SET seq = 5 WHERE seq = -4")
    assert (audit_verify().broken_at, audit_verify().problem) == (4, "reordered")
