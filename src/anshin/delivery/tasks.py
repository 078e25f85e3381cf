"""Celery tasks: thin entry points that carry ids only and call one service each."""

from __future__ import annotations

from typing import Any

from celery import shared_task
from celery.signals import worker_process_init

from anshin.delivery import render, services


@worker_process_init.connect
def _warm_up(**_kwargs: Any) -> None:
    """As each pool process starts, not in the parent: the parent never sends, and what it
    loaded would count again in every child's memory."""
    render.warm_up()


@shared_task(name="anshin.delivery.fan_out")
def fan_out(delivery_id: int) -> None:
    services.delivery_fan_out(delivery_id=delivery_id)


@shared_task(name="anshin.delivery.send_batch")
def send_batch(delivery_id: int, first_id: int, last_id: int) -> None:
    services.send_batch(delivery_id=delivery_id, first_id=first_id, last_id=last_id)


@shared_task(name="anshin.notification.send")
def send_notification(notification_id: int) -> None:
    services.notification_send(notification_id=notification_id)


@shared_task(name="anshin.bulk.send_notifications")
def send_notification_batch(first_id: int, last_id: int) -> None:
    """Bulk notices (migration, receipt check, pause) of one id range: on the bulk queue."""
    services.notification_send_batch(first_id=first_id, last_id=last_id)
