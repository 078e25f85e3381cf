"""Jobs the scheduler runs every few seconds. Each app that has some registers them in its
own ``periodic`` module; the scheduler imports those modules and runs every job in turn.

A job re-derives what to do from the database and is safe to run at any time, often, and on
two schedulers at once: the scheduler is not a source of truth, only a clock.
"""

from __future__ import annotations

from collections.abc import Callable

from django.utils.module_loading import autodiscover_modules

Job = Callable[[], dict[str, int]]
_jobs: dict[str, Job] = {}


def periodic_job(func: Job) -> Job:
    """Register a job; it returns counts of what it did, logged when any is non-zero."""
    _jobs[f"{func.__module__}.{func.__qualname__}"] = func
    return func


def periodic_jobs() -> dict[str, Job]:
    autodiscover_modules("periodic")
    return dict(_jobs)
