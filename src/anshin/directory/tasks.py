"""Celery tasks of the staff directory: thin entry points that carry ids only. Named
``anshin.callout.*``, they go to the default ``alerts`` queue: a call-out is as urgent as an
alert."""

from __future__ import annotations

from celery import shared_task


@shared_task(name="anshin.callout.send_mail")
def send_mail(callout_id: int, first_id: int, last_id: int) -> None:
    # Imported here, not above: sending needs the SMS gateway's library (Apprise, about 8 MB),
    # which a worker that never sends a call-out should not load.
    from anshin.directory.callouts import sending

    sending.callout_send_mail(callout_id=callout_id, first_id=first_id, last_id=last_id)


@shared_task(name="anshin.callout.send_sms")
def send_sms(callout_id: int, first_id: int, last_id: int) -> None:
    from anshin.directory.callouts import sending

    sending.callout_send_sms(callout_id=callout_id, first_id=first_id, last_id=last_id)
