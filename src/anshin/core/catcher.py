"""Built-in mail catcher for the demo: an SMTP server that keeps, never relays.

``anshin demo`` must show the whole alert round trip on a laptop without a
real relay and without mailing real people.  The catcher listens on
127.0.0.1 (port 1025 by default), accepts every message and saves it as an
``.eml`` file; a web page lists them with :func:`list_caught` and
:func:`read_caught`.  No Django imports: it also runs as a bare child process.

File format
    The name is ``<UTC timestamp to the microsecond>Z-<uuid4 hex>.eml``, so
    names sort by arrival and the id needs no index.  The file is the message
    exactly as received, preceded by two header lines we add::

        X-Anshin-Envelope-From: "city@example.jp"
        X-Anshin-Envelope-To: ["taro@example.jp", "hanako@example.jp"]

    The envelope is what the sender asked SMTP to do, which the message
    headers do not tell (Bcc).  The values are JSON with ASCII escapes, so no
    address can inject a line, and the file stays a valid message for any
    mail client.  Files are written to a hidden temporary name and renamed,
    so a reader never sees half a message.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import re
import signal
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path
from types import TracebackType
from typing import Any, Final, Self

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

__all__ = [
    "CaughtMail",
    "MailCatcher",
    "list_caught",
    "read_caught",
    "run_catcher_forever",
]

logger = logging.getLogger(__name__)

DEFAULT_HOST: Final = "127.0.0.1"
DEFAULT_PORT: Final = 1025
MAX_MESSAGE_BYTES: Final = 10 * 1024 * 1024
SUFFIX: Final = ".eml"
_ID: Final = re.compile(r"[0-9]{8}T[0-9]{12}Z-[0-9a-f]{32}")
_FROM_PREFIX: Final = b"X-Anshin-Envelope-From: "
_TO_PREFIX: Final = b"X-Anshin-Envelope-To: "
#: Shown in the SMTP greeting; also spares aiosmtpd a slow reverse DNS lookup.
_SERVER_NAME: Final = "anshin-mail-catcher"


@dataclass(frozen=True)
class CaughtMail:
    """One saved message, decoded for display."""

    id: str
    received_at: datetime
    envelope_from: str
    recipients: list[str]
    subject: str
    text: str
    headers: list[tuple[str, str]]


# ---------------------------------------------------------------------- server


class _SavingHandler:
    """aiosmtpd handler: accept everything, save it, tell the client the id."""

    def __init__(self, folder: Path) -> None:
        self._folder = folder

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        content = envelope.original_content or b""
        try:
            mail_id = await asyncio.to_thread(
                _save, self._folder, envelope.mail_from or "", list(envelope.rcpt_tos), content
            )
        except OSError:
            logger.exception("mail catcher could not save a message in %s", self._folder)
            return "451 4.3.0 Could not save the message"
        return f"250 2.0.0 OK caught as {mail_id}"


class _Controller(Controller):
    """A Controller that can bind port 0, so tests never race for a free port.

    aiosmtpd's ``start()`` connects to ``self.port`` to check the server is up,
    which fails for port 0; we put the real port there first.  This overrides
    aiosmtpd's internal ``_trigger_server`` hook (stable since 1.4).
    """

    def _trigger_server(self) -> None:
        if self.port == 0 and isinstance(self.server, asyncio.Server):
            self.port = self.server.sockets[0].getsockname()[1]
        super()._trigger_server()


class MailCatcher:
    """The catcher server, running in a background thread. Context manager."""

    def __init__(self, folder: Path, *, host: str = DEFAULT_HOST, port: int = DEFAULT_PORT) -> None:
        self.folder = folder
        self.host = host
        self._port = port
        self._controller: _Controller | None = None

    @property
    def port(self) -> int:
        """The listening port; the real one after ``start()`` when 0 was asked."""
        return self._controller.port if self._controller is not None else self._port

    def start(self) -> None:
        """Create the folder and listen; returns once the server answers."""
        if self._controller is not None:
            raise RuntimeError("the mail catcher is already running")
        self.folder.mkdir(parents=True, exist_ok=True)
        controller = _Controller(
            _SavingHandler(self.folder),
            hostname=self.host,
            port=self._port,
            server_hostname=_SERVER_NAME,
            data_size_limit=MAX_MESSAGE_BYTES,
        )
        try:
            controller.start()
        except BaseException:
            _discard(controller)
            raise
        self._controller = controller

    def stop(self) -> None:
        """Stop listening and end open sessions; safe to call when not running."""
        controller, self._controller = self._controller, None
        if controller is not None:
            controller.stop()

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()


def _discard(controller: _Controller) -> None:
    """Free a controller whose start() failed: aiosmtpd leaves its loop open then."""
    controller.stop(no_assert=True)
    if not controller.loop.is_running() and not controller.loop.is_closed():
        controller.loop.close()


def run_catcher_forever(folder: Path, *, host: str, port: int) -> None:
    """Run the catcher until SIGTERM or SIGINT, then stop cleanly (POSIX only).

    The signals are blocked before the server thread starts (threads inherit
    the mask) and collected with ``sigwait``: no handler runs at an arbitrary
    point, and the server thread can never be the one they kill.
    """
    stop_signals = {signal.SIGTERM, signal.SIGINT}
    previous_mask = signal.pthread_sigmask(signal.SIG_BLOCK, stop_signals)
    try:
        with MailCatcher(folder, host=host, port=port) as catcher:
            logger.info("mail catcher listening on %s:%d, saving to %s", host, catcher.port, folder)
            received = signal.sigwait(stop_signals)
            logger.info("mail catcher stopping on %s", signal.Signals(received).name)
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous_mask)


# ---------------------------------------------------------------------- saving


def _new_id() -> str:
    return f"{datetime.now(UTC):%Y%m%dT%H%M%S%f}Z-{uuid.uuid4().hex}"


def _save(folder: Path, envelope_from: str, recipients: Sequence[str], content: bytes) -> str:
    """Write atomically (temp file + rename) and return the new id.

    The file is created owner-only: messages carry residents' addresses.
    """
    mail_id = _new_id()
    temporary = folder / f".{mail_id}.tmp"
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(descriptor, "wb") as file:
            file.write(_envelope_lines(envelope_from, recipients) + content)
        os.replace(temporary, folder / f"{mail_id}{SUFFIX}")
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    return mail_id


def _envelope_lines(envelope_from: str, recipients: Sequence[str]) -> bytes:
    return b"".join(
        [
            _FROM_PREFIX + _ascii_json(envelope_from) + b"\r\n",
            _TO_PREFIX + _ascii_json(list(recipients)) + b"\r\n",
        ]
    )


def _ascii_json(value: str | list[str]) -> bytes:
    return json.dumps(value, ensure_ascii=True).encode("ascii")


# --------------------------------------------------------------------- reading


def list_caught(folder: Path, *, limit: int = 200) -> list[CaughtMail]:
    """Newest first, at most ``limit``; a file that cannot be read is skipped.

    One broken file must not take the whole demo page down.
    """
    mails: list[CaughtMail] = []
    for mail_id in _ids_newest_first(folder):
        if len(mails) >= limit:
            break
        mail = _load_or_none(folder, mail_id)
        if mail is not None:
            mails.append(mail)
    return mails


def read_caught(folder: Path, mail_id: str) -> CaughtMail | None:
    """One message by id, or None.

    The id comes from a URL, so only the exact pattern we generate is accepted:
    no separators, no dots, nothing that could leave the folder.
    """
    if not isinstance(mail_id, str) or not _ID.fullmatch(mail_id):
        return None
    return _load_or_none(folder, mail_id)


def _ids_newest_first(folder: Path) -> list[str]:
    try:
        names = os.listdir(folder)
    except OSError:
        return []
    ids = [name.removesuffix(SUFFIX) for name in names if name.endswith(SUFFIX)]
    return sorted((mail_id for mail_id in ids if _ID.fullmatch(mail_id)), reverse=True)


def _load_or_none(folder: Path, mail_id: str) -> CaughtMail | None:
    try:
        return _load(folder / f"{mail_id}{SUFFIX}", mail_id)
    except FileNotFoundError:
        return None
    except Exception as exc:  # any parse failure: skip the file, keep the page up
        logger.warning("skipping unreadable caught mail %s (%s)", mail_id, type(exc).__name__)
        return None


def _load(path: Path, mail_id: str) -> CaughtMail:
    envelope_from, recipients, content = _split_envelope(path.read_bytes())
    message = BytesParser(policy=policy.default).parsebytes(content)
    if not isinstance(message, EmailMessage):  # policy.default guarantees it; for the type checker
        raise TypeError("the parser did not return an EmailMessage")
    return CaughtMail(
        id=mail_id,
        received_at=datetime.strptime(mail_id[:21], "%Y%m%dT%H%M%S%f").replace(tzinfo=UTC),
        envelope_from=envelope_from,
        recipients=recipients,
        subject=_decode_header("Subject", message.get_all("Subject", [""])[0]),
        text=_plain_text(message),
        headers=[(name, _decode_header(name, value)) for name, value in message.raw_items()],
    )


def _split_envelope(raw: bytes) -> tuple[str, list[str], bytes]:
    """Separate our two envelope lines from the message as received."""
    first, second, content = raw.split(b"\r\n", 2)
    envelope_from = _json_value(first, _FROM_PREFIX)
    recipients = _json_value(second, _TO_PREFIX)
    if not isinstance(envelope_from, str) or not isinstance(recipients, list):
        raise ValueError("malformed envelope lines")
    if not all(isinstance(recipient, str) for recipient in recipients):
        raise ValueError("malformed envelope recipients")
    return envelope_from, recipients, content


def _json_value(line: bytes, prefix: bytes) -> Any:
    if not line.startswith(prefix):
        raise ValueError("missing envelope line")
    return json.loads(line.removeprefix(prefix))


def _decode_header(name: str, value: Any) -> str:
    """RFC 2047 decoded text; the raw value if the header is too broken to parse."""
    try:
        text = str(policy.default.header_fetch_parse(name, value))
    except Exception:  # the email package raises assorted errors on odd headers
        text = " ".join(str(value).split())
    return _without_surrogates(text)


def _plain_text(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain",))
    if not isinstance(part, EmailMessage):
        return ""
    try:
        text = str(part.get_content())
    except LookupError:  # unknown charset: UTF-8 is the best guess in Japan today
        payload = part.get_payload(decode=True)
        text = payload.decode("utf-8", "replace") if isinstance(payload, bytes) else ""
    return _without_surrogates(text.replace("\r\n", "\n"))


def _without_surrogates(text: str) -> str:
    """Turn raw 8-bit bytes the parser kept as surrogates back into UTF-8 text.

    Surrogates cannot be encoded, so left in they would break the page render.
    """
    try:
        return text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    except UnicodeEncodeError:
        return text.encode("utf-8", "replace").decode("utf-8")
