"""The SMTP side of `anshin inbound`: an aiosmtpd handler that refuses early and cheaply.

Refused at RCPT (so we never accept mail we would have to bounce ourselves, which would be
backscatter to a forged sender): any recipient that is not the registration address, the
intake address or a VERP address whose MAC verifies (550 5.1.1); intake mail from a sender
not in ANSHIN_INBOUND_INTAKE_SENDERS (550 5.7.1); more than the hourly limit of mails from
one sender or one client IP (450 4.7.1, so a real MTA tries later). Bounces are exempt from
the rate limit: each is HMAC-checked and recorded once per mail we sent, and a large alert
can make the relay return many at once. Mail larger than ANSHIN_INBOUND_MAX_BYTES is refused
by aiosmtpd itself (552). Accepted mail is handed to `services.mail_receive` in a thread; a
database error answers 451, so the sender's MTA tries again later.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session
from django.conf import settings
from django.db import connections

from anshin.inbound import services
from anshin.inbound.services import Route

log = logging.getLogger(__name__)

SERVER_NAME = "anshin-inbound"  # the greeting; also spares aiosmtpd a reverse DNS lookup
_WINDOW_SECONDS = 3600.0
_MAX_KEYS = 100_000


class RateLimiter:
    """Fixed one-hour windows per key, in memory (one listener process; a restart forgives).
    Bounded: when too many keys are held, the expired windows are dropped, then all."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._windows: dict[str, tuple[float, int]] = {}
        self._lock = threading.Lock()

    def allow(self, key: str, limit: int) -> bool:
        now = self._clock()
        with self._lock:
            start, count = self._windows.get(key, (now, 0))
            if now - start >= _WINDOW_SECONDS:
                start, count = now, 0
            if len(self._windows) >= _MAX_KEYS:
                self._prune(now)
            self._windows[key] = (start, count + 1)
        return count < limit

    def _prune(self, now: float) -> None:
        self._windows = {k: v for k, v in self._windows.items() if now - v[0] < _WINDOW_SECONDS}
        if len(self._windows) >= _MAX_KEYS:  # a flood from ever-new keys: start afresh
            self._windows.clear()


class InboundHandler:
    def __init__(self) -> None:
        self.limiter = RateLimiter()

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: Any
    ) -> str:
        route = services.route_for(address)
        if route is None:
            return "550 5.1.1 No such mailbox here"
        sender = envelope.mail_from or ""
        if route == Route.INTAKE and not services.intake_sender_allowed(sender):
            return "550 5.7.1 This sender may not send to the intake address"
        if route != Route.BOUNCE and not self._within_limits(session, envelope, sender):
            return "450 4.7.1 Too many mails from you; try again later"
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    def _within_limits(self, session: Session, envelope: Envelope, sender: str) -> bool:
        """Counted once per mail (not per recipient); the verdict holds for all of them."""
        verdict = getattr(envelope, "anshin_within_limits", None)
        if verdict is None:
            peer = session.peer[0] if isinstance(session.peer, tuple) else str(session.peer)
            by_client = self.limiter.allow("ip:" + peer, settings.INBOUND_CLIENT_LIMIT)
            by_sender = self.limiter.allow("from:" + sender.lower(), settings.INBOUND_SENDER_LIMIT)
            verdict = by_client and by_sender
            envelope.anshin_within_limits = verdict  # type: ignore[attr-defined]
        return bool(verdict)

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or b""
        sender = envelope.mail_from or ""
        try:
            await asyncio.to_thread(_receive, sender, list(envelope.rcpt_tos), raw)
        except Exception as exc:  # the database is away: the sender's MTA will retry
            log.error("Inbound mail could not be processed (%s); answered 451", type(exc).__name__)
            return "451 4.3.0 Temporary failure; try again later"
        return "250 2.0.0 OK"


def _receive(sender: str, recipients: list[str], raw: bytes) -> None:
    """Runs in the event loop's worker threads, which outlive any one mail: the thread's
    database connection is closed after each mail rather than left open in an idle thread
    (inbound mail is rare next to web requests; a reconnect costs milliseconds)."""
    try:
        services.mail_receive(sender=sender, recipients=recipients, raw=raw)
    finally:
        connections.close_all()


def make_controller(*, host: str, port: int) -> Controller:
    """The listener, not yet started (``.start()`` runs it in a thread; ``.stop()``)."""
    return Controller(
        InboundHandler(),
        hostname=host,
        port=port,
        server_hostname=SERVER_NAME,
        data_size_limit=settings.INBOUND_MAX_BYTES,
        ready_timeout=10.0,
    )
