"""The governance app's scheduler job: the nightly retention purge (at most once a day)."""

from __future__ import annotations

from anshin.core.periodic import periodic_job
from anshin.governance.services import retention_daily


@periodic_job
def retention_nightly() -> dict[str, int]:
    return retention_daily()
