"""Tests for the demo mail catcher, with a real server on an ephemeral 127.0.0.1 port."""

from __future__ import annotations

import os
import signal
import smtplib
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.policy import SMTP as SMTP_POLICY
from pathlib import Path

import pytest

from anshin.core import catcher as catcher_module
from anshin.core.catcher import MailCatcher, list_caught, read_caught

SUBJECT = "【防災】避難指示のお知らせ"
BODY = "本日15時、○○地区に避難指示を発令しました。\n最寄りの避難所へ移動してください。\n"
SENDER = "alerts@city.example.jp"


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    return tmp_path / "caught"


@pytest.fixture
def catcher(folder: Path) -> Iterator[MailCatcher]:
    running = MailCatcher(folder, port=0)
    running.start()
    try:
        yield running
    finally:
        running.stop()


def alert(subject: str = SUBJECT, body: str = BODY) -> bytes:
    message = EmailMessage()
    message["From"] = SENDER
    message["To"] = "undisclosed-recipients:;"
    message["Subject"] = subject
    message.set_content(body, charset="utf-8")
    return message.as_bytes(policy=SMTP_POLICY)


def deliver(port: int, message: bytes, recipients: list[str]) -> None:
    utf8 = not "".join(recipients).isascii()
    with smtplib.SMTP("127.0.0.1", port, timeout=5) as client:
        client.sendmail(SENDER, recipients, message, mail_options=["SMTPUTF8"] if utf8 else [])


def test_japanese_message_round_trip(catcher: MailCatcher, folder: Path) -> None:
    raw = alert()
    assert b"=?utf-8?" in raw  # the subject really travels RFC 2047 encoded
    before = datetime.now(UTC)
    deliver(catcher.port, raw, ["taro..jiro@docomo.ne.jp", "hanako@example.jp"])

    [mail] = list_caught(folder)
    assert mail.subject == SUBJECT
    assert mail.text == BODY
    assert mail.envelope_from == SENDER
    assert mail.recipients == ["taro..jiro@docomo.ne.jp", "hanako@example.jp"]
    assert mail.received_at.tzinfo is UTC
    assert before - timedelta(seconds=1) <= mail.received_at <= datetime.now(UTC)
    assert ("Subject", SUBJECT) in mail.headers
    assert not any(name.startswith("X-Anshin") for name, _ in mail.headers)
    assert read_caught(folder, mail.id) == mail


def test_saved_file_is_the_message_with_envelope_lines(catcher: MailCatcher, folder: Path) -> None:
    raw = alert()
    deliver(catcher.port, raw, ["太郎@example.jp"])
    [path] = folder.iterdir()  # no temporary file left behind
    assert path.name.endswith(".eml")
    assert path.stat().st_mode & 0o777 == 0o600
    saved = path.read_bytes()
    assert saved.startswith(
        b'X-Anshin-Envelope-From: "alerts@city.example.jp"\r\n'
        b'X-Anshin-Envelope-To: ["\\u592a\\u90ce@example.jp"]\r\n'
    )
    assert saved.endswith(raw)
    assert list_caught(folder)[0].recipients == ["太郎@example.jp"]


def test_newest_first_with_limit(catcher: MailCatcher, folder: Path) -> None:
    for number in range(3):
        deliver(catcher.port, alert(subject=f"お知らせ {number}"), ["taro@example.jp"])
    assert [mail.subject for mail in list_caught(folder)] == [
        "お知らせ 2",
        "お知らせ 1",
        "お知らせ 0",
    ]
    assert [mail.subject for mail in list_caught(folder, limit=2)] == ["お知らせ 2", "お知らせ 1"]
    assert list_caught(folder, limit=0) == []


def test_plain_part_of_a_multipart_message(catcher: MailCatcher, folder: Path) -> None:
    message = EmailMessage()
    message["Subject"] = SUBJECT
    message.set_content(BODY)
    message.add_alternative("<p>避難指示</p>", subtype="html")
    deliver(catcher.port, message.as_bytes(policy=SMTP_POLICY), ["taro@example.jp"])
    assert list_caught(folder)[0].text == BODY


def test_broken_and_foreign_files_are_skipped(catcher: MailCatcher, folder: Path) -> None:
    deliver(catcher.port, alert(), ["taro@example.jp"])
    [good] = list_caught(folder)
    broken_id = "29991231T235959999999Z-" + "0" * 32  # sorts first
    (folder / f"{broken_id}.eml").write_bytes(b"\xff\xfe not a caught message")
    (folder / "notes.eml").write_bytes(b'X-Anshin-Envelope-From: ""\r\n')
    (folder / f".{broken_id}.tmp").write_bytes(b"half written")

    assert list_caught(folder) == [good]
    assert read_caught(folder, broken_id) is None


@pytest.mark.parametrize(
    "mail_id",
    [
        "../etc/passwd",
        "../../etc/passwd",
        "/etc/passwd",
        "..",
        "",
        "20240101T000000000000Z-" + "0" * 31 + "/",
        "20240101T000000000000Z-" + "0" * 32 + ".eml",
        "20240101T000000000000Z-" + "0" * 32 + "\n",
        "../20240101T000000000000Z-" + "0" * 32,
        "２０２４0101T000000000000Z-" + "0" * 32,  # full-width digits are not [0-9]
    ],
)
def test_read_caught_rejects_anything_but_an_exact_id(folder: Path, mail_id: str) -> None:
    folder.mkdir()
    assert read_caught(folder, mail_id) is None


def test_read_caught_does_not_follow_a_path_out_of_the_folder(tmp_path: Path, folder: Path) -> None:
    folder.mkdir()
    outside_id = "20240101T000000000000Z-" + "a" * 32
    (tmp_path / f"{outside_id}.eml").write_bytes(
        b'X-Anshin-Envelope-From: ""\r\nX-Anshin-Envelope-To: []\r\n\r\n'
    )
    assert read_caught(tmp_path, outside_id) is not None  # readable where it is...
    assert read_caught(folder, f"../{outside_id}") is None  # ...but not through the folder


def test_unknown_id_and_missing_folder(tmp_path: Path) -> None:
    assert read_caught(tmp_path, "20240101T000000000000Z-" + "0" * 32) is None
    assert list_caught(tmp_path / "does-not-exist") == []


def test_advertises_the_10_mb_limit(catcher: MailCatcher) -> None:
    with smtplib.SMTP("127.0.0.1", catcher.port, timeout=5) as client:
        client.ehlo()
        assert client.esmtp_features["size"] == str(10 * 1024 * 1024)


def test_port_zero_lifecycle(folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # aiosmtpd reports a failed bind only after its ready timeout; keep the test quick.
    monkeypatch.setenv("AIOSMTPD_CONTROLLER_TIMEOUT", "0.5")
    with MailCatcher(folder, port=0) as running:
        port = running.port
        assert port != 0
        with pytest.raises(RuntimeError):
            running.start()
        with pytest.raises(OSError):  # the port is taken: fails loudly, leaks nothing
            MailCatcher(folder, port=port).start()
    running.stop()  # stopping twice is harmless
    with (
        pytest.raises(ConnectionRefusedError),
        socket.create_connection(("127.0.0.1", port), timeout=2),
    ):
        pass


def test_run_catcher_forever_stops_on_sigterm(tmp_path: Path, folder: Path) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    source_root = Path(catcher_module.__file__).resolve().parents[2]
    code = (
        "import pathlib, sys; from anshin.core.catcher import run_catcher_forever; "
        "run_catcher_forever(pathlib.Path(sys.argv[1]), host='127.0.0.1', port=int(sys.argv[2]))"
    )
    environment = {**os.environ, "PYTHONPATH": str(source_root)}
    child = subprocess.Popen([sys.executable, "-c", code, str(folder), str(port)], env=environment)
    try:
        wait_until_listening(port)
        deliver(port, alert(), ["taro@example.jp"])
        child.send_signal(signal.SIGTERM)
        assert child.wait(timeout=10) == 0
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    assert [mail.subject for mail in list_caught(folder)] == [SUBJECT]


def wait_until_listening(port: int, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)
