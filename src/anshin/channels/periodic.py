"""The scheduler's job for social posts: lost task messages, due retries, dead workers."""

from __future__ import annotations

from anshin.channels.services import channels_reconcile
from anshin.core.periodic import periodic_job

periodic_job(channels_reconcile)
