"""Configuring channels and posting alerts to them.

Publishing an alert creates one post row per enabled channel of its category (unique per
alert and channel) and queues the task ``anshin.channels.post`` with the row id after commit.
The task claims the row with a conditional update (queued/retrying → posting), posts, and
records the platform's answer: posted, retrying later with backoff, or failed. The
reconciler (:func:`channels_reconcile`, a periodic job) re-queues lost task messages and due
retries, releases rows whose worker died, creates rows the publishing process did not live to
create, and marks rows of stopped or expired alerts as not posted: an alert is never posted
late.
"""

from __future__ import annotations

import functools
import logging
import unicodedata
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F, Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from anshin.alerts.models import Alert, Category
from anshin.channels import transport
from anshin.channels.models import LABEL_MAX, REASON_MAX, URL_CONTEXT, Channel, Post
from anshin.channels.text import alert_marks, post_text
from anshin.core import crypto
from anshin.core.audit import Actor, audit_record

log = logging.getLogger(__name__)

State = Post.State
REQUEUE_LIMIT = 5000


# --- channels --------------------------------------------------------------------------------


def channel_create(
    *, actor: Actor, category: Category, kind: str, label: str, url: str, enabled: bool = True
) -> Channel:
    """Add a channel. The URL is checked with Apprise and stored encrypted; the audit names
    the channel by id and service only."""
    label, url = clean_label(label), clean_url(kind, url)
    with transaction.atomic():
        channel = Channel.objects.create(
            category=category,
            kind=kind,
            label=label,
            url_ciphertext=crypto.encrypt(url, context=URL_CONTEXT),
            url_masked=transport.masked(kind, url),
            enabled=enabled,
            created_by=actor.user,
        )
        details = {"category": category.slug, "kind": kind, "enabled": enabled}
        audit_record(actor=actor, action="channel.create", target=channel, details=details)
    return channel


def channel_update(
    *, actor: Actor, channel: Channel, label: str, enabled: bool, url: str = ""
) -> Channel:
    """Rename, enable or disable a channel, and replace its URL when a new one is given (an
    empty `url` keeps the stored one: it is never shown back to be re-entered)."""
    label = clean_label(label)
    fields: dict[str, Any] = {"label": label, "enabled": enabled}
    if url.strip():
        url = clean_url(channel.kind, url)
        fields.update(
            url_ciphertext=crypto.encrypt(url, context=URL_CONTEXT),
            url_masked=transport.masked(channel.kind, url),
        )
    changed = sorted(
        name for name in ("label", "enabled") if getattr(channel, name) != fields[name]
    ) + (["url"] if "url_ciphertext" in fields else [])
    with transaction.atomic():
        Channel.objects.filter(pk=channel.pk).update(updated_at=timezone.now(), **fields)
        audit_record(
            actor=actor, action="channel.update", target=channel, details={"changed": changed}
        )
    channel.refresh_from_db()
    return channel


def clean_label(label: str) -> str:
    label = label.strip()
    if not label:
        raise ValidationError({"label": _("Enter a name for the channel.")})
    if len(label) > LABEL_MAX or any(unicodedata.category(c).startswith("C") for c in label):
        raise ValidationError(
            {"label": _("Use at most %(max)d characters, on one line.") % {"max": LABEL_MAX}}
        )
    return label


def clean_url(kind: str, url: str) -> str:
    url = url.strip()
    if kind not in transport.PLUGINS:
        raise ValidationError({"kind": _("Choose a service.")})
    problem = transport.url_problem(kind, url) if url else _("Enter the channel's Apprise URL.")
    if problem:
        raise ValidationError({"url": problem})
    return url


# --- creating and queueing posts -------------------------------------------------------------


def alert_link(alert_id: int) -> str:
    """The alert's public page: what every post links to."""
    return settings.BASE_URL + reverse("alerts:detail", args=[alert_id])


def text_for(alert: Alert, kind: str, *, link: str) -> str:
    marks = alert_marks(status=alert.status, msg_type=alert.msg_type)
    return post_text(kind=kind, subject=alert.subject, body=alert.body, marks=marks, link=link)


def alert_posts_create(*, alert: Alert) -> int:
    """One post per enabled channel of the alert's category, queued after commit; called by
    alert_publish once the alert is committed. A failure here never undoes the publication:
    it is logged and the reconciler creates the rows on its next run. Returns rows queued."""
    try:
        with transaction.atomic():
            return _create_posts(alert, timezone.now())
    except Exception as exc:  # the alert is out; its social posts must not take it back
        log.warning("Social posts for alert %s postponed: %s", alert.pk, type(exc).__name__)
        return 0


def _create_posts(alert: Alert, now: datetime) -> int:
    if _too_late(alert, now) or alert.published_at is None:
        return 0
    # A channel added after the alert was published does not receive it late.
    channels = Channel.objects.filter(
        category_id=alert.category_id, enabled=True, created_at__lte=alert.published_at
    )
    link = alert_link(alert.pk)
    rows = [Post(alert=alert, channel=c, text=text_for(alert, c.kind, link=link)) for c in channels]
    Post.objects.bulk_create(rows, ignore_conflicts=True)
    return _queue(Post.objects.filter(alert=alert, state=State.QUEUED, enqueued_at__isnull=True))


def _queue(rows: Any) -> int:
    """Mark rows as handed to the broker and queue one task each, after commit."""
    from anshin.channels import tasks

    ids = list(rows.order_by("pk").values_list("pk", flat=True)[:REQUEUE_LIMIT])
    Post.objects.filter(pk__in=ids).update(enqueued_at=timezone.now())
    for pk in ids:
        transaction.on_commit(functools.partial(tasks.post.delay, pk))
    return len(ids)


def _too_late(alert: Alert, now: datetime) -> bool:
    return alert.stopped_at is not None or (
        alert.expires_at is not None and alert.expires_at <= now
    )


# --- posting -----------------------------------------------------------------------------------


def post_send(*, post_id: int) -> str:
    """Post one row if it is still due; returns the state it ends in (for logs and tests)."""
    now = timezone.now()
    claimed = Post.objects.filter(
        Q(state=State.QUEUED) | Q(state=State.RETRYING, next_attempt_at__lte=now), pk=post_id
    ).update(
        state=State.POSTING,
        attempts=F("attempts") + 1,
        leased_until=now + timedelta(seconds=settings.CHANNEL_LEASE_SECONDS),
        enqueued_at=None,
    )
    if not claimed:  # posted, failed, or claimed by another worker meanwhile
        return ""
    post = Post.objects.select_related("alert", "channel").get(pk=post_id)
    skip = _skip_reason(post, now)
    if skip:
        return _finish(post, State.SKIPPED, status=None, reason=skip)
    url = crypto.decrypt(bytes(post.channel.url_ciphertext), context=URL_CONTEXT)
    return _record(post, transport.post(kind=post.channel.kind, url=url, text=post.text))


def _skip_reason(post: Post, now: datetime) -> str:
    if post.alert.stopped_at is not None:
        return "alert stopped"
    if post.alert.expires_at is not None and post.alert.expires_at <= now:
        return "alert expired"
    return "" if post.channel.enabled else "channel disabled"


def _record(post: Post, result: transport.PostResult) -> str:
    now = timezone.now()
    if result.outcome == "posted":
        return _finish(post, State.POSTED, status=result.status, reason=result.reason)
    retry_at = now + backoff(post.attempts)
    expires = post.alert.expires_at
    last_try = post.attempts >= settings.CHANNEL_MAX_ATTEMPTS
    if result.outcome == "permanent" or last_try or (expires and retry_at >= expires):
        return _finish(post, State.FAILED, status=result.status, reason=result.reason)
    Post.objects.filter(pk=post.pk, state=State.POSTING, attempts=post.attempts).update(
        state=State.RETRYING,
        next_attempt_at=retry_at,
        leased_until=None,
        status_code=result.status,
        reason=result.reason[:REASON_MAX],
    )
    log.info("Social post %s will be retried: %s", post.pk, result.reason)
    return State.RETRYING


def _finish(post: Post, state: str, *, status: int | None, reason: str) -> str:
    """Record the end of an attempt, only if this worker still holds the row."""
    Post.objects.filter(pk=post.pk, state=State.POSTING, attempts=post.attempts).update(
        state=state,
        status_code=status,
        reason=reason[:REASON_MAX],
        leased_until=None,
        next_attempt_at=None,
        finished_at=timezone.now(),
    )
    log.info("Social post %s on channel %s: %s (%s)", post.pk, post.channel_id, state, reason)
    return state


def backoff(attempts: int) -> timedelta:
    seconds = settings.CHANNEL_RETRY_BASE_SECONDS * 2 ** max(attempts - 1, 0)
    return timedelta(seconds=min(seconds, settings.CHANNEL_RETRY_MAX_SECONDS))


def post_retry(*, actor: Actor, post: Post) -> bool:
    """Staff ask for a failed (or waiting) post to be tried again now, with fresh attempts.
    Refused for a stopped or expired alert. Returns whether the post was queued."""
    if _too_late(post.alert, timezone.now()):
        raise ValidationError(_("The alert was stopped or has expired: it is not posted late."))
    with transaction.atomic():
        updated = Post.objects.filter(pk=post.pk, state__in=[State.FAILED, State.RETRYING]).update(
            state=State.QUEUED,
            attempts=0,
            next_attempt_at=None,
            enqueued_at=None,
            finished_at=None,
            status_code=None,
            reason="",
        )
        if not updated:
            return False
        details = {"alert": post.alert_id, "channel": post.channel_id}
        audit_record(actor=actor, action="channel_post.retry", target=post, details=details)
        _queue(Post.objects.filter(pk=post.pk, state=State.QUEUED))
    return True


# --- reconciler --------------------------------------------------------------------------------


def channels_reconcile() -> dict[str, int]:
    """Re-derive from the database what is unfinished. Safe at any time, often, twice at once
    (every claim and every finish is conditional)."""
    now = timezone.now()
    return {
        "released": _release_lost(now),
        "skipped": _skip_late(now),
        "created": _catch_up(now),
        "queued": _requeue(now),
    }


def _release_lost(now: datetime) -> int:
    """Rows whose worker died mid-post: tried again (the platform may have the post already;
    a duplicate is better than a lost alert), unless their attempts are used up."""
    lost = Post.objects.filter(state=State.POSTING, leased_until__lt=now)
    failed = lost.filter(attempts__gte=settings.CHANNEL_MAX_ATTEMPTS).update(
        state=State.FAILED, reason="worker lost", leased_until=None, finished_at=now
    )
    released = lost.update(
        state=State.RETRYING, next_attempt_at=now, leased_until=None, enqueued_at=None
    )
    return failed + released


def _skip_late(now: datetime) -> int:
    waiting = Post.objects.filter(state__in=[State.QUEUED, State.RETRYING])
    skipped = 0
    for reason, late in (
        ("alert stopped", Q(alert__stopped_at__isnull=False)),
        ("alert expired", Q(alert__expires_at__lte=now)),
    ):
        skipped += waiting.filter(late).update(
            state=State.SKIPPED, reason=reason, next_attempt_at=None, finished_at=now
        )
    return skipped


def _catch_up(now: datetime) -> int:
    """Rows for alerts published moments ago whose publishing process died before creating
    them (the window is short: an old alert is not posted because a channel appeared). An
    alert's rows are created in one transaction, so an alert with any row has them all."""
    since = now - timedelta(seconds=settings.CHANNEL_CATCH_UP_SECONDS)
    recent = (
        Alert.objects.filter(
            published_at__gte=since,
            stopped_at__isnull=True,
            expires_at__gt=now,
            category__social_channels__enabled=True,
        )
        .exclude(social_posts__isnull=False)
        .distinct()
    )
    return sum(alert_posts_create(alert=alert) for alert in recent)


def _requeue(now: datetime) -> int:
    stale = now - timedelta(seconds=settings.REQUEUE_AFTER_SECONDS)
    due = Post.objects.filter(
        Q(state=State.QUEUED) | Q(state=State.RETRYING, next_attempt_at__lte=now),
        Q(enqueued_at__isnull=True) | Q(enqueued_at__lt=stale),
    )
    with transaction.atomic():
        return _queue(due)
