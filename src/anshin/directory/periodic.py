"""The staff directory's scheduler jobs: call-out rows to re-queue, reminders that are due."""

from __future__ import annotations

from anshin.core.periodic import periodic_job
from anshin.directory.callouts.sending import callout_reconcile
from anshin.directory.callouts.services import callout_auto_remind

periodic_job(callout_reconcile)
periodic_job(callout_auto_remind)
