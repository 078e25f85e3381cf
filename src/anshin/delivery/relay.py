"""The relay's limits, shared by every worker through the database: a fixed number of
connection slots, and a per-connection pace so that all connections together stay under the
rate ceiling. The database is already what every worker shares; no extra server is needed."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from anshin.delivery.models import RelaySlot


class NoSlot(Exception):
    """Every connection slot stayed taken for RELAY_SLOT_WAIT_SECONDS."""


@contextmanager
def relay_slot() -> Iterator[Pacer]:
    """Hold one connection slot (when a limit is set) for the duration of a connection."""
    limit = settings.RELAY_MAX_CONNECTIONS
    if limit <= 0:
        yield Pacer(interval=0.0)
        return
    holder = uuid.uuid4().hex
    slot = _acquire(limit, holder)
    try:
        rate = settings.RELAY_MAX_RATE
        yield Pacer(interval=limit / rate if rate > 0 else 0.0, renew=lambda: _renew(slot, holder))
    finally:
        RelaySlot.objects.filter(pk=slot, holder=holder).update(holder="", leased_until=None)


def _acquire(limit: int, holder: str) -> int:
    RelaySlot.objects.bulk_create(
        [RelaySlot(pk=i) for i in range(1, limit + 1)], ignore_conflicts=True
    )
    deadline = time.monotonic() + settings.RELAY_SLOT_WAIT_SECONDS
    while True:
        now = timezone.now()
        free = RelaySlot.objects.filter(Q(holder="") | Q(leased_until__lt=now), pk__lte=limit)
        for pk in free.order_by("pk").values_list("pk", flat=True)[:limit]:
            # Conditional: if another worker took this slot since the read, nothing changes.
            if free.filter(pk=pk).update(holder=holder, leased_until=_lease(now)):
                return pk
        if time.monotonic() >= deadline:
            raise NoSlot
        time.sleep(0.05)


def _lease(now: datetime) -> datetime:
    return now + timedelta(seconds=settings.SEND_LEASE_SECONDS)


def _renew(slot: int, holder: str) -> None:
    RelaySlot.objects.filter(pk=slot, holder=holder).update(leased_until=_lease(timezone.now()))


class Pacer:
    """Spaces one connection's messages at least `interval` seconds apart."""

    def __init__(self, interval: float, renew: Callable[[], None] | None = None) -> None:
        self.interval = interval
        self.renew = renew
        self.next_at = 0.0

    def wait(self) -> None:
        if self.interval <= 0:
            return
        now = time.monotonic()
        if self.next_at > now:
            time.sleep(self.next_at - now)
        self.next_at = max(now, self.next_at) + self.interval
