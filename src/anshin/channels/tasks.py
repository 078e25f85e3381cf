"""Celery task: a thin entry point that carries the post row's id only."""

from __future__ import annotations

from celery import shared_task

from anshin.channels import services


@shared_task(name="anshin.channels.post")
def post(post_id: int) -> None:
    """On the default (alerts) queue: a social post is part of getting the alert out."""
    services.post_send(post_id=post_id)
