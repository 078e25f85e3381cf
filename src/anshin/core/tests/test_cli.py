"""The `anshin` command from a script: exit codes and plain messages, run as a real process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from anshin.conftest import free_port


def run(
    home: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    environment = {**os.environ, "ANSHIN_HOME": str(home), **(env or {})}
    environment.pop("DJANGO_SETTINGS_MODULE", None)
    return subprocess.run(
        [sys.executable, "-m", "anshin.core.cli", *args],
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("cli")
    assert run(path, "migrate", "--noinput").returncode == 0
    return path


def test_publish_prints_the_alert_id(home: Path) -> None:
    result = run(
        home,
        "alert",
        "publish",
        "--category",
        "bousai",
        "--subject",
        "訓練",
        "--body",
        "訓練です。",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().isdigit()


def test_publish_from_a_body_file(home: Path, tmp_path: Path) -> None:
    body = tmp_path / "body.txt"
    body.write_text("警視庁からのお知らせ\n特殊詐欺に注意してください。", encoding="utf-8")
    result = run(
        home,
        "alert",
        "publish",
        "--category",
        "bouhan",
        "--subject",
        "詐欺注意",
        "--body-file",
        str(body),
    )
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--category", "nope", "--subject", "s", "--body", "b"],
            "No active category 'nope'. Known: bousai, bouhan",
        ),
        (["--category", "bousai", "--subject", "a\nb", "--body", "b"], "one line"),
        (
            ["--category", "bousai", "--subject", "s", "--body-file", "/nonexistent/x.txt"],
            "No such file",
        ),
        (["--category", "bousai", "--subject", "s", "--body", ""], "Enter the message"),
        (["--category", "bousai", "--subject", "s" * 500, "--body", "b"], "too long"),
    ],
)
def test_bad_input_exits_non_zero_with_a_plain_message(
    home: Path, args: list[str], message: str
) -> None:
    result = run(home, "alert", "publish", *args, env={"ANSHIN_LANGUAGE": "en"})
    assert result.returncode != 0
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def test_command_messages_are_japanese_by_default(home: Path) -> None:
    result = run(home, "alert", "publish", "--category", "bousai", "--subject", "s", "--body", "")
    assert result.returncode != 0 and "本文を入力してください" in result.stderr


def test_binary_body_file_is_refused(home: Path, tmp_path: Path) -> None:
    body = tmp_path / "body.bin"
    body.write_bytes(b"\xff\xfe\x00\x81garbage")
    result = run(
        home, "alert", "publish", "--category", "bousai", "--subject", "s", "--body-file", str(body)
    )
    assert result.returncode != 0 and "not UTF-8 text" in result.stderr


def test_check_passes_with_defaults(home: Path) -> None:
    result = run(home, "check")
    assert result.returncode == 0, result.stderr


def test_check_reports_a_bad_smtp_url_in_plain_words(home: Path) -> None:
    result = run(home, "check", env={"ANSHIN_SMTP_URL": "ftp://relay.example.jp"})
    assert result.returncode != 0
    assert "ANSHIN_SMTP_URL is not usable" in result.stderr


def test_check_deploy_passes_with_production_settings(home: Path) -> None:
    port = free_port()
    from aiosmtpd.controller import Controller

    from anshin.conftest import Sink, _Handler

    sink = Sink(port=port)
    controller = Controller(_Handler(sink), hostname="127.0.0.1", port=port)
    controller.start()
    try:
        env = {
            "ANSHIN_BASE_URL": "https://bousai.city.example.jp",
            "ANSHIN_ALLOWED_HOSTS": "bousai.city.example.jp",
            "ANSHIN_SECRET_KEY": "k" * 10 + "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOP",
            "ANSHIN_DATA_KEY": "A" * 43 + "=",
            "ANSHIN_SMTP_URL": f"smtp://127.0.0.1:{port}",
        }
        result = run(home, "check", "--deploy", "--fail-level", "WARNING", env=env)
    finally:
        controller.stop()
    assert result.returncode == 0, result.stderr + result.stdout


def test_check_deploy_warns_on_plain_http(home: Path) -> None:
    result = run(home, "check", "--deploy", "--fail-level", "WARNING")
    assert result.returncode != 0
    assert "anshin.W001" in result.stderr


def test_healthz_reports_each_dependency(tmp_path: Path) -> None:
    from anshin.e2e.stack import running_stack

    with running_stack(tmp_path, roles=("web",)) as stack:
        with urllib.request.urlopen(stack.base_url + "/healthz", timeout=10) as raw:
            body = json.loads(raw.read())
        assert body["ok"] is True
        assert {k: v["ok"] for k, v in body.items() if k != "ok"} == {
            "database": True,
            "broker": True,
            "smtp": True,
        }
        stack.env["ANSHIN_SMTP_URL"] = f"smtp://127.0.0.1:{free_port()}"
        stack.stop("web")
        stack.start("web")
        try:
            urllib.request.urlopen(stack.base_url + "/healthz", timeout=10)
            raise AssertionError("expected 503")
        except urllib.error.HTTPError as err:
            assert err.code == 503
            body = json.loads(err.read())
        assert body["smtp"]["ok"] is False and body["database"]["ok"] is True
