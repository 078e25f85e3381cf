"""Outgoing mail over SMTP, configured by one URL (``ANSHIN_SMTP_URL``).

Why one URL: host, port, security mode, user, password and timeout always travel
together, and a single environment variable is hard to half-configure.

Why a thin layer over :mod:`smtplib` instead of Django's e-mail backend: the
delivery worker sends one message per resident and must know, per recipient,
whether a refusal is *temporary* (try again later) or *permanent* (stop trying);
it reuses one connection for thousands of messages; and when the URL asks for
STARTTLS it must never fall back to plain text.  Django's backend hides all
three.  This module has no Django imports so it works without settings.

Rules that the code below keeps:

* Secrets: the password never appears in a ``repr``, an error message or an
  exception chained to one (errors are raised outside ``except`` blocks).
* Personal data: every reply text we hand back goes through
  :func:`redact_addresses`, because relays echo the recipient address and the
  replies are stored.
* No double delivery: a broken connection is retried once, on a fresh
  connection, only when the message body had not yet been sent.
"""

from __future__ import annotations

import functools
import ipaddress
import math
import re
import smtplib
import socket
import ssl
from collections.abc import Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Final, Literal, Self
from urllib.parse import SplitResult, parse_qsl, unquote, urlsplit

__all__ = [
    "SendResult",
    "SmtpConfig",
    "SmtpConnection",
    "SmtpUrlError",
    "check_reachable",
    "parse_smtp_url",
    "redact_addresses",
]

Security = Literal["plain", "starttls", "tls"]
Outcome = Literal["accepted", "temporary", "permanent"]

#: scheme -> (security mode, default port)
_SCHEMES: Final[dict[str, tuple[Security, int]]] = {
    "smtp": ("plain", 25),
    "smtp+starttls": ("starttls", 587),
    "smtps": ("tls", 465),
}
DEFAULT_TIMEOUT: Final = 30.0
#: An upper bound that catches a typo (``timeout=30000``) rather than a real need.
MAX_TIMEOUT: Final = 3600.0
MAX_REPLY_LENGTH: Final = 500
REDACTED: Final = "<redacted>"

_HOST_NAME: Final = re.compile(r"[a-z0-9_](?:[a-z0-9._-]*[a-z0-9_.])?", re.ASCII)
#: Broad on purpose: Japanese carrier addresses break RFC dot-atom rules
#: (``taro..jiro@docomo.ne.jp``), and over-redacting is harmless.
_ADDRESS: Final = re.compile(
    r"""
    (?P<open><)?
    (?: "(?:[^"\\\r\n]|\\.)*" | [^\s<>()\[\],;:"@]+ )   # local part, quoted or not
    @
    (?: \[[^\]\s]*\] | [^\s<>()\[\],;:"@]+ )             # IP literal or domain
    (?(open)>)
    """,
    re.VERBOSE,
)


class SmtpUrlError(ValueError):
    """``ANSHIN_SMTP_URL`` is unusable.

    The message says what is wrong but quotes no part of the URL: a badly
    percent-encoded password can end up in any component.
    """


class _SetupError(smtplib.SMTPException):
    """A session could not be set up safely; the message is fixed text."""


@dataclass(frozen=True, repr=False)
class SmtpConfig:
    """Where and how to reach the relay; built by :func:`parse_smtp_url`."""

    host: str
    port: int
    security: Security
    username: str | None
    password: str | None
    timeout: float = DEFAULT_TIMEOUT

    def __repr__(self) -> str:
        """Mask the password: configs end up in logs and error pages."""
        password = None if self.password is None else "***"
        return (
            f"SmtpConfig(host={self.host!r}, port={self.port!r}, "
            f"security={self.security!r}, username={self.username!r}, "
            f"password={password!r}, timeout={self.timeout!r})"
        )


@dataclass(frozen=True)
class SendResult:
    """What happened to one message, in a form safe to store.

    ``code`` is the SMTP reply code, or 0 when no SMTP reply explains the
    outcome (connection errors, checks done before talking to the relay).
    ``reply`` is redacted and at most :data:`MAX_REPLY_LENGTH` characters.
    """

    outcome: Outcome
    code: int
    reply: str


# --------------------------------------------------------------------------- URL


def parse_smtp_url(url: str) -> SmtpConfig:
    """Turn ``ANSHIN_SMTP_URL`` into a config, or raise :class:`SmtpUrlError`.

    ``smtp://`` is plain (port 25), ``smtp+starttls://`` requires STARTTLS
    (587), ``smtps://`` is implicit TLS (465).  Optional ``user:password@``
    (percent-encoded) and ``?timeout=SECONDS``.
    """
    parts = _split(url)
    security, default_port = _scheme(parts)
    host = _host(parts)
    port = _port(parts, default_port)
    _check_no_path(parts)
    username, password = _credentials(parts)
    return SmtpConfig(host, port, security, username, password, _timeout(parts.query))


def _split(url: str) -> SplitResult:
    """Split the URL; surrounding whitespace is forgiven, inner whitespace is not."""
    text = url.strip() if isinstance(url, str) else ""
    if not text:
        raise SmtpUrlError("the SMTP URL is empty")
    if any(char.isspace() or not char.isprintable() for char in text):
        raise SmtpUrlError("the SMTP URL contains spaces or control characters")
    parts = _urlsplit_or_none(text)
    if parts is None:
        raise SmtpUrlError("the SMTP URL cannot be parsed")
    return parts


def _urlsplit_or_none(text: str) -> SplitResult | None:
    try:
        return urlsplit(text)
    except ValueError:
        return None


def _scheme(parts: SplitResult) -> tuple[Security, int]:
    if parts.scheme not in _SCHEMES:
        raise SmtpUrlError("unknown scheme: use smtp://, smtp+starttls:// or smtps://")
    return _SCHEMES[parts.scheme]


def _host(parts: SplitResult) -> str:
    host = parts.hostname
    if not host:
        raise SmtpUrlError("the SMTP URL has no host name (expected smtp://host:port)")
    if not (_HOST_NAME.fullmatch(host) or _is_ipv6(host)):
        raise SmtpUrlError("the host name contains characters that are not allowed")
    return host


def _is_ipv6(host: str) -> bool:
    try:
        ipaddress.IPv6Address(host)
    except ValueError:
        return False
    return True


def _port(parts: SplitResult, default: int) -> int:
    port = _port_or_error(parts)
    if port is None:
        return default
    if port == -1 or port == 0:
        raise SmtpUrlError("the port must be a number from 1 to 65535")
    return port


def _port_or_error(parts: SplitResult) -> int | None:
    """``SplitResult.port``, with -1 for "invalid" (its error quotes the text)."""
    try:
        return parts.port
    except ValueError:
        return -1


def _check_no_path(parts: SplitResult) -> None:
    if parts.path not in ("", "/") or parts.fragment:
        raise SmtpUrlError(
            "the SMTP URL must not have a path or fragment "
            "(percent-encode '/', '?' and '#' in the user name and password)"
        )


def _credentials(parts: SplitResult) -> tuple[str | None, str | None]:
    """Both or neither: a user without a password is almost always a typo."""
    if parts.username is None:
        return None, None
    username = _unquote_or_none(parts.username)
    password = None if parts.password is None else _unquote_or_none(parts.password)
    if username is None or (parts.password is not None and password is None):
        raise SmtpUrlError("the user name or password is not valid percent-encoded UTF-8")
    if not username:
        raise SmtpUrlError("the user name is empty")
    if not password:
        raise SmtpUrlError("a user name needs a password (smtp://user:password@host)")
    return username, password


def _unquote_or_none(value: str) -> str | None:
    try:
        return unquote(value, errors="strict")
    except UnicodeDecodeError:
        return None


def _timeout(query: str) -> float:
    if not query:
        return DEFAULT_TIMEOUT
    pairs = _parse_query_or_none(query)
    if pairs is None or len(pairs) != 1 or pairs[0][0] != "timeout":
        raise SmtpUrlError("the only query option allowed is a single ?timeout=SECONDS")
    seconds = _float_or_none(pairs[0][1])
    if seconds is None or not 0 < seconds <= MAX_TIMEOUT:
        raise SmtpUrlError(f"timeout must be a number of seconds above 0, at most {MAX_TIMEOUT:g}")
    return seconds


def _parse_query_or_none(query: str) -> list[tuple[str, str]] | None:
    try:
        return parse_qsl(query, keep_blank_values=True, strict_parsing=True)
    except ValueError:
        return None


def _float_or_none(text: str) -> float | None:
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


# --------------------------------------------------------------------- redaction


def redact_addresses(text: str) -> str:
    """Replace every e-mail address (with its angle brackets) by ``<redacted>``.

    Relays echo recipient addresses in their replies, and those replies are
    stored and shown to operators; the addresses are personal data.
    """
    return _ADDRESS.sub(REDACTED, text)


def _clean_reply(raw: bytes | str) -> str:
    """Server text made storable: decoded, one line, redacted, then truncated.

    Truncating after redacting means a cut can never leave half an address.
    """
    text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw
    text = " ".join(text.split())
    if "@" in text:  # no address without one; most replies ("queued as …") have none
        text = redact_addresses(text)
    if len(text) > MAX_REPLY_LENGTH:
        text = text[: MAX_REPLY_LENGTH - 1] + "…"
    return text


# -------------------------------------------------------------------- connection


class _SMTP(smtplib.SMTP):
    """``smtplib.SMTP`` remembering what ``sendmail()`` throws away.

    The DATA reply carries the relay's queue id (useful to trace a message),
    and knowing whether DATA began tells us if a retry could deliver twice.
    """

    data_started: bool = False
    data_reply: tuple[int, bytes] | None = None

    def data(self, msg: bytes | str) -> tuple[int, bytes]:  # type: ignore[override]
        self.data_started = True
        self.data_reply = super().data(msg)
        return self.data_reply

    # smtplib runs every envelope address through an RFC 2822 parser (email.utils.parseaddr),
    # about 60 µs an address: a fifth of the CPU a message costs. Addresses that reach here are
    # normalised and checked already, so a plain one is put in angle brackets as it is; anything
    # unusual still takes smtplib's own path.

    def mail(self, sender: str, options: Sequence[str] = ()) -> tuple[int, bytes]:
        unusual = any(o.lower() == "smtputf8" for o in options)
        if unusual or not _plain_address(sender):
            return super().mail(sender, options)
        extra = "".join(" " + option for option in options) if self.does_esmtp else ""
        self.putcmd("mail", f"FROM:<{sender}>{extra}")
        return self.getreply()

    def rcpt(self, recip: str, options: Sequence[str] = ()) -> tuple[int, bytes]:
        if options or not _plain_address(recip):
            return super().rcpt(recip, options)
        self.putcmd("rcpt", f"TO:<{recip}>")
        return self.getreply()

    # RFC 2920 pipelining: MAIL, RCPT and DATA go out in one write and their replies are read
    # together, so a message costs two round trips instead of four. On loopback or a LAN the
    # round trips are most of what a message costs (each is a system call and a wake-up on both
    # sides), so this is worth about a third of the sender's CPU against Postfix.

    def can_pipeline(self, sender: str, recipient: str) -> bool:
        """Only plain ASCII addresses: anything unusual keeps smtplib's own path."""
        return (
            self.does_esmtp
            and self.has_extn("pipelining")
            and _plain_address(sender)
            and _plain_address(recipient)
        )

    def sendmail_pipelined(
        self, sender: str, recipient: str, message: bytes, options: Sequence[str]
    ) -> None:
        """What ``sendmail`` does for one recipient, pipelined. Raises the same exceptions;
        ``data_started`` becomes true only once the body is being sent, since before that
        the relay cannot have accepted the message."""
        self.send(self.envelope(sender, recipient, message, options))
        self.check_envelope(sender, recipient, self.group_replies())
        self._send_body(message)

    def envelope(
        self, sender: str, recipient: str, message: bytes, options: Sequence[str]
    ) -> bytes:
        """MAIL, RCPT and DATA of one message, to be written at once."""
        sized = [f"size={len(message)}"] if self.has_extn("size") else []
        extra = "".join(" " + option for option in [*sized, *options])
        return f"MAIL FROM:<{sender}>{extra}\r\nRCPT TO:<{recipient}>\r\nDATA\r\n".encode()

    def check_envelope(self, sender: str, recipient: str, replies: list[tuple[int, bytes]]) -> None:
        """Raise as ``sendmail`` would unless MAIL and RCPT were accepted and DATA got 354."""
        code, text = replies[0]
        if code != 250:
            self._abandon(replies)
            raise smtplib.SMTPSenderRefused(code, text, sender)
        code, text = replies[1]
        if code not in (250, 251):
            self._abandon(replies)
            raise smtplib.SMTPRecipientsRefused({recipient: (code, text)})
        code, text = replies[2]
        if code != 354:
            raise smtplib.SMTPDataError(code, text)

    def group_replies(self) -> list[tuple[int, bytes]]:
        """The replies to MAIL, RCPT and DATA; fewer if the relay says 421 (closing)."""
        replies = []
        for _ in range(3):
            replies.append(self.getreply())
            if replies[-1][0] == 421:
                self.close()
                break
        return replies

    def _abandon(self, replies: list[tuple[int, bytes]]) -> None:
        """A refused envelope whose DATA was nonetheless answered 354 would take the next
        command as message text: hang up instead. (421 has closed the connection already.)"""
        if len(replies) == 3 and replies[2][0] == 354:
            self.close()

    def _send_body(self, message: bytes) -> None:
        """The second half of ``smtplib.SMTP.data``: dot-stuffed body, then the final reply."""
        self.data_started = True
        self.send(dotted(message))
        code, text = self.getreply()
        if code != 250:
            if code == 421:
                self.close()
            raise smtplib.SMTPDataError(code, text)
        self.data_reply = (code, text)


def dotted(message: bytes) -> bytes:
    """The message as DATA sends it: lines starting with a dot doubled, then the final dot.
    (A base64 body has no such line; the regular expression runs only when one is there.)"""
    if message.startswith(b".") or b"\n." in message:
        message = re.sub(rb"(?m)^\.", b"..", message)
    if not message.endswith(b"\r\n"):
        message += b"\r\n"
    return message + b".\r\n"


_PLAIN = re.compile(r"[!#-'*+\-/-9=?A-Z^-~.]+@[A-Za-z0-9.\-]+")


def _plain_address(address: str) -> bool:
    return _PLAIN.fullmatch(address) is not None


class _SMTPS(smtplib.SMTP_SSL, _SMTP):
    """The same, for implicit TLS (``smtps://``)."""


@dataclass(frozen=True)
class _Pending:
    """A message whose DATA got 354: its dot-stuffed text goes out with the next write."""

    index: int
    text: bytes


class SmtpConnection:
    """One reused connection to the relay. Context manager. Opens lazily.

    Opening only on the first :meth:`send` keeps construction free of network
    I/O; reusing the session avoids a TCP+TLS+AUTH handshake per resident.
    Not thread-safe: give each worker thread its own connection.
    """

    def __init__(
        self,
        config: SmtpConfig,
        *,
        ssl_context: ssl.SSLContext | None = None,
        local_hostname: str | None = None,
    ) -> None:
        self._config = config
        self._ssl_context = ssl_context
        self._local_hostname = local_hostname
        self._smtp: _SMTP | None = None
        self._failures_in_a_row = 0
        self._last_failure: SendResult | None = None

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def send(self, *, envelope_from: str, recipient: str, message: bytes) -> SendResult:
        """Send ``message`` to one recipient and classify what the relay said.

        Never raises for SMTP or network trouble: the caller needs a verdict
        per resident, not an exception that aborts the whole batch.
        """
        problem = _address_problem(envelope_from, "sender", allow_empty=True)
        problem = problem or _address_problem(recipient, "recipient", allow_empty=False)
        if problem is not None:
            return SendResult("permanent", 0, problem)
        result, retry = self._attempt(envelope_from, recipient, message)
        if retry:
            result, _ = self._attempt(envelope_from, recipient, message)
        return result

    def send_many(
        self, messages: Sequence[tuple[str, str, bytes]], *, give_up_after: int = 0
    ) -> list[SendResult]:
        """Send each ``(envelope_from, recipient, message)`` in turn: one verdict per message,
        in order, with the same meaning and the same retry rule as :meth:`send`.

        When the relay offers PIPELINING, the envelope of each message goes out in the same
        write as the text of the one before, without waiting for that text's reply: RFC 2920
        lets a client pipeline MAIL, RCPT and DATA, and only the text after 354 must wait for
        it. A message then costs one write and one read instead of two of each, and on
        loopback or a LAN those system calls are most of what sending costs.

        With ``give_up_after`` set, once that many attempts in a row could not reach the
        relay (connection errors, code 0) the messages left get the last such verdict
        without an attempt each: a relay that is down would otherwise cost every message its
        own connection timeout. The count carries over from one call to the next.
        """
        results: list[SendResult | None] = [None] * len(messages)
        pending: _Pending | None = None
        for index, item in enumerate(messages):
            envelope_from, recipient, _ = item
            problem = _address_problem(envelope_from, "sender", allow_empty=True)
            problem = problem or _address_problem(recipient, "recipient", allow_empty=False)
            if problem is not None:
                results[index] = SendResult("permanent", 0, problem)
                continue
            if self._smtp is None and not self.relay_unreachable(give_up_after):
                failure = self._open_for_run()
                if failure is not None:
                    results[index] = failure
                    continue
            smtp = self._smtp
            if smtp is not None and smtp.can_pipeline(envelope_from, recipient):
                pending = self._pipelined(smtp, pending, index, item, results)
                continue
            self._finish(pending, results)
            pending = None
            results[index] = self._send_alone(item, give_up_after)
        self._finish(pending, results)
        verdicts = [result for result in results if result is not None]
        assert len(verdicts) == len(messages), "a message was left without a verdict"
        return verdicts

    def _pipelined(
        self,
        smtp: _SMTP,
        pending: _Pending | None,
        index: int,
        item: tuple[str, str, bytes],
        results: list[SendResult | None],
    ) -> _Pending | None:
        """Write the pending message's text and this message's envelope at once; read the
        text's final reply, then the envelope's three. Returns this message as the new
        pending one once DATA got 354."""
        envelope_from, recipient, message = item
        options = _mail_options(smtp, message, utf8=False)
        outgoing = smtp.envelope(envelope_from, recipient, message, options)
        try:
            smtp.send(pending.text + outgoing if pending is not None else outgoing)
            if pending is not None:
                results[pending.index] = self._final_reply(smtp)
                pending = None
            if self._smtp is None:  # 421 after the text: the envelope was not read
                results[index] = self._send_alone(item, 0)
                return None
            smtp.check_envelope(envelope_from, recipient, smtp.group_replies())
        except smtplib.SMTPRecipientsRefused as exc:
            code, text = next(iter(exc.recipients.values()), (0, b""))
            results[index] = self._refused_in_run(item, code, text)
            return None
        except (smtplib.SMTPSenderRefused, smtplib.SMTPDataError) as exc:
            results[index] = self._refused_in_run(item, exc.smtp_code, exc.smtp_error)
            return None
        except OSError as exc:
            self._drop()
            if pending is not None:  # its text went out: the relay may have kept it
                results[pending.index] = _connection_failure(exc)
            # Only this message's envelope went out: it is safe on a fresh connection.
            results[index] = self._send_alone(item, 0)
            return None
        self._failures_in_a_row = 0
        return _Pending(index, dotted(message))

    def _final_reply(self, smtp: _SMTP) -> SendResult:
        """The verdict on a message whose text was sent. No RSET after a refusal here: the
        relay has ended the transaction itself, and the next envelope is already on its way."""
        code, text = smtp.getreply()
        if code == 421:
            self._drop()
        return SendResult(_outcome(code), max(code, 0), _clean_reply(text))

    def _refused_in_run(
        self, item: tuple[str, str, bytes], code: int, text: bytes | str
    ) -> SendResult:
        """As :meth:`_attempt` does: a reused session the relay closed before this message's
        text (421) is retried once on a fresh connection."""
        result = self._refused(code, text)
        if self._smtp is None and result.outcome == "temporary":
            return self._send_alone(item, 0)
        return self._counted(result)

    def _finish(self, pending: _Pending | None, results: list[SendResult | None]) -> None:
        """Send the text of the pending message and read its verdict."""
        if pending is None:
            return
        smtp = self._smtp
        if smtp is None:  # cannot happen: a pending message's connection is open
            results[pending.index] = SendResult("temporary", 0, "the connection was lost")
            return
        try:
            smtp.send(pending.text)
            results[pending.index] = self._final_reply(smtp)
        except OSError as exc:
            self._drop()
            results[pending.index] = _connection_failure(exc)

    def _open_for_run(self) -> SendResult | None:
        """Open the session before a run's first message, so that it is pipelined too; the
        verdict :meth:`send` would give if the relay cannot be reached."""
        try:
            self._session()
        except OSError as exc:
            return self._counted(_connection_failure(exc))
        return None

    def _send_alone(self, item: tuple[str, str, bytes], give_up_after: int) -> SendResult:
        """One message by :meth:`send`, counting the attempts that could not reach the relay."""
        if self.relay_unreachable(give_up_after) and self._last_failure is not None:
            return self._last_failure
        envelope_from, recipient, message = item
        return self._counted(
            self.send(envelope_from=envelope_from, recipient=recipient, message=message)
        )

    def _counted(self, result: SendResult) -> SendResult:
        if result.outcome == "temporary" and result.code == 0:
            self._failures_in_a_row += 1
            self._last_failure = result
        else:
            self._failures_in_a_row = 0
        return result

    def relay_unreachable(self, attempts: int) -> bool:
        """True once ``attempts`` (above 0) attempts in a row could not reach the relay."""
        return 0 < attempts <= self._failures_in_a_row

    def close(self) -> None:
        """Say QUIT politely; safe to call twice or on a dead connection."""
        smtp, self._smtp = self._smtp, None
        if smtp is not None:
            _quit_quietly(smtp)

    def _attempt(
        self, envelope_from: str, recipient: str, message: bytes
    ) -> tuple[SendResult, bool]:
        """One try; the flag says "retry once on a fresh connection".

        That is safe only when a *reused* session broke (idle timeout, 421)
        before DATA began: the relay cannot have accepted the message then.
        """
        reused = self._smtp is not None
        smtp: _SMTP | None = None
        try:
            smtp = self._session()
            return self._transaction(smtp, envelope_from, recipient, message), False
        except smtplib.SMTPRecipientsRefused as exc:
            code, text = exc.recipients.get(recipient) or next(
                iter(exc.recipients.values()), (0, b"")
            )
            result = self._refused(code, text)
        except (smtplib.SMTPSenderRefused, smtplib.SMTPDataError) as exc:
            result = self._refused(exc.smtp_code, exc.smtp_error)
        except OSError as exc:  # smtplib.SMTPException is an OSError too
            self._drop()
            result = _connection_failure(exc)
        broke = self._smtp is None and result.outcome == "temporary"
        return result, broke and reused and smtp is not None and not smtp.data_started

    def _session(self) -> _SMTP:
        if self._smtp is None:
            smtp = _open(
                self._config, self._ssl_context, self._local_hostname, self._config.timeout
            )
            try:
                _login(smtp, self._config)
            except BaseException:
                smtp.close()
                raise
            self._smtp = smtp
        return self._smtp

    def _transaction(
        self, smtp: _SMTP, envelope_from: str, recipient: str, message: bytes
    ) -> SendResult:
        utf8 = not (envelope_from + recipient).isascii()
        if utf8 and not smtp.has_extn("smtputf8"):
            return SendResult(
                "permanent",
                0,
                "the relay does not support SMTPUTF8, needed for a non-ASCII address",
            )
        smtp.data_started, smtp.data_reply = False, None
        options = _mail_options(smtp, message, utf8)
        if not utf8 and smtp.can_pipeline(envelope_from, recipient):
            smtp.sendmail_pipelined(envelope_from, recipient, message, options)
        else:
            smtp.sendmail(envelope_from, [recipient], message, mail_options=options)
        code, text = smtp.data_reply or (250, b"")
        return SendResult("accepted", code, _clean_reply(text))

    def _refused(self, code: int, text: bytes | str) -> SendResult:
        self._reset_after_refusal()
        return SendResult(_outcome(code), max(code, 0), _clean_reply(text))

    def _reset_after_refusal(self) -> None:
        """RSET so the next message can reuse the session, or drop it if that fails.

        smtplib already sends RSET itself but swallows a dead connection; our
        own RSET finds out, so the next send reconnects instead of failing.
        """
        smtp = self._smtp
        if smtp is None:
            return
        if smtp.sock is None:  # smtplib closes the socket itself after a 421
            self._drop()
            return
        try:
            code, _ = smtp.rset()
        except OSError:
            code = 0
        if code != 250:
            self._drop()

    def _drop(self) -> None:
        """Forget a broken connection without QUIT (which could hang on it)."""
        smtp, self._smtp = self._smtp, None
        if smtp is not None:
            smtp.close()


@functools.cache
def _shared_tls_context() -> ssl.SSLContext:
    """Loading the system CA store costs tens of milliseconds: do it once per process."""
    return ssl.create_default_context()


def _default_context(config: SmtpConfig) -> ssl.SSLContext:
    # A plain smtp:// relay never uses the context; don't pay for building one per batch.
    if config.security == "plain":
        return ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    return _shared_tls_context()


def _open(
    config: SmtpConfig,
    ssl_context: ssl.SSLContext | None,
    local_hostname: str | None,
    timeout: float,
) -> _SMTP:
    """Connect, greet, and upgrade to TLS when the URL asks for it."""
    context = ssl_context if ssl_context is not None else _default_context(config)
    smtp = _connect(config, context, local_hostname, timeout)
    try:
        smtp.ehlo_or_helo_if_needed()
        if config.security == "starttls":
            _start_tls(smtp, context)
    except BaseException:
        smtp.close()
        raise
    return smtp


def _connect(
    config: SmtpConfig, context: ssl.SSLContext, local_hostname: str | None, timeout: float
) -> _SMTP:
    if config.security == "tls":
        return _SMTPS(config.host, config.port, local_hostname, timeout=timeout, context=context)
    return _SMTP(config.host, config.port, local_hostname, timeout)


def _start_tls(smtp: _SMTP, context: ssl.SSLContext) -> None:
    """Upgrade or fail: sending in plain text after asking for STARTTLS would
    leak residents' addresses and the password on the wire."""
    if not smtp.has_extn("starttls"):
        raise _SetupError(
            "the server does not offer STARTTLS, which the URL requires; nothing was sent"
        )
    smtp.starttls(context=context)
    smtp.ehlo_or_helo_if_needed()  # capabilities must be re-read after the upgrade


def _login(smtp: _SMTP, config: SmtpConfig) -> None:
    if config.username is None or config.password is None:
        return
    # smtplib encodes credentials as ASCII; its UnicodeEncodeError would carry
    # the password, so refuse before it can be raised.
    if not (config.username + config.password).isascii():
        raise _SetupError(
            "the user name or password has non-ASCII characters, which SMTP AUTH cannot send"
        )
    smtp.login(config.username, config.password)


def _mail_options(smtp: _SMTP, message: bytes, utf8: bool) -> list[str]:
    """Declare 8-bit content and UTF-8 addresses, as RFC 6152 and 6531 require."""
    options = []
    if not message.isascii() and smtp.has_extn("8bitmime"):
        options.append("BODY=8BITMIME")
    if utf8:
        options.append("SMTPUTF8")
    return options


def _address_problem(address: str, role: str, *, allow_empty: bool) -> str | None:
    """Refuse what would corrupt the SMTP dialogue; the text never quotes the address."""
    if not address and not allow_empty:
        return f"the {role} address is empty"
    if "\r" in address or "\n" in address or "\0" in address:
        return f"the {role} address contains a line break or NUL character"
    return None


def _outcome(code: int) -> Outcome:
    if 200 <= code < 300:
        return "accepted"
    if 500 <= code < 600:
        return "permanent"
    return "temporary"


def _connection_failure(exc: OSError) -> SendResult:
    """Failures outside a refusal are temporary: the message itself was not judged.

    That includes authentication (5xx) and TLS failures: they are configuration
    problems, and the message should go out once an operator fixes them.
    """
    if isinstance(exc, smtplib.SMTPResponseException) and exc.smtp_code > 0:
        return SendResult("temporary", exc.smtp_code, _clean_reply(exc.smtp_error))
    return SendResult("temporary", 0, _reason(exc))


def _reason(exc: OSError) -> str:
    """Plain English without secrets: smtplib, ssl and socket messages name no credentials."""
    if isinstance(exc, smtplib.SMTPResponseException):
        return f"the server replied {exc.smtp_code} {_clean_reply(exc.smtp_error)}".rstrip()
    if isinstance(exc, _SetupError | smtplib.SMTPNotSupportedError):
        return str(exc)
    if isinstance(exc, smtplib.SMTPServerDisconnected):
        return f"the connection was lost ({exc})"
    if isinstance(exc, ssl.SSLCertVerificationError):
        return f"the server's TLS certificate was not accepted ({exc.verify_message})"
    if isinstance(exc, ssl.SSLError):
        return f"the TLS handshake failed ({exc.reason or 'unknown reason'})"
    return _socket_reason(exc)


def _socket_reason(exc: OSError) -> str:
    if isinstance(exc, ConnectionRefusedError):
        return "the connection was refused"
    if isinstance(exc, TimeoutError):
        return "the connection timed out"
    if isinstance(exc, socket.gaierror):
        return "the host name could not be resolved"
    return (exc.strerror or type(exc).__name__).lower()


def _quit_quietly(smtp: smtplib.SMTP) -> None:
    try:
        smtp.quit()
    except OSError:
        smtp.close()


# ------------------------------------------------------------------ health check


def check_reachable(
    config: SmtpConfig,
    timeout: float = 3.0,
    *,
    ssl_context: ssl.SSLContext | None = None,
) -> str | None:
    """Return None if the relay answers, else a short reason for the health page.

    Connects, says EHLO (and STARTTLS when required), NOOP, QUIT.  It does not
    log in: a health check polled every few seconds must not lock the account
    after a password change; credential errors show up in delivery results.
    """
    where = f"{config.host}:{config.port}"
    try:
        smtp = _open(config, ssl_context, None, timeout)
    except OSError as exc:
        return f"cannot reach the SMTP server {where}: {_reason(exc)}"
    try:
        code, _ = smtp.noop()
    except OSError as exc:
        return f"the SMTP server {where} stopped answering: {_reason(exc)}"
    finally:
        _quit_quietly(smtp)
    if code != 250:
        return f"the SMTP server {where} answered NOOP with {code}"
    return None
