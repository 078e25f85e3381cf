"""Migration from the old system (S6): import its subscriber list and, if asked, send each
resident this import made active a personal notice (what changed, how to manage or leave).

The notices are ordinary Notification rows of the bulk kind ``migration``, sent in id-range
batches on the bulk queue behind alerts. A resident gets at most one migration notice ever
(a unique constraint), so importing the same file again notifies nobody twice, and a crash
between the import and the notices is repaired by importing the file again.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from django.db import transaction

from anshin.core.audit import Actor, audit_record
from anshin.delivery.models import Notification
from anshin.delivery.services import FAN_OUT_CHUNK, notifications_create_bulk
from anshin.residents.importing import ImportResult, residents_import
from anshin.residents.models import ResidentImport, Subscriber


@dataclass(frozen=True)
class MigrationOutcome:
    result: ImportResult
    record: ResidentImport | None  # None for a dry run


def migration_import(
    *,
    lines: Iterable[str],
    basis: str,
    actor: Actor,
    notify: bool,
    dry_run: bool = False,
    progress: Callable[[int], None] | None = None,
) -> MigrationOutcome:
    """Import the file (see :func:`residents_import`), record the import, and with ``notify``
    queue one migration notice per subscriber it made active. Raises ImportAborted."""
    result = residents_import(
        lines=lines, basis=basis, actor=actor, dry_run=dry_run, progress=progress
    )
    if dry_run:
        return MigrationOutcome(result=result, record=None)
    record = ResidentImport.objects.create(
        basis=result.basis,
        actor_kind=actor.kind,
        actor_user=actor.user,
        counts=result.audit_details(),
        notify=notify,
    )
    if notify:
        migration_notify(record=record, subscriber_ids=result.subscriber_ids, actor=actor)
    return MigrationOutcome(result=result, record=record)


def migration_notify(*, record: ResidentImport, subscriber_ids: list[int], actor: Actor) -> int:
    """Queue the notices in chunks, each its own short transaction (SQLite's write lock)."""
    created = 0
    ids = sorted(subscriber_ids)
    for start in range(0, len(ids), FAN_OUT_CHUNK):
        with transaction.atomic():
            # Only residents still active: one may have left since the chunk was imported.
            active = list(
                Subscriber.objects.filter(
                    pk__in=ids[start : start + FAN_OUT_CHUNK], state=Subscriber.State.ACTIVE
                ).values_list("pk", flat=True)
            )
            created += notifications_create_bulk(
                kind=Notification.Kind.MIGRATION, subscriber_ids=active, resident_import=record
            )
    with transaction.atomic():
        ResidentImport.objects.filter(pk=record.pk).update(notices=created)
        audit_record(
            actor=actor,
            action="residents.migration_notify",
            target=record,
            details={"notices": created},
        )
    record.notices = created
    return created
