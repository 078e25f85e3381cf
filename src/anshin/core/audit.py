"""audit_record: the one way an action enters the audit trail (called inside the action's
transaction, so the record and the change commit or roll back together)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.contrib.auth.models import AnonymousUser, User
from django.db import models

from anshin.core.models import AuditEvent


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


def audit_record(
    *,
    actor: Actor,
    action: str,
    target: models.Model | None = None,
    details: dict[str, Any] | None = None,
) -> AuditEvent:
    """Append one audit event. `details` must refer to rows by id, never carry personal data."""
    return AuditEvent.objects.create(
        actor_kind=actor.kind,
        actor_user=actor.user,
        action=action,
        target_type=target._meta.label_lower if target is not None else "",
        target_id=str(target.pk) if target is not None else "",
        details=details or {},
    )
