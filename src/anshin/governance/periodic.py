"""The governance app's scheduler jobs: the nightly retention purge (at most once a day) and
the review prompt of the incident register."""

from __future__ import annotations

from anshin.core.periodic import periodic_job
from anshin.governance.incidents import incidents_flag_overdue
from anshin.governance.services import retention_daily


@periodic_job
def retention_nightly() -> dict[str, int]:
    return retention_daily()


@periodic_job
def incidents_review_prompt() -> dict[str, int]:
    return {"incidents_flagged": incidents_flag_overdue()}
