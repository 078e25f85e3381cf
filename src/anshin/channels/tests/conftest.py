"""Each service's fake on loopback with Apprise pointed at it, and a helper to add channels.

Apprise writes X's, Bluesky's, LINE's and Slack's hosts into its plugins; the fixtures move
them to the fake (the class attribute holding the endpoint, or for Bluesky the plugin
module's ``requests``), as issue 6 allows. Mastodon and webhooks take the host in the URL.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from apprise.plugins import bluesky as bluesky_plugin
from apprise.plugins.line import NotifyLine
from apprise.plugins.slack import NotifySlack
from apprise.plugins.twitter import NotifyTwitter

from anshin.alerts.models import Category
from anshin.channels.models import Channel
from anshin.channels.services import channel_create
from anshin.channels.tests import fakes
from anshin.core.audit import OPERATOR

# Credentials with recognisable shapes, so a test can look for any of them in the logs.
X_KEYS = ("xConsumerKey0001", "xConsumerSecret002", "xAccessToken00003", "xAccessSecret0004")
MASTODON_TOKEN = "mastoAccessToken0005"
BSKY_PASSWORD = "bskyAppPassword0006"
LINE_TOKEN = "lineChannelToken0007"
LINE_GROUP = "Cgroupid0008"
SLACK_TOKENS = ("T0SLACKA09", "B0SLACKB10", "slackWebhookSecret0011")
WEBHOOK_SECRET = "webhookBearer0012"
SECRETS = (
    *X_KEYS,
    MASTODON_TOKEN,
    BSKY_PASSWORD,
    LINE_TOKEN,
    LINE_GROUP,
    *SLACK_TOKENS,
    WEBHOOK_SECRET,
)


@dataclass
class Service:
    kind: str
    fake: fakes.FakeServer
    url: str
    post_path: str  # where the post arrives on the fake

    def posted_texts(self) -> list[str]:
        return [_text_of(self.kind, r.json()) for r in self.fake.posts(self.post_path)]


def _text_of(kind: str, body: Any) -> str:
    if kind == "twitter":
        return str(body["text"])
    if kind == "mastodon":
        return str(body["status"])
    if kind == "bluesky":
        return str(body["record"]["text"])
    if kind == "line":
        return str(body["messages"][0]["text"])
    if kind == "slack":
        return str(body["attachments"][0]["text"])
    return str(body["message"])


@pytest.fixture
def x_service(monkeypatch: pytest.MonkeyPatch) -> Iterator[Service]:
    with fakes.fake_x() as fake:
        monkeypatch.setattr(NotifyTwitter, "twitter_tweet", f"{fake.url}/2/tweets")
        url = "twitter://{}/{}/{}/{}?mode=tweet".format(*X_KEYS)
        yield Service("twitter", fake, url, "/2/tweets")


@pytest.fixture
def mastodon_service() -> Iterator[Service]:
    with fakes.fake_mastodon() as fake:
        url = f"mastodon://{MASTODON_TOKEN}@127.0.0.1:{fake.port}"
        yield Service("mastodon", fake, url, "/api/v1/statuses")


@pytest.fixture
def bluesky_service(monkeypatch: pytest.MonkeyPatch) -> Iterator[Service]:
    with fakes.fake_bluesky() as fake:
        redirect = fakes.HostRedirect(bluesky_plugin.requests, fakes.BSKY_HOSTS, fake.url)
        monkeypatch.setattr(bluesky_plugin, "requests", redirect)
        url = f"bsky://anshin.bsky.social@{BSKY_PASSWORD}"
        yield Service("bluesky", fake, url, "/xrpc/com.atproto.repo.createRecord")


@pytest.fixture
def line_service(monkeypatch: pytest.MonkeyPatch) -> Iterator[Service]:
    with fakes.fake_line() as fake:
        monkeypatch.setattr(NotifyLine, "notify_url", f"{fake.url}/v2/bot/message/push")
        yield Service("line", fake, f"line://{LINE_TOKEN}/{LINE_GROUP}", "/v2/bot/message/push")


@pytest.fixture
def slack_service(monkeypatch: pytest.MonkeyPatch) -> Iterator[Service]:
    with fakes.fake_slack() as fake:
        monkeypatch.setattr(NotifySlack, "webhook_url", f"{fake.url}/services")
        url = "slack://{}/{}/{}".format(*SLACK_TOKENS)
        yield Service("slack", fake, url, "/services/.*")


@pytest.fixture
def webhook_service() -> Iterator[Service]:
    with fakes.fake_webhook() as fake:
        url = f"json://127.0.0.1:{fake.port}/hook?+Authorization=Bearer%20{WEBHOOK_SECRET}"
        yield Service("webhook", fake, url, "/hook.*")


SERVICES = (
    "x_service",
    "mastodon_service",
    "bluesky_service",
    "line_service",
    "slack_service",
    "webhook_service",
)


@pytest.fixture(params=SERVICES)
def service(request: pytest.FixtureRequest) -> Service:
    service: Service = request.getfixturevalue(request.param)
    return service


@pytest.fixture
def fast_retries(settings: Any) -> None:
    settings.CHANNEL_RETRY_BASE_SECONDS = 0
    settings.CHANNEL_RETRY_MAX_SECONDS = 0
    settings.CHANNEL_TIMEOUT_SECONDS = 2


AddChannel = Callable[..., Channel]


@pytest.fixture
def add_channel(categories: dict[str, Category]) -> AddChannel:
    def add(service: Service, slug: str = "bousai", label: str = "") -> Channel:
        return channel_create(
            actor=OPERATOR,
            category=categories[slug],
            kind=service.kind,
            label=label or f"市の{service.kind}",
            url=service.url,
        )

    return add
