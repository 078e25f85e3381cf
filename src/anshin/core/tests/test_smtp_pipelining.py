"""`SmtpConnection.send_many`: RFC 2920 pipelining across messages, proved on the wire against
a relay on 127.0.0.1 that holds back each message's final reply until the client's next
command arrives (or the client has gone quiet), and that refuses, closes or hangs up as a
test tells it."""

from __future__ import annotations

import select
import socket
import socketserver
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest

from anshin.core.smtp import SendResult, SmtpConnection, parse_smtp_url

SENDER = "bounce+m1-aaaaaaaaaaaaa@city.example.jp"
MESSAGE = b"From: alerts@city.example.jp\r\nSubject: test\r\n\r\n.dot first\r\nHello\r\n"
QUIET = 0.3  # seconds of client silence after which a held reply is sent anyway


@dataclass
class Script:
    """How the relay answers, by the recipient's local part, and what it saw."""

    rcpt: dict[str, bytes] = field(default_factory=dict)  # RCPT reply line
    final: dict[str, bytes] = field(default_factory=dict)  # reply to the text's final dot
    hang_up_after_text: set[str] = field(default_factory=set)
    accepted: list[tuple[str, bytes]] = field(default_factory=list)  # (recipient, text)
    texts: list[str] = field(default_factory=list)  # recipient of every text received
    connections: int = 0
    rsets: int = 0
    answered_with_next: int = 0  # final replies released by the next command's arrival
    answered_when_quiet: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)


class _Lines:
    def __init__(self, sock: socket.socket) -> None:
        self.sock, self.buffer = sock, b""

    def line(self, wait: float | None = None) -> bytes | None:
        """The next line; b"" at end of stream; None if nothing came within `wait`."""
        while b"\n" not in self.buffer:
            if wait is not None and not select.select([self.sock], [], [], wait)[0]:
                return None
            data = self.sock.recv(65536)
            if not data:
                return b""
            self.buffer += data
        line, _, self.buffer = self.buffer.partition(b"\n")
        return line + b"\n"


class _Handler(socketserver.BaseRequestHandler):
    server: HoldingRelay

    def handle(self) -> None:
        script, sock = self.server.script, self.request
        with script.lock:
            script.connections += 1
        lines, held, recipient = _Lines(sock), b"", ""
        sock.sendall(b"220 relay.test ESMTP\r\n")
        while True:
            line = lines.line(QUIET if held else None)
            if line is None:  # the client waits for the held reply: it did not pipeline
                sock.sendall(held)
                held = b""
                script.answered_when_quiet += 1
                continue
            if held:
                sock.sendall(held)
                held = b""
                script.answered_with_next += 1
            verb = line[:4].upper()
            if verb == b"":
                return
            if verb == b"QUIT":
                sock.sendall(b"221 2.0.0 Bye\r\n")
                return
            if verb == b"EHLO":
                sock.sendall(b"250-relay.test\r\n250-PIPELINING\r\n250-SIZE 1000000\r\n250 OK\r\n")
            elif verb == b"MAIL":
                recipient = ""
                sock.sendall(b"250 2.1.0 Ok\r\n")
            elif verb == b"RCPT":
                address = line[9:].split(b">")[0].decode()
                reply = script.rcpt.get(address.split("@")[0])
                recipient = "" if reply else address
                sock.sendall(reply or b"250 2.1.5 Ok\r\n")
            elif verb == b"DATA":
                if not recipient:
                    sock.sendall(b"554 5.5.1 Error: no valid recipients\r\n")
                    continue
                sock.sendall(b"354 End data with <CR><LF>.<CR><LF>\r\n")
                held = self._text(lines, recipient)
                if not held or held.startswith(b"421"):
                    sock.sendall(held)
                    return
            else:  # RSET, NOOP
                script.rsets += verb == b"RSET"
                sock.sendall(b"250 2.0.0 Ok\r\n")

    def _text(self, lines: _Lines, recipient: str) -> bytes:
        """Read the text up to its final dot; return the reply to hold back (b"": hang up)."""
        script, text = self.server.script, b""
        while (line := lines.line()) not in (b".\r\n", b""):
            assert line is not None
            text += line[1:] if line.startswith(b"..") else line
        local = recipient.split("@")[0]
        with script.lock:
            script.texts.append(recipient)
            if local in script.hang_up_after_text:
                return b""
            reply = script.final.get(local)
            if reply is None:
                script.accepted.append((recipient, text))
                reply = f"250 2.0.0 Ok: queued as Q{len(script.accepted):04d}\r\n".encode()
        return reply


class HoldingRelay(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.script = Script()


@pytest.fixture
def relay() -> Iterator[HoldingRelay]:
    server = HoldingRelay()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


def connect(relay: HoldingRelay) -> SmtpConnection:
    return SmtpConnection(parse_smtp_url(f"smtp://127.0.0.1:{relay.server_address[1]}?timeout=5"))


def run(relay: HoldingRelay, *names: str) -> list[SendResult]:
    with connect(relay) as connection:
        return connection.send_many([(SENDER, f"{n}@example.jp", MESSAGE) for n in names])


def accepted(n: int) -> SendResult:
    return SendResult("accepted", 250, f"2.0.0 Ok: queued as Q{n:04d}")


def test_each_envelope_goes_out_with_the_text_before_it(relay: HoldingRelay) -> None:
    results = run(relay, *(f"r{i}" for i in range(5)))
    assert results == [accepted(n) for n in range(1, 6)]
    script = relay.script
    assert [r for r, _ in script.accepted] == [f"r{i}@example.jp" for i in range(5)]
    assert all(text == MESSAGE for _, text in script.accepted)  # dot-stuffed and restored
    # The relay answered each of the first four texts only once the next envelope had
    # arrived: the sender never waited for a text's reply before sending on.
    assert (script.answered_with_next, script.answered_when_quiet) == (4, 1)
    assert script.connections == 1


def test_refusals_in_a_run_end_in_their_own_verdicts_on_one_connection(
    relay: HoldingRelay,
) -> None:
    relay.script.rcpt["r550"] = b"550 5.1.1 <r550@example.jp>: User unknown\r\n"
    relay.script.rcpt["r450"] = b"450 4.2.1 Mailbox busy\r\n"
    relay.script.final["d452"] = b"452 4.3.1 Insufficient system storage\r\n"
    relay.script.final["d554"] = b"554 5.7.1 Rejected as spam\r\n"
    results = run(relay, "ok1", "r550", "d452", "ok2", "r450", "d554", "ok3")
    assert results == [
        accepted(1),
        SendResult("permanent", 550, "5.1.1 <redacted>: User unknown"),
        SendResult("temporary", 452, "4.3.1 Insufficient system storage"),
        accepted(2),
        SendResult("temporary", 450, "4.2.1 Mailbox busy"),
        SendResult("permanent", 554, "5.7.1 Rejected as spam"),
        accepted(3),
    ]
    assert [r for r, _ in relay.script.accepted] == [f"ok{i}@example.jp" for i in (1, 2, 3)]
    assert relay.script.connections == 1
    assert relay.script.rsets == 2  # after each refused envelope, as a single send does


def test_421_after_a_text_fails_it_and_the_next_goes_on_a_fresh_connection(
    relay: HoldingRelay,
) -> None:
    relay.script.final["c421"] = b"421 4.3.2 Shutting down\r\n"
    assert run(relay, "ok1", "c421", "ok2") == [
        accepted(1),
        SendResult("temporary", 421, "4.3.2 Shutting down"),
        accepted(2),
    ]
    assert relay.script.connections == 2
    assert relay.script.texts == ["ok1@example.jp", "c421@example.jp", "ok2@example.jp"]


def test_a_hang_up_after_a_text_is_not_retried_and_the_run_goes_on(relay: HoldingRelay) -> None:
    """The relay may have kept the text it did not answer: sending it again could deliver it
    twice. The message after it had only its envelope out, and goes on a fresh connection."""
    relay.script.hang_up_after_text.add("drop")
    results = run(relay, "ok1", "drop", "ok2", "ok3")
    assert results[0] == accepted(1)
    assert (results[1].outcome, results[1].code) == ("temporary", 0)
    assert results[2:] == [accepted(2), accepted(3)]
    assert relay.script.texts.count("drop@example.jp") == 1
    assert relay.script.connections == 2


def test_an_unusable_address_is_refused_and_the_run_goes_on(relay: HoldingRelay) -> None:
    with connect(relay) as connection:
        results = connection.send_many(
            [
                (SENDER, "ok1@example.jp", MESSAGE),
                (SENDER, "a@example.jp\r\nRCPT TO:<b@example.jp>", MESSAGE),
                (SENDER, "ok2@example.jp", MESSAGE),
            ]
        )
    assert results[1] == SendResult(
        "permanent", 0, "the recipient address contains a line break or NUL character"
    )
    assert [results[0], results[2]] == [accepted(1), accepted(2)]
    assert relay.script.connections == 1


def test_a_relay_that_is_down_costs_two_attempts_not_one_per_message() -> None:
    accepts = 0

    def hang_up_at_once(listener: socket.socket) -> None:
        nonlocal accepts
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            accepts += 1
            conn.close()

    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        threading.Thread(target=hang_up_at_once, args=(listener,), daemon=True).start()
        config = parse_smtp_url(f"smtp://127.0.0.1:{listener.getsockname()[1]}?timeout=5")
        with SmtpConnection(config) as connection:
            items = [(SENDER, f"r{i}@example.jp", MESSAGE) for i in range(5)]
            first = connection.send_many(items, give_up_after=2)
            second = connection.send_many(items, give_up_after=2)
    assert {(r.outcome, r.code) for r in first + second} == {("temporary", 0)}
    assert accepts == 2
