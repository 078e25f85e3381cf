"""Console pages: channels list and form, edit, per-alert status with retry, and the compose
preview of each channel's post. Permissions, hostile input, and the URL never shown back."""

from __future__ import annotations

import html
from typing import Any

import pytest
from django.contrib.auth.models import Permission, User
from django.test import Client
from django.utils import timezone

from anshin.alerts.models import Alert, Category
from anshin.channels.models import Channel, Post
from anshin.channels.services import alert_link
from anshin.channels.tests.conftest import SECRETS, X_KEYS, AddChannel, Service
from anshin.conftest import staff_login
from anshin.core.models import AuditEvent

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("smtp_sink", "fast_retries")]

LIST = "/console/channels/"


def _client(user: User) -> Client:
    """Signed in with the password and the second factor, as staff are."""
    client = Client(HTTP_HOST="127.0.0.1")
    staff_login(client, user)
    return client


def _user(name: str, *perms: str) -> User:
    user = User.objects.create_user(name, password="x" * 16)
    for codename in perms:
        user.user_permissions.add(Permission.objects.get(codename=codename))
    return user


@pytest.fixture
def admin(db: Any) -> Client:
    return _client(User.objects.create_superuser("admin", password="x" * 16))


@pytest.fixture
def viewer(db: Any) -> Client:
    """May see channels and posts, may change nothing."""
    return _client(_user("viewer", "view_channel", "view_post"))


@pytest.fixture
def clerk(db: Any) -> Client:
    """Signed in, without any permission on channels."""
    return _client(_user("clerk"))


def _new(service: Service, **extra: Any) -> dict[str, Any]:
    data = {"category": "bousai", "kind": service.kind, "label": "市公式X", "url": service.url}
    return {**data, "enabled": "on", **extra}


def test_create_saves_and_the_list_shows_only_the_masked_url(
    admin: Client, x_service: Service, categories: Any
) -> None:
    response = admin.post(f"{LIST}new/", _new(x_service))

    assert response.status_code == 302
    channel = Channel.objects.get()
    assert (channel.kind, channel.label, channel.enabled) == ("twitter", "市公式X", True)
    page = admin.get(LIST).content.decode()
    assert "市公式X" in page and "twitter://****" in page
    assert not any(secret in page for secret in SECRETS)
    event = AuditEvent.objects.get(action="channel.create")
    assert event.actor_user_id == User.objects.get(username="admin").pk


@pytest.mark.parametrize(
    "change",
    [
        {"url": "twitter://only/two"},
        {"url": "twitter://{}/{}/{}/{}?mode=dm".format(*X_KEYS)},
        {"url": "mailto://{}:{}@example.com".format(*X_KEYS[:2])},
        {"url": "json://host/" + X_KEYS[3] + "x" * 3000},
        {"url": ""},
        {"label": ""},
        {"label": "x" * 61},
        {"label": "a\nb"},
        {"label": "a\x00b"},
        {"kind": "sms"},
        {"category": "nosuch"},
        {"category": "' OR 1=1 --"},
    ],
)
def test_invalid_channel_is_refused_never_echoes_the_url_and_saves_nothing(
    admin: Client, x_service: Service, categories: Any, change: dict[str, str]
) -> None:
    response = admin.post(f"{LIST}new/", _new(x_service, **change))

    assert response.status_code == 400
    page = html.unescape(response.content.decode())
    assert not any(secret in page for secret in SECRETS)
    assert 'class="errorlist' in page
    assert not Channel.objects.exists()
    assert not AuditEvent.objects.filter(action="channel.create").exists()


def test_a_url_apprise_cannot_read_gets_a_clear_message(admin: Client, categories: Any) -> None:
    data = {"category": "bousai", "kind": "slack", "label": "Slack", "url": "slack:/broken"}

    page = admin.post(f"{LIST}new/", data, HTTP_ACCEPT_LANGUAGE="en").content.decode()

    assert "Apprise cannot read this URL" in html.unescape(page)


def test_staff_without_permission_see_no_page_and_change_nothing(
    clerk: Client, viewer: Client, x_service: Service, add_channel: AddChannel
) -> None:
    channel = add_channel(x_service)

    assert clerk.get(LIST).status_code == 403
    home = clerk.get("/console/")
    assert home.status_code == 200 and "/console/channels/" not in home.content.decode()
    assert viewer.post(f"{LIST}new/", _new(x_service, label="別名")).status_code == 403
    data = {"label": "乗っ取り", "enabled": "", "url": "json://evil.example/x"}
    assert viewer.post(f"{LIST}{channel.pk}/", data).status_code == 403

    assert list(Channel.objects.values_list("label", "enabled")) == [(channel.label, True)]
    assert AuditEvent.objects.filter(action__startswith="channel.").count() == 1  # the create


def test_viewer_sees_the_list_and_the_nav_link_in_japanese(
    viewer: Client, x_service: Service, add_channel: AddChannel
) -> None:
    add_channel(x_service)
    page = viewer.get(LIST).content.decode()

    assert ">SNS 連携</a>" in page and "<h1>SNS 連携</h1>" in page
    assert "連携先を追加" not in page  # no form without the add permission


def test_edit_keeps_the_url_when_left_empty_and_replaces_it_when_given(
    admin: Client, x_service: Service, add_channel: AddChannel
) -> None:
    channel = add_channel(x_service)
    form = admin.get(f"{LIST}{channel.pk}/").content.decode()
    assert not any(secret in form for secret in SECRETS)

    assert admin.post(f"{LIST}{channel.pk}/", {"label": "改名", "url": ""}).status_code == 302
    channel.refresh_from_db()
    assert (channel.label, channel.enabled) == ("改名", False)
    bad = admin.post(
        f"{LIST}{channel.pk}/", {"label": "改名", "url": "twitter://x", "enabled": "on"}
    )
    assert bad.status_code == 400
    assert Channel.objects.get().enabled is False


def test_edit_of_an_unknown_channel_is_404(admin: Client) -> None:
    assert admin.get(f"{LIST}999999/").status_code == 404
    assert admin.get(f"{LIST}99999999999999999999999/").status_code == 404


def _failed_post(service: Service, add_channel: AddChannel, categories: Any, capture: Any) -> Post:
    from anshin.alerts.services import alert_publish
    from anshin.core.audit import OPERATOR

    add_channel(service)
    service.fake.fail_with(401)
    with capture(execute=True):
        alert = alert_publish(
            actor=OPERATOR, category=categories["bousai"], subject="件名", body="本文", via="cli"
        )
    service.fake.fail_with(None)
    return Post.objects.get(alert=alert)


def test_alert_page_shows_each_channel_and_retry_posts_and_is_audited(
    admin: Client,
    mastodon_service: Service,
    add_channel: AddChannel,
    categories: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    post = _failed_post(
        mastodon_service, add_channel, categories, django_capture_on_commit_callbacks
    )
    page = admin.get(f"{LIST}alerts/{post.alert_id}/").content.decode()
    assert "投稿失敗" in page and "HTTP 401 Unauthorized" in page and "今すぐ再試行" in page

    with django_capture_on_commit_callbacks(execute=True):
        response = admin.post(f"{LIST}posts/{post.pk}/retry/")

    assert response.status_code == 302
    post.refresh_from_db()
    assert post.state == Post.State.POSTED
    assert AuditEvent.objects.filter(action="channel_post.retry").count() == 1
    page = admin.get(f"{LIST}alerts/{post.alert_id}/").content.decode()
    assert "投稿済み" in page and "今すぐ再試行" not in page


def test_retry_without_permission_is_refused_and_nothing_happens(
    viewer: Client,
    mastodon_service: Service,
    add_channel: AddChannel,
    categories: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    post = _failed_post(
        mastodon_service, add_channel, categories, django_capture_on_commit_callbacks
    )

    assert "今すぐ再試行" not in viewer.get(f"{LIST}alerts/{post.alert_id}/").content.decode()
    assert viewer.post(f"{LIST}posts/{post.pk}/retry/").status_code == 403
    assert viewer.get(f"{LIST}posts/{post.pk}/retry/").status_code in (403, 405)

    assert Post.objects.get(pk=post.pk).state == Post.State.FAILED
    assert not AuditEvent.objects.filter(action="channel_post.retry").exists()
    assert mastodon_service.posted_texts() == []


def test_retry_for_a_stopped_alert_says_why(
    admin: Client,
    mastodon_service: Service,
    add_channel: AddChannel,
    categories: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    post = _failed_post(
        mastodon_service, add_channel, categories, django_capture_on_commit_callbacks
    )
    Alert.objects.filter(pk=post.alert_id).update(stopped_at=timezone.now())

    page = admin.post(f"{LIST}posts/{post.pk}/retry/", follow=True).content.decode()

    assert "遅れて投稿することはしません" in page
    assert Post.objects.get(pk=post.pk).state == Post.State.FAILED


def test_compose_preview_shows_what_each_channel_will_post(
    admin: Client, x_service: Service, line_service: Service, add_channel: AddChannel
) -> None:
    add_channel(x_service, label="市公式X")
    add_channel(line_service, label="LINE 防災", slug="bouhan")  # another category
    data = {
        "category": "bousai",
        "subject": "避難所開設",
        "body": "第一小学校を開設しました。" * 30,
        "status": "Exercise",
        "preview": "1",
    }

    page = html.unescape(admin.post("/console/compose/", data).content.decode())

    expected_link = alert_link(
        (Alert.objects.order_by("-pk").values_list("pk", flat=True).first() or 0) + 1
    )
    assert 'id="preview-channels"' in page and "市公式X" in page and "LINE 防災" not in page
    assert "【訓練】避難所開設\n第一小学校を開設しました。" in page
    assert f"…\n{expected_link}</pre>" in page
    assert "サービスの数え方で 279 / 280" in page or "サービスの数え方で 280 / 280" in page
    assert not Alert.objects.exists() and not Post.objects.exists()
    assert x_service.fake.received == []


def test_channel_pages_refuse_anonymous_visitors(client: Client, categories: Category) -> None:
    for path in (LIST, f"{LIST}1/", f"{LIST}alerts/1/"):
        response = client.get(path, HTTP_HOST="127.0.0.1")
        assert response.status_code == 302 and "/console/login/" in response["Location"]
