"""Posting through Apprise to each service's fake: what arrives, with which credentials, and how
each kind of answer is classified. No credential in any log line."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest
from django.utils import translation

from anshin.channels import transport
from anshin.channels.tests import fakes
from anshin.channels.tests.conftest import (
    BSKY_PASSWORD,
    LINE_GROUP,
    LINE_TOKEN,
    MASTODON_TOKEN,
    SECRETS,
    WEBHOOK_SECRET,
    X_KEYS,
    Service,
)
from anshin.channels.transport import PostResult

TEXT = "【訓練】不審者情報 ①﨑 👨‍👩‍👧\nhttps://city.example.jp/alerts/1/"


@pytest.fixture(autouse=True)
def _short_timeouts(settings: Any) -> None:
    settings.CHANNEL_TIMEOUT_SECONDS = 2


def test_each_service_receives_the_exact_text(service: Service) -> None:
    result = transport.post(kind=service.kind, url=service.url, text=TEXT)

    assert result.outcome == "posted"
    assert service.posted_texts() == [TEXT]


def test_x_posts_a_public_tweet_signed_with_the_channel_keys(x_service: Service) -> None:
    dm_url = x_service.url.replace("?mode=tweet", "")  # Apprise's default would be a DM

    assert transport.post(kind="twitter", url=dm_url, text="hello") == PostResult(
        "posted", 201, "HTTP 201 Created"
    )

    [request] = x_service.fake.received
    assert (request.method, request.path) == ("POST", "/2/tweets")
    assert request.json() == {"text": "hello"}
    authorization = request.headers["Authorization"]
    assert authorization.startswith("OAuth ")
    assert f'oauth_consumer_key="{X_KEYS[0]}"' in authorization
    assert f'oauth_token="{X_KEYS[2]}"' in authorization


def test_mastodon_sends_the_bearer_token(mastodon_service: Service) -> None:
    assert transport.post(kind="mastodon", url=mastodon_service.url, text="hello").outcome == (
        "posted"
    )

    [request] = mastodon_service.fake.received
    assert request.headers["Authorization"] == f"Bearer {MASTODON_TOKEN}"
    assert request.json()["status"] == "hello"


def test_bluesky_logs_in_with_the_app_password_then_posts(bluesky_service: Service) -> None:
    assert transport.post(kind="bluesky", url=bluesky_service.url, text="hello").outcome == (
        "posted"
    )

    paths = [r.path.split("?")[0] for r in bluesky_service.fake.received]
    assert paths == [
        "/xrpc/com.atproto.identity.resolveHandle",
        f"/{fakes.BSKY_DID}",
        "/xrpc/com.atproto.server.createSession",
        "/xrpc/com.atproto.repo.createRecord",
    ]
    session, record = bluesky_service.fake.received[2:]
    assert session.json() == {"identifier": fakes.BSKY_DID, "password": BSKY_PASSWORD}
    assert record.headers["Authorization"] == "Bearer eyJ.fake-access-jwt.sig"
    assert record.json()["record"]["text"] == "hello"
    assert record.json()["repo"] == fakes.BSKY_DID


def test_line_pushes_to_the_group_with_the_channel_token(line_service: Service) -> None:
    assert transport.post(kind="line", url=line_service.url, text="hello").outcome == "posted"

    [request] = line_service.fake.received
    assert request.headers["Authorization"] == f"Bearer {LINE_TOKEN}"
    assert request.json()["to"] == LINE_GROUP


def test_slack_webhook_path_carries_the_tokens(slack_service: Service) -> None:
    assert transport.post(kind="slack", url=slack_service.url, text="hello").outcome == "posted"

    [request] = slack_service.fake.received
    assert request.path == "/services/T0SLACKA09/B0SLACKB10/slackWebhookSecret0011"


def test_webhook_gets_json_with_the_configured_header(webhook_service: Service) -> None:
    assert transport.post(kind="webhook", url=webhook_service.url, text="hello").outcome == (
        "posted"
    )

    [request] = webhook_service.fake.received
    assert request.headers["Authorization"] == f"Bearer {WEBHOOK_SECRET}"
    assert request.json()["message"] == "hello"


@pytest.mark.parametrize(
    ("status", "outcome"),
    [(500, "temporary"), (502, "temporary"), (503, "temporary"), (429, "temporary")]
    + [(400, "permanent"), (401, "permanent"), (403, "permanent"), (404, "permanent")],
)
def test_platform_errors_are_classified(service: Service, status: int, outcome: str) -> None:
    service.fake.fail_with(status, b'{"error": "nope"}', "application/json")

    result = transport.post(kind=service.kind, url=service.url, text="hello")

    assert (result.outcome, result.status) == (outcome, status)
    assert result.reason.startswith(f"HTTP {status} ")


@pytest.mark.parametrize(
    "garbage", [b"\x00\xff<html>", b"not json at all", b'{"data": null', b"[]" * 5000]
)
def test_garbage_answers_never_crash_and_are_not_called_posted_unless_2xx(
    service: Service, garbage: bytes
) -> None:
    service.fake.fail_with(500, garbage, "text/html")
    assert transport.post(kind=service.kind, url=service.url, text="x").outcome == "temporary"

    service.fake.fail_with(200, garbage, "text/html")
    result = transport.post(kind=service.kind, url=service.url, text="x")
    # Some plugins accept any 2xx (the post is up), others need their success answer: either
    # way a definite outcome with the status, never an exception.
    assert result.status == 200
    assert result.outcome in {"posted", "permanent"}


def test_slack_answering_200_without_ok_is_a_permanent_refusal(slack_service: Service) -> None:
    slack_service.fake.fail_with(200, b"invalid_token")

    assert transport.post(kind="slack", url=slack_service.url, text="x") == PostResult(
        "permanent", 200, "HTTP 200 OK, unexpected answer"
    )


def test_a_dead_platform_is_temporary(settings: Any) -> None:
    fake = fakes.fake_mastodon().start()
    url = f"mastodon://{MASTODON_TOKEN}@127.0.0.1:{fake.port}"
    fake.stop()  # nothing listens there any more

    assert transport.post(kind="mastodon", url=url, text="x") == PostResult(
        "temporary", None, "unreachable"
    )


@pytest.mark.parametrize(
    ("kind", "url"),
    [
        ("twitter", "twitter://only-one-key"),
        ("twitter", "mastodon://token@host.example"),
        ("mastodon", "mastodon://host.example"),
        ("bluesky", "bsky://"),
        ("line", "line://"),
        ("slack", "slack://T1/B2"),
        ("webhook", "mailto://user:pass@example.com"),
        ("webhook", "not a url"),
        ("webhook", "json://host.example/\x00"),
        ("webhook", "json://" + "a" * 3000),
        ("slack", "nonsense://x"),
        ("line", ""),
    ],
)
def test_urls_apprise_cannot_use_for_the_kind_are_refused(kind: str, url: str) -> None:
    problem = transport.url_problem(kind, url) if url else "empty"

    assert problem
    assert transport.post(kind=kind, url=url, text="x").outcome == "permanent"


def test_x_direct_message_mode_is_refused_at_save() -> None:
    with translation.override("en"):
        problem = transport.url_problem("twitter", "twitter://a/b/c/d?mode=dm")

    assert problem == "X channels post public tweets: use mode=tweet (or leave mode out)."
    assert transport.url_problem("twitter", "twitter://a/b/c/d") is None
    assert transport.url_problem("twitter", "twitter://a/b/c/d?mode=TWEET") is None


def test_masked_urls_show_no_credential(service: Service) -> None:
    shown = transport.masked(service.kind, service.url)

    assert not any(secret in shown for secret in SECRETS)
    assert "****" in shown
    if service.kind in ("mastodon", "webhook"):
        assert f"127.0.0.1:{service.fake.port}" in shown


def test_no_credential_reaches_the_log_at_debug(service: Service, caplog: Any) -> None:
    caplog.set_level(logging.DEBUG)
    for name in ("apprise", "urllib3", "oauthlib", "requests_oauthlib"):
        caplog.set_level(logging.DEBUG, logger=name)

    assert transport.post(kind=service.kind, url=service.url, text="hello").outcome == "posted"
    service.fake.fail_with(401, json.dumps({"error": service.url}).encode())
    assert transport.post(kind=service.kind, url=service.url, text="hello").outcome == "permanent"
    transport.url_problem(service.kind, service.url.replace("://", "://broken", 1) + "/x?y=z")

    assert any(r.name == "apprise" for r in caplog.records)  # Apprise did log, redacted
    leaked = [s for s in SECRETS if s in caplog.text]
    assert leaked == []
    assert all(s not in r.getMessage() for r in caplog.records for s in SECRETS)
