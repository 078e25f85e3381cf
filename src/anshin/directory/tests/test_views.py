"""The public reply page /r/<token>: GET shows, POST answers, unknown tokens are a plain 404."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from anshin.core.audit import OPERATOR
from anshin.directory.callouts import tokens
from anshin.directory.callouts.services import CalloutDraft, callout_send
from anshin.directory.models_callout import Callout, CalloutRecipient
from anshin.directory.tests.conftest import make_staff

pytestmark = pytest.mark.django_db


@pytest.fixture
def link() -> tuple[str, CalloutRecipient]:
    """A reply link of a fresh call-out (its mail is not sent: no task runs here)."""
    make_staff("a@city.lg.jp", department="防災安全課")
    callout = callout_send(
        draft=CalloutDraft(
            subject="<script>alert(1)</script>安否確認",
            body="状況を回答してください。",
            selection=[],
            choices=("無事", "負傷", "自宅被害"),
            reply_deadline=timezone.now() + timedelta(hours=1),
        ),
        actor=OPERATOR,
    )
    recipient = CalloutRecipient.objects.get(callout=callout)
    return "/r/" + tokens.token_for(recipient.token_nonce), recipient


def unmasked(html: bytes) -> bytes:
    """The page without its CSRF token (masked afresh on every response) and the language
    switch's return path (the requested path itself)."""
    html = re.sub(rb'name="csrfmiddlewaretoken" value="[^"]*"', b"", html)
    return re.sub(rb'name="next" value="[^"]*"', b"", html)


def client(language: str = "ja") -> Client:
    return Client(HTTP_ACCEPT_LANGUAGE=language, enforce_csrf_checks=False)


def test_the_page_shows_the_message_and_a_button_per_choice(link: Any) -> None:
    url, recipient = link
    page = client().get(url)
    html = page.content.decode()
    assert page.status_code == 200
    assert html.count('name="choice"') == 3 and "自宅被害" in html
    assert "<script>alert(1)</script>" not in html and "&lt;script&gt;" in html
    assert (
        page["Cache-Control"].startswith("max-age=0") and page["Referrer-Policy"] == "same-origin"
    )
    assert CalloutRecipient.objects.get(pk=recipient.pk).replied_at is None  # GET answers nothing


def test_a_tap_records_the_answer_and_the_page_confirms_it(link: Any) -> None:
    url, recipient = link
    page = client().post(url, {"choice": "1"})
    assert page.status_code == 200
    assert "負傷" in page.content.decode()
    assert CalloutRecipient.objects.get(pk=recipient.pk).choice == 1


def test_the_page_speaks_english_when_asked(link: Any) -> None:
    url, _ = link
    html = client("en").get(url).content.decode()
    assert "Choose your answer" in html and 'lang="en"' in html


def test_the_page_is_in_japanese_by_default(link: Any) -> None:
    url, _ = link
    html = Client().get(url).content.decode()
    assert "回答を選んでください" in html and 'lang="ja"' in html


@pytest.mark.parametrize("choice", ["3", "-1", "abc", "", "1" * 5000])
def test_a_choice_not_in_the_list_is_a_400_and_records_nothing(link: Any, choice: str) -> None:
    url, recipient = link
    page = client().post(url, {"choice": choice})
    assert page.status_code == 400
    assert CalloutRecipient.objects.get(pk=recipient.pk).replied_at is None


def test_after_the_deadline_the_page_says_replies_are_closed(link: Any) -> None:
    url, recipient = link
    Callout.objects.update(reply_deadline=timezone.now() - timedelta(seconds=1))
    page = client("en").get(url)
    assert "Replies to this message are closed" in page.content.decode()
    assert 'name="choice"' not in page.content.decode()
    assert client("en").post(url, {"choice": "0"}).status_code == 410
    assert CalloutRecipient.objects.get(pk=recipient.pk).replied_at is None


@pytest.mark.parametrize(
    "path",
    [
        "/r/AAAAAAAAAAA",  # well-formed, unknown
        "/r/short",
        "/r/AAAAAAAAAAAA",  # 12 characters
        "/r/" + "A" * 5000,
        "/r/%E5%AE%89%E5%BF%83%E5%AE%89%E5%BF%83%E5%AE%89%E5%BF%83%E5%AE%89",
        "/r/..%2F..%2Fetc",
        "/r/AAAAAAAAAA%00",
        "/r/",
    ],
)
def test_unknown_or_malformed_tokens_get_the_plain_404(link: Any, path: str) -> None:
    page = client("en").get(path)
    assert page.status_code == 404
    assert unmasked(page.content) == unmasked(client("en").get("/no-such-page/").content)
    assert client("en").post(path, {"choice": "0"}).status_code == 404


def test_the_token_is_one_of_2_to_the_64(link: Any) -> None:
    url, recipient = link
    token = url.removeprefix("/r/")
    assert tokens.well_formed(token) and len(tokens.token_for(tokens.new_nonce())) == 11
    assert tokens.token_for(tokens.new_nonce()) != token
