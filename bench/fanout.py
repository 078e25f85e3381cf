"""Benchmark: publish one alert to N subscribers and measure until the sink accepted the last
message; beside it, the floor: the same number of pre-rendered messages pushed by a minimal
sender over the same number of connections to the same sink.

    .venv/bin/python bench/fanout.py --n 100000 [--stack embedded|postgres] [--concurrency 2]
        [--pg-database NAME --redis-db N]  (your own, on a server others benchmark on too)

Prints a table and, as its last lines, one JSON object per stack with stack, n, sink,
connections, msgs_per_s, floor_msgs_per_s, ratio, floor_pipelined_msgs_per_s,
ratio_pipelined, first_ms, p50_ms, p95_ms, peak_rss_mb, peak_pss_mb, worker_cpu_us_per_msg,
load_avg_1m, web_p95_ms. On a shared machine compare the worker's CPU per message: the rates
follow whatever else is running (the load average says how much). The floor is smtplib's
plain dialogue, as the issue defines it; the pipelined floor (smtp-sink only) is what the same
minimal sender reaches with RFC 2920 pipelining, which anshin's sender uses. The sink is Postfix's smtp-sink when installed (Debian package postfix), else
aiosmtpd (`--sink` chooses).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import re
import secrets
import signal
import smtplib
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

import sinks  # bench/sinks.py: this script's own folder is first on sys.path

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable
PROFILE: str | None = None
# PostgreSQL database and Redis db of the postgres stack: a fresh random database name unless
# --pg-database names one (several people benchmarking on one server each use their own).
PG_DATABASE: str | None = None
REDIS_DB = "14"


# --- the floor --------------------------------------------------------------------------


def _push(port: int, message: bytes, count: int, pipelined: bool) -> None:
    """A minimal sender of a pre-rendered message over one connection: smtplib's plain
    dialogue (the floor as the issue defines it), or RFC 2920 pipelining as anshin's sender
    uses when the sink offers it (the stricter floor)."""
    with smtplib.SMTP("127.0.0.1", port) as smtp:
        smtp.ehlo()
        if not pipelined:
            for i in range(count):
                smtp.sendmail("alert@bench.example.jp", [f"r{i}@example.jp"], message)
            return
        assert smtp.has_extn("pipelining"), "the sink does not offer PIPELINING"
        body = re.sub(rb"(?m)^\.", b"..", message).rstrip(b"\r\n") + b"\r\n.\r\n"
        for i in range(count):
            envelope = (
                f"MAIL FROM:<alert@bench.example.jp>\r\nRCPT TO:<r{i}@example.jp>\r\nDATA\r\n"
            )
            smtp.send(envelope)
            codes = [smtp.getreply()[0] for _ in range(3)]
            smtp.send(body)
            codes.append(smtp.getreply()[0])
            assert codes == [250, 250, 354, 250], codes


def measure_floor(
    workdir: Path, n: int, connections: int, message: bytes, kind: str, pipelined: bool
) -> float:
    sink = sinks.Sink(kind, workdir, "floor")
    try:
        share = [n // connections + (1 if i < n % connections else 0) for i in range(connections)]
        started = time.time()
        workers = [
            multiprocessing.Process(target=_push, args=(sink.port, message, c, pipelined))
            for c in share
        ]
        for w in workers:
            w.start()
        for w in workers:
            w.join()
        elapsed = time.time() - started
    finally:
        times = sink.stop()
    assert len(times) == n, (len(times), n)
    return n / elapsed


# --- the stack --------------------------------------------------------------------------


def stack_env(home: Path, stack: str, smtp_port: int, web_port: int) -> dict[str, str]:
    env = {
        **os.environ,
        "ANSHIN_HOME": str(home),
        "ANSHIN_SMTP_URL": f"smtp://127.0.0.1:{smtp_port}",
        "ANSHIN_BASE_URL": f"http://127.0.0.1:{web_port}",
        "ANSHIN_FROM": "alert@bench.example.jp",
        "ANSHIN_LOG_LEVEL": "WARNING",
        "DJANGO_SETTINGS_MODULE": "anshin.settings",
    }
    if stack == "postgres":
        name = PG_DATABASE or "anshin_bench_" + secrets.token_hex(4)
        psql = ["psql", "-h", "127.0.0.1", "-U", "postgres", "-qc"]
        subprocess.run([*psql, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"], check=True)
        subprocess.run([*psql, f"CREATE DATABASE {name}"], check=True)
        env["ANSHIN_DATABASE_URL"] = f"postgres://postgres@127.0.0.1:5432/{name}"
        env["ANSHIN_BROKER_URL"] = f"redis://127.0.0.1:6379/{REDIS_DB}"
        subprocess.run(["redis-cli", "-n", REDIS_DB, "FLUSHDB"], check=True, capture_output=True)
    return env


def drop_database(env: dict[str, str]) -> None:
    url = env.get("ANSHIN_DATABASE_URL", "")
    if url:
        name = url.rsplit("/", 1)[1]
        subprocess.run(
            [
                "psql",
                "-h",
                "127.0.0.1",
                "-U",
                "postgres",
                "-qc",
                f"DROP DATABASE IF EXISTS {name} WITH (FORCE)",
            ],
            check=False,
        )
        subprocess.run(["redis-cli", "-n", REDIS_DB, "FLUSHDB"], check=False, capture_output=True)


SEED = """
import secrets, sys
from django.utils import timezone
from anshin.alerts.models import Category
from anshin.core import crypto
from anshin.residents.models import EMAIL_CONTEXT, Subscriber
n = int(sys.argv[1]); cat = Category.objects.get(slug="bousai"); through = Subscriber.categories.through
now = timezone.now()
for start in range(0, n, 5000):
    rows = []
    for i in range(start, min(n, start + 5000)):
        a = f"resident{i}@example.jp"
        rows.append(Subscriber(email_ciphertext=crypto.encrypt(a, context=EMAIL_CONTEXT), email_hash=crypto.lookup_hash(a),
                    state="active", token_key=secrets.token_hex(16), consent_basis="benchmark", confirmed_at=now))
    created = Subscriber.objects.bulk_create(rows)
    ids = list(Subscriber.objects.filter(email_hash__in=[r.email_hash for r in rows]).values_list("pk", flat=True))
    through.objects.bulk_create([through(subscriber_id=i, category_id=cat.pk) for i in ids])
"""

PUBLISH = """
import time
from anshin.alerts.models import Category
from anshin.alerts.services import alert_publish
from anshin.core.audit import OPERATOR
import contextlib, importlib
from anshin.core.celery_app import app
from django.urls import get_resolver
# Warm, as the console's web process is when staff publish: the URLconf and the channel code
# imported, the broker connection open. (A cold `anshin alert publish` process spends about
# half a second more on imports before the alert is committed.)
get_resolver().url_patterns
with contextlib.suppress(ImportError):  # the channels app came after the first benchmarks
    importlib.import_module("anshin.channels.services")
with app.producer_or_acquire() as producer:
    producer.connection.ensure_connection(max_retries=3)
category = Category.objects.get(slug="bousai")
t0 = time.time()
alert = alert_publish(actor=OPERATOR, category=category, subject="ベンチマーク（訓練）",
                      body="これは配信性能の測定です。\\n北部地区に避難指示が出ました（訓練）。", via="cli")
print(t0)
"""


def run_django(env: dict[str, str], code: str, *args: str) -> str:
    result = subprocess.run(
        [PY, "-c", "import django; django.setup()\n" + code, *args],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return result.stdout.strip()


def _family(root_pid: int) -> list[int]:
    children = subprocess.run(["pgrep", "-P", str(root_pid)], capture_output=True, text=True)
    return [root_pid] + [int(p) for p in children.stdout.split()]


def memory_mb(root_pid: int) -> tuple[float, float]:
    """(peak RSS, current PSS) summed over a process and its children, in MB.

    RSS (VmHWM, each process's own peak) counts a page shared by the prefork parent and its
    children once in every process that maps it; PSS divides each shared page among them, so
    its sum is what the workers really take from the machine. Both are reported; RSS is the
    figure the issue asks for."""
    rss = pss = 0
    for pid in _family(root_pid):
        try:
            rss += _kb(Path(f"/proc/{pid}/status"), "VmHWM:")
            pss += _kb(Path(f"/proc/{pid}/smaps_rollup"), "Pss:")
        except (FileNotFoundError, ProcessLookupError):
            pass
    return rss / 1024, pss / 1024


def _kb(path: Path, key: str) -> int:
    for line in path.read_text().splitlines():
        if line.startswith(key):
            return int(line.split()[1])
    return 0


def cpu_seconds(root_pid: int) -> float:
    """User + system CPU of a process and its children (live ones and reaped ones)."""
    ticks = 0
    for pid in _family(root_pid):
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            ticks += sum(int(x) for x in fields[11:15])  # utime stime cutime cstime
        except FileNotFoundError:
            pass
    return ticks / os.sysconf("SC_CLK_TCK")


def probe_web(url: str, stop: threading.Event, samples: list[float]) -> None:
    while not stop.is_set():
        started = time.perf_counter()
        try:
            with urllib.request.urlopen(url, timeout=10) as response:
                response.read()
            samples.append((time.perf_counter() - started) * 1000)
        except OSError:
            pass
        stop.wait(0.05)


def run_stack(workdir: Path, stack: str, n: int, concurrency: int, kind: str) -> dict[str, float]:
    sink = sinks.Sink(kind, workdir, f"stack-{stack}")
    web_port = sinks.free_port()
    env = stack_env(workdir / f"home-{stack}", stack, sink.port, web_port)
    processes: list[subprocess.Popen[bytes]] = []
    try:
        subprocess.run(
            [PY, "-m", "anshin.core.cli", "migrate", "--noinput", "-v", "0"], env=env, check=True
        )
        seeded = time.time()
        run_django(env, SEED, str(n))
        print(f"  seeded {n} subscribers in {time.time() - seeded:.1f} s", file=sys.stderr)
        cli = [PY, "-m", "anshin.core.cli"]
        worker = subprocess.Popen(
            [*cli, "worker", "--concurrency", str(concurrency), "--loglevel", "WARNING"], env=env
        )
        web = subprocess.Popen(
            [*cli, "web", "--port", str(web_port), "--workers", "1"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        processes += [worker, web]
        time.sleep(3)  # let the worker connect and the web boot before the clock starts
        samples: list[float] = []
        stop = threading.Event()
        prober = threading.Thread(
            target=probe_web, args=(f"http://127.0.0.1:{web_port}/subscribe/", stop, samples)
        )
        prober.start()
        spy = None
        if PROFILE:
            spy = subprocess.Popen(
                [
                    "py-spy",
                    "record",
                    "--pid",
                    str(worker.pid),
                    "--subprocesses",
                    "--format",
                    "raw",
                    "-o",
                    PROFILE,
                    "--nonblocking",
                ],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        cpu_before = cpu_seconds(worker.pid)
        t0 = float(run_django(env, PUBLISH))
        deadline = time.time() + max(120, n / 200)
        peak = peak_pss = 0.0
        while sink.count() < n and time.time() < deadline:
            rss, pss = memory_mb(worker.pid)
            peak, peak_pss = max(peak, rss), max(peak_pss, pss)
            time.sleep(0.2)
        stop.set()
        prober.join()
        if spy is not None:
            spy.send_signal(signal.SIGINT)
            spy.wait(timeout=30)
        peak = max(peak, memory_mb(worker.pid)[0])
        load = os.getloadavg()[0]
        worker_cpu, sink_cpu = cpu_seconds(worker.pid), cpu_seconds(sink.pid)
        worker_cpu_during = worker_cpu - cpu_before
        print(
            f"  CPU: worker {worker_cpu:.1f} s ({worker_cpu_during:.1f} s during the send), "
            f"sink {sink_cpu:.1f} s; load average {load:.2f}",
            file=sys.stderr,
        )
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(timeout=30)
        times = sink.stop()
        drop_database(env)
    if len(times) < n:
        raise SystemExit(f"only {len(times)} of {n} messages arrived before the deadline")
    latencies = sorted((t - t0) * 1000 for t in times)
    return {
        "msgs_per_s": n / (max(times) - t0),
        "first_ms": latencies[0],
        "p50_ms": statistics.median(latencies),
        "p95_ms": latencies[int(0.95 * (len(latencies) - 1))],
        "peak_rss_mb": peak,
        "peak_pss_mb": peak_pss,
        # The worker's CPU per message (publish to last acceptance, warm-up excluded), and the
        # machine's one-minute load average at the end: on a shared machine the rate alone
        # says little.
        "worker_cpu_us_per_msg": worker_cpu_during / n * 1e6,
        "load_avg_1m": load,
        "web_p95_ms": sorted(samples)[int(0.95 * (len(samples) - 1))] if samples else float("nan"),
        "web_samples": len(samples),
    }


def sample_message() -> bytes:
    env = {
        **os.environ,
        "ANSHIN_HOME": tempfile.mkdtemp(),
        "DJANGO_SETTINGS_MODULE": "anshin.settings",
    }
    code = (
        "from anshin.delivery.render import render_alert; from anshin.alerts.models import Alert, Category; "
        "from anshin.residents.models import Subscriber; import sys\n"
        "s = Subscriber(pk=1, token_key='k' * 32); a = Alert(pk=1, category=Category(slug='bousai', name_ja='防災', name_en='Disaster'), "
        "subject='ベンチマーク（訓練）', body='これは配信性能の測定です。\\n北部地区に避難指示が出ました（訓練）。')\n"
        "sys.stdout.buffer.write(render_alert(a, s, 'resident1@example.jp'))"
    )
    return subprocess.run(
        [PY, "-c", "import django; django.setup()\n" + code],
        env=env,
        capture_output=True,
        check=True,
    ).stdout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--stack", choices=["embedded", "postgres", "both"], default="both")
    parser.add_argument(
        "--concurrency",
        type=int,
        default=2,
        help="worker processes (each keeps ANSHIN_SEND_CONNECTIONS connections busy)",
    )
    parser.add_argument("--skip-floor", action="store_true")
    parser.add_argument(
        "--sink",
        choices=["auto", "smtp-sink", "aiosmtpd"],
        default="auto",
        help="auto: Postfix's smtp-sink when installed, else aiosmtpd",
    )
    parser.add_argument("--profile", help="write py-spy collapsed stacks of the worker here")
    parser.add_argument("--pg-database", help="database name for the postgres stack")
    parser.add_argument("--redis-db", default="14", help="Redis db of the postgres stack")
    args = parser.parse_args()
    global PROFILE, PG_DATABASE, REDIS_DB
    PROFILE, PG_DATABASE, REDIS_DB = args.profile, args.pg_database, args.redis_db
    stacks = ["embedded", "postgres"] if args.stack == "both" else [args.stack]
    with tempfile.TemporaryDirectory(prefix="anshin-bench-") as tmp:
        workdir = Path(tmp)
        kind = sinks.choose(args.sink)
        # Each worker process keeps ANSHIN_SEND_CONNECTIONS connections busy; the floor gets as
        # many connections in all.
        connections = args.concurrency * int(os.environ.get("ANSHIN_SEND_CONNECTIONS", "2"))
        message = sample_message()
        floors = {"floor": float("nan"), "floor_pipelined": float("nan")}
        if not args.skip_floor:
            floors["floor"] = measure_floor(workdir, args.n, connections, message, kind, False)
            if kind == "smtp-sink":  # aiosmtpd offers no PIPELINING
                floors["floor_pipelined"] = measure_floor(
                    workdir, args.n, connections, message, kind, True
                )
        print(
            f"sink: {kind}; floor over {connections} connections (pre-rendered sender): "
            f"{floors['floor']:,.0f} msgs/s smtplib, {floors['floor_pipelined']:,.0f} pipelined"
        )
        results = []
        for stack in stacks:
            figures = run_stack(workdir, stack, args.n, args.concurrency, kind)
            result: dict[str, object] = {"stack": stack, "n": args.n, "sink": kind}
            result["connections"] = connections
            for name, floor in floors.items():
                suffix = name.removeprefix("floor")
                result[f"floor{suffix}_msgs_per_s"] = round(floor, 1)
                ratio = figures["msgs_per_s"] / floor if floor == floor else None
                result[f"ratio{suffix}"] = round(ratio, 3) if ratio is not None else None
            result.update({k: round(v, 1) for k, v in figures.items()})
            results.append(result)
            print(
                f"{stack:9} {figures['msgs_per_s']:>9,.0f} msgs/s  ratio {result['ratio']} "
                f"(pipelined floor: {result['ratio_pipelined']})  "
                f"first {figures['first_ms']:,.0f} ms  p50 {figures['p50_ms']:,.0f} ms  "
                f"p95 {figures['p95_ms']:,.0f} ms  worker peak RSS {figures['peak_rss_mb']:.0f} MB "
                f"(PSS {figures['peak_pss_mb']:.0f} MB)  "
                f"web p95 {figures['web_p95_ms']:.0f} ms"
            )
        for result in results:
            print(json.dumps(result))


if __name__ == "__main__":
    main()
