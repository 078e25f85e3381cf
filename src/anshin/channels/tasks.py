"""Celery task: a thin entry point that carries the post row's id only."""

from __future__ import annotations

from celery import shared_task


@shared_task(name="anshin.channels.post")
def post(post_id: int) -> None:
    """On the default (alerts) queue: a social post is part of getting the alert out.

    The services (and Apprise with its plugins, several MB) are imported on the first post,
    not when the worker starts: most workers only ever send mail."""
    from anshin.channels import services

    services.post_send(post_id=post_id)
