"""`anshin demo`: one command, no configuration; everything works and Ctrl-C stops it all."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from anshin.conftest import browser_totp_code, free_port
from anshin.e2e.http import Browser

pytestmark = pytest.mark.embedded_only


def port_open(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def read_banner(process: subprocess.Popen[str], timeout: float = 60) -> str:
    assert process.stdout is not None
    lines: list[str] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        lines.append(line)
        if "Ctrl-C" in line:
            return "".join(lines)
    raise AssertionError("no banner: " + "".join(lines))


def test_demo_runs_everything_and_ctrl_c_stops_every_child(tmp_path: Path) -> None:
    web, smtp = free_port(), free_port()
    env = {
        **os.environ,
        "ANSHIN_HOME": str(tmp_path / "home"),
        "ANSHIN_BASE_URL": f"http://127.0.0.1:{web}",
    }
    for name in ("ANSHIN_SMTP_URL", "DJANGO_SETTINGS_MODULE"):
        env.pop(name, None)
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "anshin.core.cli",
            "demo",
            "--port",
            str(web),
            "--catcher-port",
            str(smtp),
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        banner = read_banner(process)
        password = re.search(r"user: demo\s+password: (\S+)", banner)
        assert password, banner
        deadline = time.monotonic() + 30
        while not port_open(web) and time.monotonic() < deadline:
            time.sleep(0.2)
        resident = Browser(f"http://127.0.0.1:{web}")
        resident.get("/subscribe/")
        sent = resident.post(
            "/subscribe/", {"email": "demo.resident@example.jp", "categories": ["bousai"]}
        )
        assert sent.url.endswith("/subscribe/sent/")

        staff = Browser(f"http://127.0.0.1:{web}")
        staff.get("/console/login/")
        second_step = staff.post(
            "/console/login/", {"username": "demo", "password": password.group(1)}
        )
        assert "/console/otp/verify/" in second_step.url  # the demo account is enrolled
        key = re.search(r"key / キー: (\S+)", banner)
        assert key, banner
        signed_in = staff.post("/console/otp/verify/", {"code": browser_totp_code(key.group(1))})
        assert signed_in.url.endswith("/console/")
        deadline = time.monotonic() + 30
        while "demo.resident@example.jp" not in staff.get("/console/mailbox/").text:
            assert time.monotonic() < deadline, (
                "the confirmation mail never reached the demo mailbox"
            )
            time.sleep(0.5)
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=30) == 0
        assert not port_open(web) and not port_open(smtp)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def test_serve_runs_web_worker_scheduler_and_sigterm_stops_them(tmp_path: Path) -> None:
    web = free_port()
    env = {
        **os.environ,
        "ANSHIN_HOME": str(tmp_path / "home"),
        "ANSHIN_BASE_URL": f"http://127.0.0.1:{web}",
        "ANSHIN_SMTP_URL": f"smtp://127.0.0.1:{free_port()}",
    }
    env.pop("DJANGO_SETTINGS_MODULE", None)
    command = [sys.executable, "-m", "anshin.core.cli"]
    subprocess.run([*command, "migrate", "--noinput"], env=env, check=True, capture_output=True)
    process = subprocess.Popen(
        [*command, "serve", "--port", str(web)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 30
        while not port_open(web):
            assert time.monotonic() < deadline and process.poll() is None, "serve did not start"
            time.sleep(0.2)
        assert Browser(f"http://127.0.0.1:{web}").get("/subscribe/").status == 200
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0
        assert not port_open(web)
        leftover = subprocess.run(["pgrep", "-s", str(process.pid)], capture_output=True, text=True)
        assert leftover.stdout.strip() == "", "child processes survived"
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
