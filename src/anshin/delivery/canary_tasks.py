"""The Celery task of canary mail (test addresses). Its own module because
anshin.delivery.tasks belongs to the resident delivery; imported by anshin.delivery.canaries,
which the delivery services import, so every worker registers it."""

from __future__ import annotations

from celery import shared_task


@shared_task(name="anshin.delivery.send_canaries")
def send_canaries(alert_id: int) -> None:
    """Send the alert's due canary mail (on the alerts queue, like the alert itself)."""
    from anshin.delivery.canaries import canary_send

    canary_send(alert_id=alert_id)
