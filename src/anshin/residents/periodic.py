"""The residents app's scheduler jobs: the yearly receipt check moves forward by itself."""

from __future__ import annotations

from anshin.core.periodic import periodic_job
from anshin.residents.receipts import receipt_checks_run


@periodic_job
def receipt_checks() -> dict[str, int]:
    return receipt_checks_run()
