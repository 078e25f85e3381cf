"""Reads of the staff directory."""

from __future__ import annotations

from anshin.directory.models import StaffMember


def active_staff_count() -> int:
    return StaffMember.objects.filter(active=True).count()
