"""The whole loop through real processes: web (gunicorn), worker (Celery on filesystem://),
scheduler, and a real SMTP server on loopback. Subscribe → confirm → 登録完了 → staff send →
alert received → one-click unsubscribe → next alert not received; and nothing is lost when the
broker drops a message or the worker is killed mid-send."""

from __future__ import annotations

import re
import time
import urllib.request
from pathlib import Path

import pytest

from anshin.e2e.http import Browser
from anshin.e2e.stack import Stack, running_stack

pytestmark = pytest.mark.e2e


def links(mail: object, stack: Stack, prefix: str) -> list[str]:
    body = mail.get_body(preferencelist=("plain",)).get_content()  # type: ignore[attr-defined]
    found = re.findall(re.escape(stack.base_url) + r"(/[^\s]+/)", body)
    return [path for path in found if path.startswith(prefix)]


def alert_state(stack: Stack, alert_id: str) -> str:
    script = (
        "from anshin.delivery.models import Delivery; "
        f"d = Delivery.objects.get(alert_id={int(alert_id)}); print(d.state, d.total)"
    )
    result = stack.anshin("shell", "--no-imports", "-c", script, check=False)
    return result.stdout.strip() if result.returncode == 0 else "unknown (database unreachable)"


def wait_done(stack: Stack, alert_id: str, timeout: float = 60) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        state = alert_state(stack, alert_id)
        if state.startswith("done"):
            return state
        time.sleep(0.3)
    raise AssertionError(f"alert {alert_id} did not finish: {alert_state(stack, alert_id)}")


def subscribe(stack: Stack, address: str) -> None:
    browser = Browser(stack.base_url)
    page = browser.get("/subscribe/")
    assert 'value="bousai"' in page.text
    response = browser.post("/subscribe/", {"email": address, "categories": ["bousai"]})
    assert response.status == 200 and response.url.endswith("/subscribe/sent/")


def test_subscribe_send_unsubscribe_through_real_processes(tmp_path: Path) -> None:
    with running_stack(tmp_path) as stack:
        address = "taro..jiro@docomo.ne.jp"
        subscribe(stack, address)
        (confirm_mail,) = stack.wait_for_mail(address)
        (confirm_path,) = links(confirm_mail, stack, "/subscribe/confirm/")
        browser = Browser(stack.base_url)
        browser.get(confirm_path)
        assert browser.post(confirm_path).status == 200
        complete = stack.wait_for_mail(address, 2)[1]
        assert "登録完了" in complete["Subject"]

        first = stack.publish("bousai", "避難指示（訓練）", "北部地区に避難指示が出ました。")
        alert_mail = stack.wait_for_mail(address, 3)[2]
        assert alert_mail["Subject"] == "[安心市 防災] 避難指示（訓練）"
        assert "北部地区に避難指示が出ました。" in alert_mail.get_content()
        assert wait_done(stack, first) == "done 1"

        unsubscribe = alert_mail["List-Unsubscribe"].strip("<>")
        assert alert_mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        request = urllib.request.Request(
            unsubscribe, data=b"List-Unsubscribe=One-Click", method="POST"
        )
        with urllib.request.urlopen(request, timeout=10) as raw:
            assert raw.status == 200 and raw.url == unsubscribe  # answered directly, no redirect

        second = stack.publish("bousai", "解除", "避難指示を解除しました。")
        assert wait_done(stack, second) == "done 0"
        assert len(stack.sink.to(address)) == 3
        for log in stack.home.glob("*.log"):  # personal data never reaches a log
            assert "taro..jiro" not in log.read_text(errors="replace"), log.name


def test_alert_published_while_worker_down_and_broker_message_lost_is_still_sent(
    tmp_path: Path,
) -> None:
    with running_stack(tmp_path, roles=("web",)) as stack:
        addresses = [f"resident{i}@example.jp" for i in range(30)]
        stack.subscribe_all(addresses, "bouhan")
        alert_id = stack.publish("bouhan", "不審者情報", "駅前で不審者が目撃されました。")
        dropped = stack.take_queued()  # the broker lost them
        assert dropped, "the fan-out task should be waiting in the broker"
        assert not any(b"@example.jp" in body for body in dropped)  # task payloads carry ids only
        stack.start("worker")
        stack.start("scheduler")
        assert wait_done(stack, alert_id) == "done 30"
        assert all(len(stack.sink.to(a)) == 1 for a in addresses)


def test_worker_killed_mid_send_loses_no_recipient(tmp_path: Path) -> None:
    slow = {"ANSHIN_SEND_BATCH_SIZE": "20"}
    with running_stack(tmp_path, roles=("web",), extra_env=slow) as stack:
        addresses = [f"r{i}@example.jp" for i in range(200)]
        stack.subscribe_all(addresses, "bousai")
        stack.sink.delay = 0.02  # a slow relay, so the kill lands mid-send
        stack.start("worker")
        alert_id = stack.publish("bousai", "停電", "市内で停電が発生しています。")
        stack.wait_for_count(20, timeout=30)
        stack.stop("worker", kill=True)
        received_before = len(stack.sink.messages)
        assert 0 < received_before < 200
        stack.sink.delay = 0
        stack.start("worker")
        stack.start("scheduler")
        assert wait_done(stack, alert_id, timeout=90) == "done 200"
        missing = [a for a in addresses if not stack.sink.to(a)]
        assert missing == []
