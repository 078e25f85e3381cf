from __future__ import annotations

from django.db.models import QuerySet

from anshin.inbound.models import IntakeDraft


def intake_drafts(*, state: str = IntakeDraft.State.NEW) -> QuerySet[IntakeDraft]:
    """Drafts in one state, newest first (the console pages them)."""
    return IntakeDraft.objects.filter(state=state).select_related("decided_by")
