"""`anshin inbound` as operators run it: a process that listens, refuses strangers at RCPT
and stops cleanly on SIGTERM."""

from __future__ import annotations

import os
import signal
import smtplib
import subprocess
import sys
import time

import pytest

from anshin.conftest import free_port


@pytest.mark.embedded_only
def test_inbound_command_listens_refuses_and_stops_on_sigterm():
    port = free_port()
    env = {**os.environ, "ANSHIN_INBOUND_DOMAIN": "anshin.example.jp"}
    process = subprocess.Popen(
        [sys.executable, "-m", "anshin.core.cli", "inbound", "--port", str(port)], env=env
    )
    try:
        client = _connect(port, process)
        with client:
            client.ehlo("test.example")
            assert client.mail("taro@example.jp")[0] == 250
            assert client.rcpt("nobody@anshin.example.jp")[0] == 550
            assert client.rcpt("someone@elsewhere.example.jp")[0] == 550
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=20) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def _connect(port: int, process: subprocess.Popen[bytes]) -> smtplib.SMTP:
    deadline = time.monotonic() + 30
    while True:
        try:
            return smtplib.SMTP("127.0.0.1", port, timeout=5)
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                raise
            time.sleep(0.2)
