"""The Celery application. Messages carry row ids only; the database is the truth.

Embedded default: kombu's filesystem:// transport under $ANSHIN_HOME/queue (no server);
operators set ANSHIN_BROKER_URL to Redis or RabbitMQ. Configuration is read lazily from the
CELERY_* names in anshin.settings.
"""

from __future__ import annotations

import gc
import os
from typing import Any

from celery import Celery
from celery.signals import worker_before_create_process

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "anshin.settings")
# Celery's Django fixup runs Django's system checks as a worker starts, and the URL checks
# import the whole URLconf — every view, the API, the admin: about 20 MB in the worker and
# again in each of its pool processes, none of which serves a page. `anshin check` (and every
# other command) runs the checks; `anshin worker` does not (requires_system_checks = []).
os.environ.setdefault("CELERY_SKIP_CHECKS", "1")

app = Celery("anshin")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks(["anshin.channels", "anshin.delivery", "anshin.directory"])


@worker_before_create_process.connect
def _freeze_before_fork(**_kwargs: Any) -> None:
    """Move everything the worker has loaded out of the collector's sight before a pool process
    is forked: a collection in the child would otherwise write to every page holding an object
    of the parent's (its GC header), and the kernel would copy each such page into the child.
    Frozen, those pages stay shared between the parent and all its children."""
    gc.freeze()


def run_worker(*, queues: list[str], concurrency: int, loglevel: str) -> int:
    """Run a worker until it is stopped; returns its exit code.

    What `celery worker` does after parsing its command line, without the command line:
    `app.worker_main` goes through celery's click CLI, which imports every celery subcommand
    (an interactive shell with prompt_toolkit, pygments, …): about 9 MB in the worker and in
    each pool process, for nothing a worker does. Gossip, mingle and heartbeats are off (the
    database is the truth, not the workers' view of each other) and the prefetch is 1.
    """
    worker = app.Worker(
        queues=queues,
        concurrency=concurrency,
        loglevel=loglevel,
        without_gossip=True,
        without_mingle=True,
        without_heartbeat=True,
        prefetch_multiplier=1,
    )
    worker.start()
    return int(worker.exitcode or 0)
