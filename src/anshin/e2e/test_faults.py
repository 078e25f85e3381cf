"""Faults across real processes: the database restarting mid-send (PostgreSQL, through a
loopback proxy that cuts its connections), and a worker killed with SIGKILL mid-send."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from anshin.e2e.stack import running_stack
from anshin.e2e.tcpproxy import CuttableProxy
from anshin.e2e.test_flow import wait_done

pytestmark = [pytest.mark.e2e]


@pytest.mark.postgres_only
def test_database_restart_during_a_send_loses_no_recipient(tmp_path: Path) -> None:
    url = os.environ["ANSHIN_DATABASE_URL"]
    proxy = CuttableProxy(int(url.rsplit(":", 1)[1].split("/")[0]))
    proxied = f"postgres://postgres@127.0.0.1:{proxy.port}/{url.rsplit('/', 1)[1]}"
    try:
        with running_stack(
            tmp_path, roles=("web",), extra_env={"ANSHIN_DATABASE_URL": proxied}
        ) as stack:
            n = 400
            stack.subscribe_all([f"db{i}@example.jp" for i in range(n)], "bousai")
            stack.sink.delay = 0.01  # about 4 s of sending, so the cut lands mid-send
            stack.start("worker")
            stack.start("scheduler")
            alert_id = stack.publish("bousai", "停電", "停電中です。")
            stack.wait_for_count(50, timeout=30)
            proxy.cut(down_for=3)  # the database goes away for three seconds
            stack.sink.delay = 0
            assert wait_done(stack, alert_id, timeout=120) == f"done {n}"
            received = [r for _, rcpts, _ in stack.sink.messages for r in rcpts]
            missing = {f"db{i}@example.jp" for i in range(n)} - set(received)
            assert missing == set()
            duplicates = len(received) - n
            print(f"database cut mid-send: {n} recipients, {duplicates} duplicate(s)")
            assert duplicates <= 2 * 200  # at most the batches in flight at the cut
    finally:
        proxy.close()


@pytest.mark.embedded_only
def test_kill_9_of_a_worker_mid_20000_send_loses_no_recipient(tmp_path: Path) -> None:
    """Two workers share the send; one is killed with SIGKILL and never restarted. Its claimed
    rows come back into work after their lease, and every recipient gets the alert."""
    n = 20_000
    with running_stack(tmp_path, roles=("web",)) as stack:
        stack.subscribe_all([f"k{i}@example.jp" for i in range(n)], "bousai")
        stack.start("worker")
        stack.start("worker-b")
        stack.start("scheduler")
        alert_id = stack.publish("bousai", "地震", "震度6弱。")
        stack.wait_for_count(n // 4, timeout=60)
        stack.stop("worker", kill=True)
        killed_at = time.monotonic()
        assert wait_done(stack, alert_id, timeout=240) == f"done {n}"
        recovered_in = time.monotonic() - killed_at
        received = [r for _, rcpts, _ in stack.sink.messages for r in rcpts]
        assert {f"k{i}@example.jp" for i in range(n)} - set(received) == set()
        duplicates = len(received) - n
        print(
            f"kill -9 mid-send: {n} recipients, {duplicates} duplicate(s), "
            f"done {recovered_in:.0f} s after the kill"
        )
        # At most the unrecorded outcome chunk of each connection of the killed worker:
        # 2 pool processes x 2 connections x 20 messages.
        assert duplicates <= 2 * 2 * 20


BACKLOG = """
from anshin.conftest import make_subscriber
from anshin.alerts.models import Category
from anshin.delivery.services import notification_enqueue
c = Category.objects.get(slug='bouhan')
for i in range({n}):
    waiting = make_subscriber(f'wait{i}@example.jp', c, state='pending')
    notification_enqueue(subscriber=waiting, kind='confirm')
make_subscriber('urgent@example.jp', Category.objects.get(slug='bousai'))
"""


def test_an_alert_is_not_held_up_by_a_backlog_of_other_mail(tmp_path: Path) -> None:
    """300 confirmation mails are waiting when an alert is published, as after a sign-up rush:
    the alert goes out at once, not after them."""
    n = 300
    with running_stack(tmp_path, roles=("web",)) as stack:
        stack.anshin("shell", "-c", BACKLOG.replace("{n}", str(n)))
        stack.sink.delay = 0.03  # a relay slow enough that the backlog takes several seconds
        stack.start("worker")
        stack.start("alerts-worker")
        stack.publish("bousai", "緊急", "避難してください。")
        stack.wait_for_mail("urgent@example.jp", timeout=60)
        waiting_mail_sent = sum(
            1 for _, rcpts, _ in stack.sink.messages for r in rcpts if r.startswith("wait")
        )
        print(f"alert delivered after {waiting_mail_sent} of {n} backlog mails")
        assert waiting_mail_sent < n // 2
