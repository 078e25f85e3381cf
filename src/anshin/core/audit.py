"""audit_record: the one way an action enters the audit trail (called inside the action's
transaction, so the record and the change commit or roll back together), and audit_verify,
which walks the hash chain."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from django.contrib.auth.models import AnonymousUser, User
from django.db import models, transaction
from django.utils import timezone

from anshin.core.models import AuditChain, AuditEvent

GENESIS = "0" * 64
CHAIN_ID = 1
#: The entry a retention purge leaves: it names the last purged entry (seq and hash), so the
#: chain is checked from the entry after it. Being chained itself, it cannot be altered or
#: removed without the walk noticing.
CHECKPOINT = "audit.checkpoint"


@dataclass(frozen=True)
class Actor:
    """Who acted: a staff user, the operator at the command line, the system, or a resident."""

    kind: str
    user: User | None = None

    @classmethod
    def staff(cls, user: User | AnonymousUser) -> Actor:
        if not user.is_authenticated:
            raise ValueError("A staff action needs a signed-in user.")
        assert isinstance(user, User)
        return cls(kind=AuditEvent.ActorKind.STAFF, user=user)


OPERATOR = Actor(kind=AuditEvent.ActorKind.OPERATOR)
SYSTEM = Actor(kind=AuditEvent.ActorKind.SYSTEM)
RESIDENT = Actor(kind=AuditEvent.ActorKind.RESIDENT)
RECIPIENT = Actor(kind=AuditEvent.ActorKind.RECIPIENT)
INTEGRATION = Actor(kind=AuditEvent.ActorKind.INTEGRATION)


def entry_hash(
    *,
    prev_hash: str,
    seq: int,
    at: datetime,
    actor_kind: str,
    actor_user_id: int | None,
    action: str,
    target_type: str,
    target_id: str,
    details: Any,
) -> str:
    """SHA-256 over the previous hash and a canonical JSON of the entry (UTC time, sorted
    keys), so that the same entry always gives the same hash on any database."""
    content = [
        seq,
        at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        actor_kind,
        actor_user_id,
        action,
        target_type,
        target_id,
        details,
    ]
    canonical = json.dumps(content, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(prev_hash.encode() + b"\n" + canonical.encode()).hexdigest()


def audit_record(
    *,
    actor: Actor,
    action: str,
    target: models.Model | None = None,
    details: dict[str, Any] | None = None,
) -> AuditEvent:
    """Append one audit event. `details` must refer to rows by id, never carry personal data."""
    # Stored exactly as hashed: a JSON round trip turns tuples into lists, int keys into str.
    details = json.loads(json.dumps(details or {}))
    with transaction.atomic():
        chain, _ = AuditChain.objects.select_for_update().get_or_create(pk=CHAIN_ID)
        event = AuditEvent(
            at=timezone.now(),
            actor_kind=actor.kind,
            actor_user=actor.user,
            action=action,
            target_type=target._meta.label_lower if target is not None else "",
            target_id=str(target.pk) if target is not None else "",
            details=details,
            seq=chain.seq + 1,
            prev_hash=chain.head,
        )
        event.hash = _hash_of(event)
        event.save(force_insert=True)
        AuditChain.objects.filter(pk=CHAIN_ID).update(seq=event.seq, head=event.hash)
    return event


def _hash_of(event: AuditEvent) -> str:
    return entry_hash(
        prev_hash=event.prev_hash,
        seq=event.seq,
        at=event.at,
        actor_kind=event.actor_kind,
        actor_user_id=event.actor_user_id,
        action=event.action,
        target_type=event.target_type,
        target_id=event.target_id,
        details=event.details,
    )


@dataclass(frozen=True)
class ChainReport:
    """What `anshin audit verify` found: the entries checked and the head, or the first
    break. `problem` is "altered", "removed", "reordered" or "truncated"."""

    checked: int
    head_seq: int
    head_hash: str
    broken_at: int | None = None
    problem: str = ""
    start_seq: int = 1  # after a retention checkpoint, the first entry still kept

    @property
    def ok(self) -> bool:
        return self.broken_at is None


def _entries(after: int = 0, batch: int = 2000) -> Iterator[AuditEvent]:
    while True:
        rows = list(AuditEvent.objects.filter(seq__gt=after).order_by("seq")[:batch])
        yield from rows
        if len(rows) < batch:
            return
        after = rows[-1].seq


def audit_checkpoint(*, actor: Actor, through_seq: int, details: dict[str, Any]) -> AuditEvent:
    """Append the checkpoint that lets entries up to `through_seq` be purged; the caller
    deletes them afterwards (a crash in between leaves them, harmlessly, to the next run)."""
    with transaction.atomic():
        last = AuditEvent.objects.get(seq=through_seq)
        return audit_record(
            actor=actor,
            action=CHECKPOINT,
            details={**details, "purged_through_seq": last.seq, "purged_through_hash": last.hash},
        )


def audit_checkpoint_seq() -> int:
    """The last entry the newest checkpoint covers (0: none); older entries may be purged."""
    checkpoint = AuditEvent.objects.filter(action=CHECKPOINT).order_by("-seq").first()
    through = checkpoint.details.get("purged_through_seq") if checkpoint else 0
    return through if isinstance(through, int) else 0


def _start() -> tuple[int, str, int | None]:
    """Where the walk begins: (first seq, the hash it must follow, the seq of a checkpoint
    that is malformed). A checkpoint names the last purged entry; without one, genesis."""
    checkpoint = AuditEvent.objects.filter(action=CHECKPOINT).order_by("-seq").first()
    if checkpoint is None:
        return 1, GENESIS, None
    through = checkpoint.details.get("purged_through_seq")
    head = checkpoint.details.get("purged_through_hash")
    valid = isinstance(through, int) and 0 < through < checkpoint.seq
    if not valid or not isinstance(head, str) or len(head) != 64:
        return 1, GENESIS, checkpoint.seq
    return through + 1, head, None


def audit_verify() -> ChainReport:
    """Walk the chain in sequence order and report the first entry that does not follow.

    The walk starts after the newest checkpoint (entries it covers are purged, or about to
    be); everything from there on must follow without a gap up to the recorded head."""
    first, prev_hash, malformed = _start()
    if malformed is not None:
        return ChainReport(0, 0, GENESIS, malformed, "altered")
    expected, checked = first, 0
    for event in _entries(after=first - 1):
        if event.seq != expected:
            return ChainReport(checked, expected - 1, prev_hash, expected, "removed")
        if event.prev_hash != prev_hash:
            return ChainReport(checked, expected - 1, prev_hash, event.seq, "reordered")
        if event.hash != _hash_of(event):
            return ChainReport(checked, expected - 1, prev_hash, event.seq, "altered")
        prev_hash, expected, checked = event.hash, expected + 1, checked + 1
    chain = AuditChain.objects.filter(pk=CHAIN_ID).first()
    if chain is not None and (chain.seq, chain.head) != (expected - 1, prev_hash):
        return ChainReport(checked, expected - 1, prev_hash, expected, "truncated")
    return ChainReport(checked, expected - 1, prev_hash, start_seq=first)
