"""Where a worker's CPU goes when it sends: publish one alert to N subscribers with the tasks
run in this process (eager), over one connection, to a sink, and report CPU per message
(`time.process_time()`, this process only: the sink is another process) and, with
`--profile FILE`, a cProfile of the send.

    .venv/bin/python bench/profile_send.py --n 20000 [--profile /tmp/send.prof]

Wall time on a shared machine says little; CPU per message in our own process is what the
sender's code decides. The fan-out (INSERT … SELECT) is measured apart from the sending.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import sys
import tempfile
import time
from pathlib import Path

import sinks  # bench/sinks.py: this script's own folder is first on sys.path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=20_000)
    parser.add_argument("--profile", help="write the cProfile of the send here")
    parser.add_argument("--sink", choices=["auto", "smtp-sink", "aiosmtpd"], default="auto")
    parser.add_argument("--top", type=int, default=25, help="functions to print")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="anshin-profile-") as tmp:
        sink = sinks.Sink(sinks.choose(args.sink), Path(tmp), "profile")
        try:
            os.environ.update(
                {
                    "ANSHIN_HOME": tmp,
                    "ANSHIN_SMTP_URL": f"smtp://127.0.0.1:{sink.port}",
                    "ANSHIN_FROM": "alert@bench.example.jp",
                    "ANSHIN_TASKS_EAGER": "1",
                    "ANSHIN_SEND_CONNECTIONS": "1",  # all in this thread, which cProfile sees
                    "ANSHIN_LOG_LEVEL": "WARNING",
                    "DJANGO_SETTINGS_MODULE": "anshin.settings",
                }
            )
            run(args.n, args.profile, args.top)
        finally:
            arrived = len(sink.stop())
        print(f"the sink accepted {arrived:,} messages")


def run(n: int, profile_path: str | None, top: int) -> None:
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", "--noinput", verbosity=0)
    seed(n)
    from anshin.alerts.models import Category
    from anshin.alerts.services import alert_publish
    from anshin.core.audit import OPERATOR
    from anshin.delivery import render, services

    render.warm_up()
    category = Category.objects.get(slug="bousai")
    send_cpu = 0.0
    # Timed by CPU, not by the wall clock: on a shared machine a call's wall time includes
    # the time the process waited for a core.
    sends = cProfile.Profile(time.process_time) if profile_path else None
    original_send_batch = services.send_batch

    # The eager fan-out calls send_batch in this thread; its CPU is counted (and profiled)
    # apart from the publish and the fan-out's own.
    def timed_send_batch(**kwargs: int) -> None:
        nonlocal send_cpu
        send_cpu -= time.process_time()
        if sends is not None:
            sends.enable()
        try:
            original_send_batch(**kwargs)  # type: ignore[arg-type]
        finally:
            if sends is not None:
                sends.disable()
            send_cpu += time.process_time()

    services.send_batch = timed_send_batch  # type: ignore[assignment]
    started_cpu, started = time.process_time(), time.perf_counter()
    alert_publish(
        actor=OPERATOR,
        category=category,
        subject="ベンチマーク（訓練）",
        body="これは配信性能の測定です。\n北部地区に避難指示が出ました（訓練）。",
        via="cli",
    )
    total_cpu, wall = time.process_time() - started_cpu, time.perf_counter() - started
    services.send_batch = original_send_batch  # type: ignore[assignment]
    print(
        f"{n:,} messages: send_batch CPU {send_cpu / n * 1e6:.0f} µs/message "
        f"({send_cpu:.2f} s); everything else (publish, fan-out) {total_cpu - send_cpu:.2f} s; "
        f"wall {wall:.1f} s; load average {os.getloadavg()[0]:.2f}"
    )
    if sends is not None and profile_path:
        sends.dump_stats(profile_path)
        pstats.Stats(profile_path).sort_stats("tottime").print_stats(top)


SEED_CHUNK = 5000


def seed(n: int) -> None:
    import secrets

    from django.utils import timezone

    from anshin.alerts.models import Category
    from anshin.core import crypto
    from anshin.residents.models import EMAIL_CONTEXT, Subscriber

    category = Category.objects.get(slug="bousai")
    through = Subscriber.categories.through
    now = timezone.now()
    for start in range(0, n, SEED_CHUNK):
        rows = []
        for i in range(start, min(n, start + SEED_CHUNK)):
            address = f"resident{i}@example.jp"
            rows.append(
                Subscriber(
                    email_ciphertext=crypto.encrypt(address, context=EMAIL_CONTEXT),
                    email_hash=crypto.lookup_hash(address),
                    state="active",
                    token_key=secrets.token_hex(16),
                    consent_basis="benchmark",
                    confirmed_at=now,
                )
            )
        Subscriber.objects.bulk_create(rows)
        hashes = [r.email_hash for r in rows]
        ids = Subscriber.objects.filter(email_hash__in=hashes).values_list("pk", flat=True)
        through.objects.bulk_create(
            [through(subscriber_id=i, category_id=category.pk) for i in ids]
        )


if __name__ == "__main__":
    sys.exit(main())
