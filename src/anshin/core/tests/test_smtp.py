"""Tests for the outgoing SMTP transport, against real aiosmtpd servers on 127.0.0.1.

No mock of smtplib: the point is to prove the dialogue on the wire (one
connection, RSET after a refusal, no plain text when STARTTLS is required).
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import ssl
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from anshin.core.smtp import (
    SendResult,
    SmtpConfig,
    SmtpConnection,
    SmtpUrlError,
    check_reachable,
    parse_smtp_url,
    redact_addresses,
)

SENDER = "alerts@city.example.jp"
RESIDENT = "taro..jiro@docomo.ne.jp"
MESSAGE = b"From: alerts@city.example.jp\r\nSubject: test\r\n\r\nHello\r\n"
QUEUED = "250 2.0.0 Ok: queued as ABC123"


# ------------------------------------------------------------------ test relay


@dataclass
class Delivered:
    peer: Any
    mail_from: str | None
    recipients: list[str]
    content: bytes
    over_tls: bool


@dataclass
class Relay:
    """aiosmtpd handler that records the dialogue and answers as a test tells it."""

    rcpt_replies: dict[str, str] = field(default_factory=dict)
    mail_reply: str | None = None
    mail_reply_once: str | None = None
    data_reply: str = QUEUED
    hang_up_in_data: bool = False
    ehlo_count: int = 0
    mail_count: int = 0
    rset_count: int = 0
    mail_options: list[list[str]] = field(default_factory=list)
    delivered: list[Delivered] = field(default_factory=list)

    async def handle_EHLO(
        self,
        server: SMTP,
        session: Session,
        envelope: Envelope,
        hostname: str,
        responses: list[str],
    ) -> list[str]:
        session.host_name = hostname  # the 5-argument hook must do this itself
        self.ehlo_count += 1
        return responses

    async def handle_MAIL(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        self.mail_count += 1
        if self.mail_reply_once:
            reply, self.mail_reply_once = self.mail_reply_once, None
            return reply
        if self.mail_reply:
            return self.mail_reply
        envelope.mail_from = address
        self.mail_options.append(list(options))
        return "250 OK"

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        reply = self.rcpt_replies.get(address)
        if reply:
            return reply.format(address=address)
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_RSET(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        self.rset_count += 1
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        self.delivered.append(
            Delivered(
                peer=session.peer,
                mail_from=envelope.mail_from,
                recipients=list(envelope.rcpt_tos),
                content=envelope.original_content or b"",
                over_tls=session.ssl is not None,
            )
        )
        if self.hang_up_in_data:
            assert isinstance(server.transport, asyncio.Transport)
            server.transport.abort()  # no reply to the DATA: the client cannot know
        return self.data_reply

    @property
    def connections(self) -> int:
        return len({delivered.peer for delivered in self.delivered})


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class Servers:
    """Starts aiosmtpd controllers and guarantees each one is stopped."""

    def __init__(self) -> None:
        self._running: list[Controller] = []

    def start(self, handler: object, *, port: int | None = None, **kwargs: Any) -> Controller:
        controller = Controller(
            handler,
            hostname="127.0.0.1",
            port=port or free_port(),
            server_hostname="relay.test",
            **kwargs,
        )
        controller.start()
        self._running.append(controller)
        return controller

    def stop(self, controller: Controller) -> None:
        self._running.remove(controller)
        controller.stop()

    def stop_all(self) -> None:
        while self._running:
            self.stop(self._running[-1])


@pytest.fixture
def servers() -> Iterator[Servers]:
    started = Servers()
    try:
        yield started
    finally:
        started.stop_all()


@pytest.fixture
def relay() -> Relay:
    return Relay()


@pytest.fixture
def relay_config(servers: Servers, relay: Relay) -> SmtpConfig:
    controller = servers.start(relay)
    return parse_smtp_url(f"smtp://127.0.0.1:{controller.port}?timeout=5")


@pytest.fixture(scope="session")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1, so the TLS paths run for real."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "anshin test relay")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    folder = tmp_path_factory.mktemp("tls")
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


@pytest.fixture
def server_tls(certificate: tuple[Path, Path]) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(*certificate)
    return context


@pytest.fixture
def client_tls(certificate: tuple[Path, Path]) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=str(certificate[0]))


def send_one(config: SmtpConfig, recipient: str = RESIDENT, **kwargs: Any) -> SendResult:
    with SmtpConnection(config, **kwargs) as connection:
        return connection.send(envelope_from=SENDER, recipient=recipient, message=MESSAGE)


# ------------------------------------------------------------------- URL parsing


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("smtp://mail.example.jp", SmtpConfig("mail.example.jp", 25, "plain", None, None)),
        (
            "smtp+starttls://relay.example.jp",
            SmtpConfig("relay.example.jp", 587, "starttls", None, None),
        ),
        ("smtps://relay.example.jp", SmtpConfig("relay.example.jp", 465, "tls", None, None)),
        (
            "smtps://u:p@relay.example.jp:2465?timeout=10",
            SmtpConfig("relay.example.jp", 2465, "tls", "u", "p", 10.0),
        ),
        (
            "smtp+starttls://city%40example.jp:p%40ss%3Aw%2Fd%23%3F@relay.example.jp",
            SmtpConfig("relay.example.jp", 587, "starttls", "city@example.jp", "p@ss:w/d#?"),
        ),
        (
            "smtp://user:a+b%E3%83%91%E3%82%B9@relay.example.jp",
            SmtpConfig("relay.example.jp", 25, "plain", "user", "a+bパス"),
        ),
        ("SMTP://Mail.Example.JP:2525/", SmtpConfig("mail.example.jp", 2525, "plain", None, None)),
        ("smtp://[::1]:2525?timeout=0.5", SmtpConfig("::1", 2525, "plain", None, None, 0.5)),
        ("  smtp://127.0.0.1:1025\n", SmtpConfig("127.0.0.1", 1025, "plain", None, None)),
    ],
)
def test_parse_valid_urls(url: str, expected: SmtpConfig) -> None:
    assert parse_smtp_url(url) == expected


@pytest.mark.parametrize(
    ("url", "complaint"),
    [
        ("", "empty"),
        ("mail.example.jp:25", "unknown scheme"),
        ("http://mail.example.jp", "unknown scheme"),
        ("smtp+ssl://mail.example.jp", "unknown scheme"),
        ("smtp://", "no host"),
        ("smtp://:25", "no host"),
        ("smtp://user:s3cret@:25", "no host"),
        ("smtp://mail.example.jp:0", "port"),
        ("smtp://mail.example.jp:99999", "port"),
        ("smtp://mail.example.jp:s3cret", "port"),
        ("smtp://mail.example.jp/inbox", "path"),
        ("smtp://mail.example.jp#frag", "path"),
        ("smtp://user:s3cr/et@mail.example.jp", "port"),
        ("smtp://user:12/s3cret@mail.example.jp", "path"),
        ("smtp://user@mail.example.jp", "password"),
        ("smtp://:s3cret@mail.example.jp", "user name is empty"),
        ("smtp://user:@mail.example.jp", "password"),
        ("smtp://user:s3cret%FF@mail.example.jp", "percent-encoded"),
        ("smtp://mail.example.jp?timeout=0", "timeout"),
        ("smtp://mail.example.jp?timeout=-1", "timeout"),
        ("smtp://mail.example.jp?timeout=abc", "timeout"),
        ("smtp://mail.example.jp?timeout=nan", "timeout"),
        ("smtp://mail.example.jp?timeout=inf", "timeout"),
        ("smtp://mail.example.jp?timeout=1&timeout=2", "query"),
        ("smtp://mail.example.jp?s3cret=1", "query"),
        ("smtp://mail ex.jp", "spaces"),
        ("smtp://user:s3c ret@mail.example.jp", "spaces"),
        ("smtp://mail!example.jp", "host name"),
    ],
)
def test_parse_invalid_urls(url: str, complaint: str) -> None:
    with pytest.raises(SmtpUrlError, match=complaint) as caught:
        parse_smtp_url(url)
    # Nothing secret rides along: not in the text, not in a chained exception.
    assert "s3c" not in str(caught.value)
    assert caught.value.__context__ is None
    assert caught.value.__cause__ is None
    assert isinstance(caught.value, ValueError)


def test_repr_hides_the_password() -> None:
    config = parse_smtp_url("smtps://city:s3cret-pw@relay.example.jp")
    assert "s3cret" not in repr(config)
    assert "s3cret" not in str(config)
    assert "password='***'" in repr(config)
    assert "username='city'" in repr(config)
    assert "password=None" in repr(parse_smtp_url("smtp://relay.example.jp"))


# --------------------------------------------------------------------- redaction


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "5.1.1 <taro@example.jp>: Recipient address rejected",
            "5.1.1 <redacted>: Recipient address rejected",
        ),
        ("unknown user taro..jiro@docomo.ne.jp", "unknown user <redacted>"),
        ("bad .taro@docomo.ne.jp and taro.@ezweb.ne.jp", "bad <redacted> and <redacted>"),
        ('quoted "taro yamada"@example.jp here', "quoted <redacted> here"),
        ("literal user@[192.0.2.1] refused", "literal <redacted> refused"),
        ("太郎@例え.jp は不明", "<redacted> は不明"),
        ("4.7.1 Greylisted, try again later", "4.7.1 Greylisted, try again later"),
    ],
)
def test_redact_addresses(text: str, expected: str) -> None:
    assert redact_addresses(text) == expected


# ------------------------------------------------------------------------- send


def test_many_messages_share_one_lazy_connection(relay_config: SmtpConfig, relay: Relay) -> None:
    with SmtpConnection(relay_config) as connection:
        assert relay.ehlo_count == 0  # constructing does not connect
        results = [
            connection.send(
                envelope_from=SENDER, recipient=f"resident{n}@example.jp", message=MESSAGE
            )
            for n in range(3)
        ]
    assert results == [SendResult("accepted", 250, "2.0.0 Ok: queued as ABC123")] * 3
    assert relay.ehlo_count == 1
    assert relay.connections == 1
    assert [d.recipients for d in relay.delivered] == [
        [f"resident{n}@example.jp"] for n in range(3)
    ]
    assert all(d.mail_from == SENDER and d.content == MESSAGE for d in relay.delivered)


def test_450_is_temporary_with_code_and_redacted_reply(
    relay_config: SmtpConfig, relay: Relay
) -> None:
    relay.rcpt_replies[RESIDENT] = "450 4.2.0 <{address}>: Recipient address rejected: Greylisted"
    result = send_one(relay_config)
    assert result == SendResult(
        "temporary", 450, "4.2.0 <redacted>: Recipient address rejected: Greylisted"
    )
    assert "docomo" not in result.reply
    assert relay.delivered == []


def test_550_is_permanent_and_the_connection_stays_usable(
    relay_config: SmtpConfig, relay: Relay
) -> None:
    relay.rcpt_replies[RESIDENT] = "550 5.1.1 <{address}>: User unknown in virtual mailbox table"
    with SmtpConnection(relay_config) as connection:
        refused = connection.send(envelope_from=SENDER, recipient=RESIDENT, message=MESSAGE)
        accepted = connection.send(
            envelope_from=SENDER, recipient="hanako@example.jp", message=MESSAGE
        )
    assert refused == SendResult(
        "permanent", 550, "5.1.1 <redacted>: User unknown in virtual mailbox table"
    )
    assert accepted.outcome == "accepted"
    assert relay.rset_count >= 1
    assert relay.ehlo_count == 1
    assert [d.recipients for d in relay.delivered] == [["hanako@example.jp"]]


@pytest.mark.parametrize(
    ("stage", "reply", "expected"),
    [
        (
            "mail",
            "550 5.7.1 <{address}> sender rejected",
            SendResult("permanent", 550, "5.7.1 <redacted> sender rejected"),
        ),
        ("mail", "451 4.3.0 try later", SendResult("temporary", 451, "4.3.0 try later")),
        (
            "data",
            "554 5.7.1 message for <taro@example.jp> rejected",
            SendResult("permanent", 554, "5.7.1 message for <redacted> rejected"),
        ),
        (
            "data",
            "452 4.3.1 insufficient storage",
            SendResult("temporary", 452, "4.3.1 insufficient storage"),
        ),
    ],
)
def test_sender_and_data_refusals(
    relay_config: SmtpConfig, relay: Relay, stage: str, reply: str, expected: SendResult
) -> None:
    if stage == "mail":
        relay.mail_reply = reply.format(address=SENDER)
    else:
        relay.data_reply = reply
    with SmtpConnection(relay_config) as connection:
        assert (
            connection.send(envelope_from=SENDER, recipient=RESIDENT, message=MESSAGE) == expected
        )
        relay.mail_reply, relay.data_reply = None, QUEUED
        assert (
            connection.send(envelope_from=SENDER, recipient=RESIDENT, message=MESSAGE).outcome
            == "accepted"
        )
    assert relay.ehlo_count == 1


def test_long_reply_is_cut_to_500_characters(relay_config: SmtpConfig, relay: Relay) -> None:
    relay.rcpt_replies[RESIDENT] = "550 " + "x" * 900 + " <{address}>"
    result = send_one(relay_config)
    assert result.outcome == "permanent"
    assert len(result.reply) == 500
    assert result.reply.endswith("…")


def test_refused_port_is_temporary_with_code_0() -> None:
    config = parse_smtp_url(f"smtp://127.0.0.1:{free_port()}?timeout=5")
    result = send_one(config)
    assert result == SendResult("temporary", 0, "the connection was refused")


def test_stale_reused_connection_is_retried_once(servers: Servers, relay: Relay) -> None:
    first = servers.start(relay)
    config = parse_smtp_url(f"smtp://127.0.0.1:{first.port}?timeout=5")
    with SmtpConnection(config) as connection:
        assert (
            connection.send(envelope_from=SENDER, recipient=RESIDENT, message=MESSAGE).outcome
            == "accepted"
        )
        servers.stop(first)  # the relay goes away; our socket is now dead
        replacement = Relay()
        servers.start(replacement, port=first.port)
        result = connection.send(
            envelope_from=SENDER, recipient="hanako@example.jp", message=MESSAGE
        )
    assert result.outcome == "accepted"
    assert [d.recipients for d in replacement.delivered] == [["hanako@example.jp"]]


def test_421_on_a_reused_connection_is_retried_once(relay_config: SmtpConfig, relay: Relay) -> None:
    """What Postfix does to an idle client: 421, then hang up; no reason to fail the message."""
    with SmtpConnection(relay_config) as connection:
        assert (
            connection.send(envelope_from=SENDER, recipient=RESIDENT, message=MESSAGE).outcome
            == "accepted"
        )
        relay.mail_reply_once = "421 4.4.2 relay.test Error: timeout exceeded"
        result = connection.send(
            envelope_from=SENDER, recipient="hanako@example.jp", message=MESSAGE
        )
    assert result.outcome == "accepted"
    assert relay.ehlo_count == 2
    assert [d.recipients for d in relay.delivered] == [[RESIDENT], ["hanako@example.jp"]]


def test_hang_up_after_data_is_temporary_and_not_retried(
    relay_config: SmtpConfig, relay: Relay
) -> None:
    with SmtpConnection(relay_config) as connection:
        assert (
            connection.send(envelope_from=SENDER, recipient=RESIDENT, message=MESSAGE).outcome
            == "accepted"
        )
        relay.hang_up_in_data = True  # on the reused connection, where a retry would be tempting
        result = connection.send(envelope_from=SENDER, recipient=RESIDENT, message=MESSAGE)
        assert result.outcome == "temporary"
        assert result.code == 0
        assert len(relay.delivered) == 2  # the relay may have kept it: never send twice
        relay.hang_up_in_data = False
        assert (
            connection.send(envelope_from=SENDER, recipient=RESIDENT, message=MESSAGE).outcome
            == "accepted"
        )
    assert relay.connections == 2


def test_header_line_breaks_in_addresses_are_refused_before_connecting(
    relay_config: SmtpConfig, relay: Relay
) -> None:
    result = send_one(relay_config, recipient="a@example.jp\r\nRCPT TO:<b@example.jp>")
    assert result == SendResult(
        "permanent", 0, "the recipient address contains a line break or NUL character"
    )
    assert send_one(relay_config, recipient="").outcome == "permanent"
    assert relay.ehlo_count == 0


def test_eight_bit_body_and_utf8_address(relay_config: SmtpConfig, relay: Relay) -> None:
    body = "本日15時、避難指示を発令しました。\r\n".encode()
    with SmtpConnection(relay_config) as connection:
        result = connection.send(
            envelope_from=SENDER, recipient="太郎@example.jp", message=MESSAGE + body
        )
    assert result.outcome == "accepted"
    assert {"BODY=8BITMIME", "SMTPUTF8"} <= set(relay.mail_options[0])
    assert relay.delivered[0].recipients == ["太郎@example.jp"]
    assert relay.delivered[0].content.endswith(body)


def test_utf8_address_without_smtputf8_is_permanent(servers: Servers, relay: Relay) -> None:
    controller = servers.start(relay, enable_SMTPUTF8=False)
    config = parse_smtp_url(f"smtp://127.0.0.1:{controller.port}")
    result = send_one(config, recipient="太郎@example.jp")
    assert result.outcome == "permanent"
    assert "SMTPUTF8" in result.reply
    assert relay.mail_count == 0


# -------------------------------------------------------------------------- TLS


def test_starttls_required_but_not_offered_sends_nothing(
    relay_config: SmtpConfig, relay: Relay
) -> None:
    """Documented choice: a temporary result (the delivery code retries), never an exception."""
    config = parse_smtp_url(f"smtp+starttls://user:s3cret@127.0.0.1:{relay_config.port}?timeout=5")
    result = send_one(config)
    assert result.outcome == "temporary"
    assert result.code == 0
    assert "STARTTLS" in result.reply
    assert "s3cret" not in result.reply
    assert relay.mail_count == 0
    assert relay.delivered == []


def test_starttls_upgrades_before_sending(
    servers: Servers, relay: Relay, server_tls: ssl.SSLContext, client_tls: ssl.SSLContext
) -> None:
    controller = servers.start(relay, tls_context=server_tls, require_starttls=True)
    config = parse_smtp_url(f"smtp+starttls://127.0.0.1:{controller.port}?timeout=5")
    with SmtpConnection(config, ssl_context=client_tls) as connection:
        for _ in range(2):
            assert (
                connection.send(envelope_from=SENDER, recipient=RESIDENT, message=MESSAGE).outcome
                == "accepted"
            )
    assert [d.over_tls for d in relay.delivered] == [True, True]
    assert relay.connections == 1


def test_implicit_tls(
    servers: Servers, relay: Relay, server_tls: ssl.SSLContext, client_tls: ssl.SSLContext
) -> None:
    controller = servers.start(relay, ssl_context=server_tls)
    config = parse_smtp_url(f"smtps://127.0.0.1:{controller.port}?timeout=5")
    assert send_one(config, ssl_context=client_tls).outcome == "accepted"
    assert len(relay.delivered) == 1


def test_untrusted_certificate_is_temporary(
    servers: Servers, relay: Relay, server_tls: ssl.SSLContext
) -> None:
    controller = servers.start(relay, ssl_context=server_tls)
    config = parse_smtp_url(f"smtps://127.0.0.1:{controller.port}?timeout=5")
    result = send_one(config)  # default context: the self-signed certificate is not trusted
    assert result.outcome == "temporary"
    assert result.code == 0
    assert "certificate" in result.reply
    assert relay.delivered == []


# ------------------------------------------------------------------------- AUTH


def authenticator(
    server: SMTP, session: Session, envelope: Envelope, mechanism: str, auth_data: object
) -> AuthResult:
    good = isinstance(auth_data, LoginPassword) and auth_data == (b"city", b"s3cret")
    return AuthResult(success=good, handled=False)  # handled=False: aiosmtpd answers 535


@pytest.fixture
def auth_url(servers: Servers, relay: Relay, server_tls: ssl.SSLContext) -> str:
    """A relay like a real submission port: STARTTLS first, then AUTH is required."""
    controller = servers.start(
        relay,
        tls_context=server_tls,
        require_starttls=True,
        authenticator=authenticator,
        auth_required=True,
    )
    return f"smtp+starttls://city:{{password}}@127.0.0.1:{controller.port}?timeout=5"


def test_login_then_send(auth_url: str, relay: Relay, client_tls: ssl.SSLContext) -> None:
    config = parse_smtp_url(auth_url.format(password="s3cret"))
    assert send_one(config, ssl_context=client_tls).outcome == "accepted"
    assert len(relay.delivered) == 1


@pytest.mark.parametrize(("password", "expected_code"), [("wrong", 535), ("%E3%83%91%E3%82%B9", 0)])
def test_login_failure_is_temporary_and_keeps_the_secret(
    auth_url: str, relay: Relay, client_tls: ssl.SSLContext, password: str, expected_code: int
) -> None:
    """Temporary: a bad password is the operator's to fix, not a reason to drop the message."""
    config = parse_smtp_url(auth_url.format(password=password))
    result = send_one(config, ssl_context=client_tls)
    assert result.outcome == "temporary"
    assert result.code == expected_code
    assert "wrong" not in result.reply
    assert "パス" not in result.reply
    assert relay.delivered == []


# ----------------------------------------------------------------- health check


def test_check_reachable_ok(relay_config: SmtpConfig, relay: Relay) -> None:
    assert check_reachable(relay_config) is None
    assert relay.ehlo_count == 1


def test_check_reachable_starttls_over_tls(
    servers: Servers, relay: Relay, server_tls: ssl.SSLContext, client_tls: ssl.SSLContext
) -> None:
    controller = servers.start(relay, tls_context=server_tls)
    config = parse_smtp_url(f"smtp+starttls://127.0.0.1:{controller.port}")
    assert check_reachable(config, ssl_context=client_tls) is None


@pytest.mark.parametrize(
    ("make_url", "reason"),
    [
        (lambda port: f"smtp://user:s3cret@127.0.0.1:{free_port()}", "connection was refused"),
        (lambda port: f"smtp+starttls://user:s3cret@127.0.0.1:{port}", "STARTTLS"),
    ],
)
def test_check_reachable_reports_a_reason(
    relay_config: SmtpConfig, make_url: Callable[[int], str], reason: str
) -> None:
    config = parse_smtp_url(make_url(relay_config.port))
    message = check_reachable(config, timeout=2)
    assert message is not None
    assert reason in message
    assert "127.0.0.1:" in message
    assert "s3cret" not in message
