"""Planning and writing a staff import: the engine behind ``directory_import``.

:func:`make_plan` reads the whole directory once and decides, row by row, what the file changes
(see :mod:`anshin.directory.services` for the rules). :func:`prepare_writes` encrypts what must
be stored, outside any transaction; :func:`write` then runs a handful of ``executemany``
statements. ``bulk_create`` and ``bulk_update`` were not used: building and preparing a model
instance per row, and ``bulk_update``'s CASE expressions, cost more than the rest of a 50,000-row
import together.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Final

from django.db import connection
from django.utils import timezone

from anshin.core import crypto
from anshin.directory import csvio
from anshin.directory.csvio import RowError, StaffFile, StaffRow
from anshin.directory.models import (
    ATTRIBUTE_FIELDS,
    EMAIL_CONTEXT,
    NAME_CONTEXT,
    PHONE_CONTEXT,
    StaffMember,
    staff_email_hash,
)

WRITE_CHUNK: Final = 2000


@dataclass(slots=True, eq=False)
class _Member:
    pk: int
    staff_id: str | None
    email_hash: str
    active: bool
    name_ciphertext: bytes
    email_ciphertext: bytes
    phone_ciphertext: bytes | None
    attributes: dict[str, str]
    extra: dict[str, str]


@dataclass(slots=True, eq=False)
class _Update:
    member: _Member
    row: StaffRow
    email_hash: str
    changed: frozenset[str]  # of "name", "email", "phone"; the rest is written as planned
    attributes: dict[str, str]
    extra: dict[str, str]
    staff_id: str | None


@dataclass
class Plan:
    """What a file changes, and the directory (``snapshot``) that decision was based on."""

    snapshot: list[tuple[Any, ...]]
    errors: list[RowError]
    creates: list[tuple[StaffRow, str]] = field(default_factory=list)
    updates: list[_Update] = field(default_factory=list)
    reactivated: int = 0
    unchanged: int = 0
    deactivate: list[int] = field(default_factory=list)


class Stale(Exception):
    """The directory changed between planning and applying."""


_COLUMNS: Final = (
    "pk",
    "staff_id",
    "email_hash",
    "active",
    "name_ciphertext",
    "email_ciphertext",
    "phone_ciphertext",
    *ATTRIBUTE_FIELDS,
    "extra",
)


def _snapshot() -> list[tuple[Any, ...]]:
    """Every member as the plan sees it; compared again under the lock before writing."""
    return list(StaffMember.objects.order_by("pk").values_list(*_COLUMNS))


def _members(snapshot: list[tuple[Any, ...]]) -> list[_Member]:
    members = []
    for pk, staff_id, email_hash, active, name, email, phone, *attributes, extra in snapshot:
        members.append(
            _Member(
                pk,
                staff_id,
                email_hash,
                active,
                bytes(name),
                bytes(email),
                None if phone is None else bytes(phone),
                dict(zip(ATTRIBUTE_FIELDS, attributes, strict=True)),
                extra,
            )
        )
    return members


class _Matcher:
    def __init__(self, members: list[_Member], key: str) -> None:
        self.key = key
        self.by_staff_id = {m.staff_id: m for m in members if m.staff_id is not None}
        self.active_by_hash = {m.email_hash: m for m in members if m.active}
        # Of several leavers with one address, the latest (highest pk) is the one to reactivate.
        self.inactive_by_hash = {m.email_hash: m for m in members if not m.active}

    def match(self, row: StaffRow, email_hash: str) -> _Member | None:
        if self.key == "email" or row.staff_id is None:
            return self.active_by_hash.get(email_hash) or self.inactive_by_hash.get(email_hash)
        member = self.by_staff_id.get(row.staff_id)
        if member is None:
            unnumbered = self.active_by_hash.get(email_hash)
            if unnumbered is not None and unnumbered.staff_id is None:
                return unnumbered
        return member


def make_plan(staff_file: StaffFile, *, deactivate_missing: bool) -> Plan:
    """Match every row to a member (or none), decide what changes, and add the errors that
    depend on the directory (an address held by someone the file does not touch)."""
    snapshot = _snapshot()
    members = _members(snapshot)
    matcher = _Matcher(members, staff_file.key)
    plan = Plan(snapshot=snapshot, errors=list(staff_file.errors))
    matched: list[tuple[StaffRow, str, _Member | None]] = []
    for row in staff_file.rows:
        email_hash = staff_email_hash(row.email)
        matched.append((row, email_hash, matcher.match(row, email_hash)))
    touched = {member.pk for _row, _hash, member in matched if member is not None}
    untouched = [m for m in members if m.active and m.pk not in touched]
    if deactivate_missing:
        plan.deactivate = [m.pk for m in untouched]
    taken = set() if deactivate_missing else {m.email_hash for m in untouched}
    for row, email_hash, member in matched:
        if email_hash in taken:
            plan.errors.append(csvio.row_error(row.line, "email", "email_in_use"))
        elif member is None:
            plan.creates.append((row, email_hash))
        else:
            _plan_update(plan, row, email_hash, member)
    plan.errors.sort(key=lambda error: error.line)
    return plan


def _plan_update(plan: Plan, row: StaffRow, email_hash: str, member: _Member) -> None:
    changed = set()
    if email_hash != member.email_hash:
        changed.add("email")
    if row.name is not None and row.name != _decrypt(member.name_ciphertext, NAME_CONTEXT):
        changed.add("name")
    if row.phone is not None and row.phone != _decrypt(member.phone_ciphertext, PHONE_CONTEXT):
        changed.add("phone")
    attributes = {**member.attributes, **row.attributes}
    extra = dict(member.extra)
    for header, value in row.extra.items():
        if value:
            extra[header] = value
        else:
            extra.pop(header, None)
    staff_id = row.staff_id if row.staff_id is not None else member.staff_id
    same = (attributes, extra, staff_id) == (member.attributes, member.extra, member.staff_id)
    if member.active and not changed and same:
        plan.unchanged += 1
        return
    if not member.active:
        plan.reactivated += 1
    plan.updates.append(
        _Update(member, row, email_hash, frozenset(changed), attributes, extra, staff_id)
    )


def _decrypt(blob: bytes | None, context: bytes) -> str:
    return "" if blob is None else crypto.decrypt(blob, context=context)


# --- Applying ----------------------------------------------------------------------------


@dataclass
class Writes:
    """A plan's statements with their values, encrypted before any lock is taken."""

    snapshot: list[tuple[Any, ...]]
    deactivations: list[tuple[Any, ...]]
    moving: list[tuple[Any, ...]]
    updates: list[tuple[Any, ...]]
    inserts: list[tuple[Any, ...]]


def prepare_writes(plan: Plan) -> Writes:
    now = connection.ops.adapt_datetimefield_value(timezone.now())
    return Writes(
        snapshot=plan.snapshot,
        deactivations=[(False, now, pk) for pk in plan.deactivate],
        # A placeholder that is never a hash (64 hex digits) and unique per member.
        moving=[(f"~{u.member.pk}", u.member.pk) for u in plan.updates if "email" in u.changed],
        updates=[_update_values(update, now) for update in plan.updates],
        inserts=[_insert_values(row, email_hash, now) for row, email_hash in plan.creates],
    )


def write(writes: Writes) -> None:
    """Apply prepared writes; call inside the transaction that records the import.

    Raises :class:`Stale` if the directory is no longer what the plan saw.
    """
    _lock()
    if _snapshot() != writes.snapshot:
        raise Stale
    _execute(_update_sql("active", "updated_at"), writes.deactivations)
    # Addresses may move between members (a swap): free each old one before any is taken.
    _execute(_update_sql("email_hash"), writes.moving)
    _execute(_update_sql(*_WRITTEN), writes.updates)
    _execute(_insert_sql(), writes.inserts)


_WRITTEN: Final = (
    "staff_id",
    "name_ciphertext",
    "email_ciphertext",
    "email_hash",
    "phone_ciphertext",
    *ATTRIBUTE_FIELDS,
    "extra",
    "active",
    "updated_at",
)


def _update_sql(*columns: str) -> str:
    quote = connection.ops.quote_name
    assignments = ", ".join(f"{quote(column)} = %s" for column in columns)
    return f"UPDATE {_table()} SET {assignments} WHERE id = %s"  # noqa: S608 - model's names


def _insert_sql() -> str:
    columns = ", ".join(connection.ops.quote_name(c) for c in (*_WRITTEN, "created_at"))
    values = ", ".join(["%s"] * (len(_WRITTEN) + 1))
    return f"INSERT INTO {_table()} ({columns}) VALUES ({values})"  # noqa: S608 - model's names


def _insert_values(row: StaffRow, email_hash: str, now: Any) -> tuple[Any, ...]:
    """Column values of a new member; ``now`` is already adapted for the database."""
    extra = {header: value for header, value in row.extra.items() if value}
    return (
        row.staff_id,
        crypto.encrypt(row.name or "", context=NAME_CONTEXT),
        crypto.encrypt(row.email, context=EMAIL_CONTEXT),
        email_hash,
        crypto.encrypt(row.phone, context=PHONE_CONTEXT) if row.phone else None,
        *(row.attributes.get(name, "") for name in ATTRIBUTE_FIELDS),
        _json(extra),
        True,
        now,
        now,
    )


def _update_values(update: _Update, now: Any) -> tuple[Any, ...]:
    member, row = update.member, update.row
    name = member.name_ciphertext
    if "name" in update.changed:
        name = crypto.encrypt(row.name or "", context=NAME_CONTEXT)
    email = member.email_ciphertext
    if "email" in update.changed:
        email = crypto.encrypt(row.email, context=EMAIL_CONTEXT)
    phone = member.phone_ciphertext
    if "phone" in update.changed:
        phone = crypto.encrypt(row.phone, context=PHONE_CONTEXT) if row.phone else None
    return (
        update.staff_id,
        name,
        email,
        update.email_hash,
        phone,
        *(update.attributes[name] for name in ATTRIBUTE_FIELDS),
        _json(update.extra),
        True,
        now,
        member.pk,
    )


def _json(value: dict[str, str]) -> Any:
    """What JSONField would send (a string on SQLite, a Jsonb adapter on PostgreSQL)."""
    return connection.ops.adapt_json_value(value, None)


def _lock() -> None:
    """SQLite's IMMEDIATE transactions already hold the write lock; PostgreSQL needs a lock
    that makes a second import (or a console edit) wait until this one commits."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(f"LOCK TABLE {_table()} IN SHARE ROW EXCLUSIVE MODE")


def _table() -> str:
    return connection.ops.quote_name(StaffMember._meta.db_table)


def _execute(statement: str, rows: list[tuple[Any, ...]]) -> None:
    with connection.cursor() as cursor:
        for start in range(0, len(rows), WRITE_CHUNK):
            cursor.executemany(statement, rows[start : start + WRITE_CHUNK])
