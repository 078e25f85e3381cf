from __future__ import annotations

from anshin.core.periodic import periodic_job
from anshin.delivery.services import reconcile

periodic_job(reconcile)
