"""Publishing an alert posts it to each enabled channel of its category, through the task and
the state machine: retries with backoff, failures, lost messages and workers, stopped and
expired alerts, staff retry. Against the fake servers, with eager Celery."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from anshin.alerts.models import Alert, CapStatus, Category
from anshin.alerts.services import CapChoices, alert_publish, alert_stop
from anshin.channels import services, tasks
from anshin.channels.models import URL_CONTEXT, Channel, Post
from anshin.channels.services import (
    alert_link,
    alert_posts_create,
    channel_create,
    channel_update,
    channels_reconcile,
    post_retry,
    post_send,
)
from anshin.channels.tests.conftest import SECRETS, SERVICES, AddChannel, Service
from anshin.core import crypto
from anshin.core.audit import OPERATOR
from anshin.core.celery_app import app
from anshin.core.models import AuditEvent

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("smtp_sink", "fast_retries")]
State = Post.State
Publish = Callable[..., Alert]


@pytest.fixture
def publish(categories: dict[str, Category], django_capture_on_commit_callbacks: Any) -> Publish:
    def run(slug: str = "bousai", **kwargs: Any) -> Alert:
        with django_capture_on_commit_callbacks(execute=True):
            return alert_publish(
                actor=OPERATOR,
                category=categories[slug],
                subject=kwargs.pop("subject", "避難所を開設しました"),
                body=kwargs.pop("body", "第一小学校の体育館を避難所として開設しました。"),
                via=Alert.Via.CLI,
                **kwargs,
            )

    return run


@pytest.fixture
def reconcile(django_capture_on_commit_callbacks: Any) -> Callable[[], dict[str, int]]:
    def run() -> dict[str, int]:
        with django_capture_on_commit_callbacks(execute=True):
            return channels_reconcile()

    return run


def test_publishing_posts_to_every_enabled_channel_of_the_category(
    request: pytest.FixtureRequest, add_channel: AddChannel, publish: Publish
) -> None:
    services_ = [request.getfixturevalue(name) for name in SERVICES]
    for service in services_:
        add_channel(service)
    x = services_[0]
    add_channel(x, slug="bouhan")  # another category
    off = add_channel(x, label="disabled")
    Channel.objects.filter(pk=off.pk).update(enabled=False)

    alert = publish(cap=CapChoices(status=CapStatus.EXERCISE))

    posts = list(Post.objects.filter(alert=alert).select_related("channel"))
    assert sorted(p.channel.kind for p in posts) == sorted(s.kind for s in services_)
    assert {p.state for p in posts} == {State.POSTED}
    for service in services_:
        [text] = service.posted_texts()
        assert text.startswith("【訓練】避難所を開設しました\n")
        assert text.endswith("\n" + alert_link(alert.pk))
    assert [p.attempts for p in posts] == [1] * 6
    assert all(p.status_code in (200, 201) and p.finished_at for p in posts)


def test_the_link_is_the_alerts_public_page(
    x_service: Service, add_channel: AddChannel, publish: Publish, settings: Any, client: Any
) -> None:
    settings.BASE_URL = "https://anshin.city.example.jp"
    add_channel(x_service)
    alert = publish()

    assert x_service.posted_texts()[0].endswith(
        f"\nhttps://anshin.city.example.jp/alerts/{alert.pk}/"
    )
    assert client.get(f"/alerts/{alert.pk}/", HTTP_HOST="127.0.0.1").status_code == 200


def test_a_post_is_made_once_per_alert_and_channel(
    x_service: Service, add_channel: AddChannel, publish: Publish, reconcile: Any
) -> None:
    add_channel(x_service)
    alert = publish()

    assert alert_posts_create(alert=alert) == 0
    reconcile()
    tasks.post(Post.objects.get().pk)  # a duplicated task message

    assert Post.objects.count() == 1
    assert len(x_service.posted_texts()) == 1


def test_task_carries_the_row_id_only_on_the_alerts_queue(
    x_service: Service, add_channel: AddChannel, publish: Publish, monkeypatch: Any
) -> None:
    add_channel(x_service)
    sent: list[tuple[Any, ...]] = []
    monkeypatch.setattr(tasks.post, "delay", lambda *args, **kw: sent.append((args, kw)))

    alert = publish()

    assert sent == [((Post.objects.get(alert=alert).pk,), {})]
    assert tasks.post.name == "anshin.channels.post"
    assert app.amqp.router.route({}, "anshin.channels.post")["queue"].name == "alerts"


def test_overloaded_platform_is_retried_with_backoff_then_posted(
    mastodon_service: Service,
    add_channel: AddChannel,
    publish: Publish,
    reconcile: Any,
    settings: Any,
) -> None:
    settings.CHANNEL_RETRY_BASE_SECONDS = 60
    settings.CHANNEL_RETRY_MAX_SECONDS = 600
    add_channel(mastodon_service)
    mastodon_service.fake.fail_with(503)

    before = timezone.now()
    alert = publish()
    post = Post.objects.get(alert=alert)
    assert (post.state, post.attempts, post.status_code) == (State.RETRYING, 1, 503)
    assert post.reason == "HTTP 503 Service Unavailable"
    assert post.next_attempt_at is not None
    wait = post.next_attempt_at - before
    assert timedelta(seconds=59) < wait < timedelta(seconds=61) + (timezone.now() - before)

    reconcile()  # not due yet
    assert Post.objects.get(pk=post.pk).attempts == 1

    mastodon_service.fake.fail_with(None)
    Post.objects.filter(pk=post.pk).update(next_attempt_at=timezone.now())
    reconcile()
    post.refresh_from_db()
    assert (post.state, post.attempts, post.status_code) == (State.POSTED, 2, 200)
    assert len(mastodon_service.posted_texts()) == 1


def test_backoff_doubles_up_to_the_maximum(settings: Any) -> None:
    settings.CHANNEL_RETRY_BASE_SECONDS = 30
    settings.CHANNEL_RETRY_MAX_SECONDS = 900
    assert [services.backoff(n).total_seconds() for n in range(1, 8)] == [
        30,
        60,
        120,
        240,
        480,
        900,
        900,
    ]


def test_refusing_platform_fails_at_once(
    line_service: Service, add_channel: AddChannel, publish: Publish
) -> None:
    add_channel(line_service)
    line_service.fake.fail_with(401, b'{"message": "Authentication failed"}')

    post = Post.objects.get(alert=publish())

    assert (post.state, post.attempts, post.status_code) == (State.FAILED, 1, 401)
    assert post.reason == "HTTP 401 Unauthorized"
    assert post.next_attempt_at is None


def test_attempts_are_bounded(
    slack_service: Service, add_channel: AddChannel, publish: Publish, reconcile: Any, settings: Any
) -> None:
    settings.CHANNEL_MAX_ATTEMPTS = 3
    add_channel(slack_service)
    slack_service.fake.fail_with(500)

    post = Post.objects.get(alert=publish())
    for _ in range(5):
        reconcile()
    post.refresh_from_db()

    assert (post.state, post.attempts) == (State.FAILED, 3)
    assert len(slack_service.fake.received) == 3


def test_no_retry_is_planned_past_the_alerts_expiry(
    mastodon_service: Service, add_channel: AddChannel, publish: Publish, settings: Any
) -> None:
    settings.CHANNEL_RETRY_BASE_SECONDS = 48 * 3600
    settings.CHANNEL_RETRY_MAX_SECONDS = 48 * 3600
    add_channel(mastodon_service)
    mastodon_service.fake.fail_with(503)

    post = Post.objects.get(alert=publish())

    assert (post.state, post.reason) == (State.FAILED, "HTTP 503 Service Unavailable")


def test_a_stopped_alert_is_not_posted_late(
    x_service: Service, add_channel: AddChannel, publish: Publish, reconcile: Any, monkeypatch: Any
) -> None:
    add_channel(x_service)
    monkeypatch.setattr(tasks.post, "delay", lambda *a, **k: None)  # the message is slow
    alert = publish()
    alert_stop(actor=OPERATOR, alert=alert)

    post_send(post_id=Post.objects.get().pk)  # the message arrives after the stop

    post = Post.objects.get()
    assert (post.state, post.reason) == (State.SKIPPED, "alert stopped")
    assert x_service.fake.received == []


def test_waiting_posts_of_expired_or_stopped_alerts_are_marked_by_the_reconciler(
    x_service: Service, add_channel: AddChannel, publish: Publish, reconcile: Any, monkeypatch: Any
) -> None:
    add_channel(x_service)
    x_service.fake.fail_with(503)
    expired, stopped = publish(), publish()
    Alert.objects.filter(pk=expired.pk).update(expires_at=timezone.now())
    Alert.objects.filter(pk=stopped.pk).update(stopped_at=timezone.now())
    Post.objects.update(next_attempt_at=timezone.now())
    x_service.fake.fail_with(None)

    assert reconcile()["skipped"] == 2

    assert dict(Post.objects.values_list("alert_id", "reason")) == {
        expired.pk: "alert expired",
        stopped.pk: "alert stopped",
    }
    assert x_service.posted_texts() == []


def test_a_lost_task_message_is_queued_again(
    webhook_service: Service,
    add_channel: AddChannel,
    publish: Publish,
    reconcile: Any,
    monkeypatch: Any,
    settings: Any,
) -> None:
    add_channel(webhook_service)
    with monkeypatch.context() as patch:
        patch.setattr(tasks.post, "delay", lambda *a, **k: None)  # the broker lost it
        alert = publish()
    assert Post.objects.get().state == State.QUEUED

    reconcile()  # handed over moments ago: not yet given up on
    assert Post.objects.get().state == State.QUEUED
    Post.objects.update(
        enqueued_at=timezone.now() - timedelta(seconds=settings.REQUEUE_AFTER_SECONDS + 1)
    )
    reconcile()

    assert Post.objects.get(alert=alert).state == State.POSTED
    assert len(webhook_service.posted_texts()) == 1


def test_a_post_whose_worker_died_is_tried_again(
    webhook_service: Service,
    add_channel: AddChannel,
    publish: Publish,
    reconcile: Any,
    monkeypatch: Any,
) -> None:
    add_channel(webhook_service)
    with monkeypatch.context() as patch:
        patch.setattr(tasks.post, "delay", lambda *a, **k: None)
        publish()
    Post.objects.update(
        state=State.POSTING, attempts=1, leased_until=timezone.now() - timedelta(seconds=1)
    )

    result = reconcile()

    assert result["released"] == 1
    post = Post.objects.get()
    assert (post.state, post.attempts) == (State.POSTED, 2)


def test_posts_the_publishing_process_did_not_create_are_made_by_the_reconciler(
    x_service: Service, add_channel: AddChannel, publish: Publish, reconcile: Any, monkeypatch: Any
) -> None:
    add_channel(x_service)
    with monkeypatch.context() as patch:
        patch.setattr(services, "alert_posts_create", lambda **kw: 0)  # died right after commit
        alert = publish()
    assert not Post.objects.exists()

    reconcile()

    assert Post.objects.get(alert=alert).state == State.POSTED
    assert len(x_service.posted_texts()) == 1


def test_a_channel_added_later_does_not_post_older_alerts(
    x_service: Service,
    mastodon_service: Service,
    add_channel: AddChannel,
    publish: Publish,
    reconcile: Any,
) -> None:
    add_channel(x_service)
    alert = publish()
    add_channel(mastodon_service)

    reconcile()

    assert [p.channel.kind for p in Post.objects.filter(alert=alert)] == ["twitter"]
    assert mastodon_service.fake.received == []


def test_publishing_never_fails_because_of_channels(
    x_service: Service, add_channel: AddChannel, publish: Publish, monkeypatch: Any
) -> None:
    add_channel(x_service)
    monkeypatch.setattr(services, "_create_posts", lambda *a: 1 / 0)

    alert = publish()

    assert Alert.objects.filter(pk=alert.pk, published_at__isnull=False).exists()
    assert not Post.objects.exists()


def test_staff_retry_of_a_failed_post_is_audited_and_posts(
    line_service: Service,
    add_channel: AddChannel,
    publish: Publish,
    django_capture_on_commit_callbacks: Any,
) -> None:
    add_channel(line_service)
    line_service.fake.fail_with(403)
    post = Post.objects.get(alert=publish())
    assert post.state == State.FAILED
    line_service.fake.fail_with(None)

    with django_capture_on_commit_callbacks(execute=True):
        assert post_retry(actor=OPERATOR, post=post)

    post.refresh_from_db()
    assert (post.state, post.attempts, post.status_code) == (State.POSTED, 1, 200)
    event = AuditEvent.objects.get(action="channel_post.retry")
    assert event.details == {"alert": post.alert_id, "channel": post.channel_id}
    assert (event.target_type, event.target_id) == ("channels.post", str(post.pk))


def test_retry_is_refused_for_a_posted_post_and_for_a_stopped_alert(
    line_service: Service, add_channel: AddChannel, publish: Publish
) -> None:
    add_channel(line_service)
    alert = publish()
    post = Post.objects.get(alert=alert)
    assert not post_retry(actor=OPERATOR, post=post)  # already posted

    Post.objects.filter(pk=post.pk).update(state=State.FAILED)
    alert_stop(actor=OPERATOR, alert=alert)
    post.refresh_from_db()
    with pytest.raises(ValidationError):
        post_retry(actor=OPERATOR, post=post)

    assert Post.objects.get(pk=post.pk).state == State.FAILED
    assert not AuditEvent.objects.filter(action="channel_post.retry").exists()
    assert len(line_service.posted_texts()) == 1


# --- channels ------------------------------------------------------------------------------


def test_channel_url_is_stored_encrypted_and_audited_without_it(
    x_service: Service, categories: dict[str, Category]
) -> None:
    channel = channel_create(
        actor=OPERATOR,
        category=categories["bousai"],
        kind="twitter",
        label="市公式X",
        url=x_service.url,
    )

    stored = bytes(Channel.objects.get(pk=channel.pk).url_ciphertext)
    assert not any(secret.encode() in stored for secret in SECRETS)
    assert crypto.decrypt(stored, context=URL_CONTEXT) == x_service.url
    assert channel.url_masked == "twitter://****"
    event = AuditEvent.objects.get(action="channel.create")
    assert event.details == {"category": "bousai", "kind": "twitter", "enabled": True}
    assert not any(secret in str(event.details) for secret in SECRETS)


@pytest.mark.parametrize(
    ("kind", "url", "field"),
    [
        ("twitter", "twitter://a/b", "url"),
        ("twitter", "twitter://a/b/c/d?mode=dm", "url"),
        ("mastodon", "twitter://a/b/c/d", "url"),
        ("webhook", "mailto://u:p@example.com", "url"),
        ("webhook", "", "url"),
        ("webhook", "json://x/" + "a" * 3000, "url"),
        ("webhook", "json://x/\u202e", "url"),
        ("sms", "json://x/", "kind"),
    ],
)
def test_unusable_channels_are_refused_and_nothing_saved(
    categories: dict[str, Category], kind: str, url: str, field: str
) -> None:
    with pytest.raises(ValidationError) as refused:
        channel_create(actor=OPERATOR, category=categories["bousai"], kind=kind, label="x", url=url)

    assert list(refused.value.message_dict) == [field]
    assert not Channel.objects.exists()
    assert not AuditEvent.objects.filter(action="channel.create").exists()


def test_update_keeps_the_url_unless_a_new_one_is_given(
    x_service: Service, add_channel: AddChannel
) -> None:
    channel = add_channel(x_service)
    before = bytes(channel.url_ciphertext)

    channel_update(actor=OPERATOR, channel=channel, label="新しい名前", enabled=False)
    assert bytes(Channel.objects.get().url_ciphertext) == before
    new_url = x_service.url.replace("xAccessSecret0004", "xAccessSecret0099")
    channel_update(actor=OPERATOR, channel=channel, label="新しい名前", enabled=False, url=new_url)

    stored = Channel.objects.get()
    assert (stored.label, stored.enabled) == ("新しい名前", False)
    assert crypto.decrypt(bytes(stored.url_ciphertext), context=URL_CONTEXT) == new_url
    changes = [e.details["changed"] for e in AuditEvent.objects.filter(action="channel.update")]
    assert changes == [["enabled", "label"], ["url"]]


def test_a_disabled_channel_gets_no_post_even_if_already_queued(
    x_service: Service, add_channel: AddChannel, publish: Publish, monkeypatch: Any
) -> None:
    channel = add_channel(x_service)
    monkeypatch.setattr(tasks.post, "delay", lambda *a, **k: None)
    publish()
    channel_update(actor=OPERATOR, channel=channel, label=channel.label, enabled=False)

    assert post_send(post_id=Post.objects.get().pk) == State.SKIPPED

    assert Post.objects.get().reason == "channel disabled"
    assert x_service.fake.received == []


def test_key_rotation_covers_channel_urls(
    x_service: Service, add_channel: AddChannel, settings: Any
) -> None:
    import base64
    import os

    from anshin.core.keyring import keys_rotate, keys_status

    add_channel(x_service)
    old = settings.DATA_KEY
    settings.LOOKUP_KEY = old
    settings.DATA_KEYS_RETIRED = [old]
    settings.DATA_KEY = base64.urlsafe_b64encode(os.urandom(32)).decode()
    assert keys_status()["channels.Channel.url_ciphertext"] == (1, 1)

    keys_rotate(actor=OPERATOR)

    assert keys_status()["channels.Channel.url_ciphertext"] == (1, 0)
    settings.DATA_KEYS_RETIRED = []
    stored = bytes(Channel.objects.get().url_ciphertext)
    assert crypto.decrypt(stored, context=URL_CONTEXT) == x_service.url
