"""Posting one text through Apprise, and what the platform answered.

Each kind of channel is one Apprise plugin; a URL of another service is refused at save, so a
"twitter" channel can never mail or call anything else. X is always posted to with
``mode=tweet`` (Apprise's default for X is a direct message). Apprise's own retries are off
and each socket phase waits at most ``CHANNEL_TIMEOUT_SECONDS``: the post row decides when to
retry.

Apprise only answers True or False. As for SMS, the plugin's HTTP exchange is observed
instead of its log text (anshin.core.apprise_http).
"""

from __future__ import annotations

from dataclasses import dataclass
from http import HTTPStatus
from typing import Any, Literal
from urllib.parse import urlsplit

from apprise import Apprise, AppriseAsset, OverflowMode, PersistentStoreMode
from apprise.plugins import url_to_dict
from apprise.plugins.base import NotifyBase
from apprise.plugins.bluesky import NotifyBlueSky
from apprise.plugins.custom_json import NotifyJSON
from apprise.plugins.line import NotifyLine
from apprise.plugins.mastodon import NotifyMastodon
from apprise.plugins.slack import NotifySlack
from apprise.plugins.twitter import NotifyTwitter
from django.conf import settings
from django.utils.translation import gettext as _

from anshin.channels.logs import MASK, url_secrets_hidden
from anshin.channels.models import URL_MAX
from anshin.core.apprise_http import Verdict, notify_observed

PLUGINS: dict[str, type[NotifyBase]] = {
    "twitter": NotifyTwitter,
    "mastodon": NotifyMastodon,
    "bluesky": NotifyBlueSky,
    "line": NotifyLine,
    "slack": NotifySlack,
    "webhook": NotifyJSON,
}
# Kinds whose URL host is an address rather than a credential, shown in the masked form.
_HOST_SHOWN = {"mastodon", "webhook"}


@dataclass(frozen=True)
class PostResult:
    outcome: Literal["posted", "temporary", "permanent"]  # temporary: retry later
    status: int | None  # the platform's last HTTP status, if it answered
    reason: str  # short, for the console; never a credential


def url_problem(kind: str, url: str) -> str | None:
    """Why `url` cannot be a channel of `kind` (a sentence for staff), or None."""
    if len(url) > URL_MAX:
        return _("The URL is too long (at most %(max)d characters).") % {"max": URL_MAX}
    if not url.isprintable() or any(c.isspace() for c in url):
        return _("The URL must not contain spaces or control characters.")
    with url_secrets_hidden(url):
        parsed = _parse(url)
        if parsed is None:
            return _("Apprise cannot read this URL. Check it against the service's example.")
        if kind == "twitter" and str(parsed.get("mode") or "tweet").lower() != "tweet":
            return _("X channels post public tweets: use mode=tweet (or leave mode out).")
        plugin = _instantiate(kind, parsed)
    if plugin is None:
        return _("This URL is missing a part the service needs (a token, key or account).")
    if not isinstance(plugin, PLUGINS[kind]):
        return _("This URL is for another service than the one chosen.")
    return None


def masked(kind: str, url: str) -> str:
    """The service and, for Mastodon and webhooks, the host: never a token, key or path."""
    parts = urlsplit(url.strip())
    host = parts.netloc.rpartition("@")[2] if kind in _HOST_SHOWN else ""
    return f"{parts.scheme}://{host}/{MASK}" if host else f"{parts.scheme}://{MASK}"


def post(*, kind: str, url: str, text: str) -> PostResult:
    """Post `text` through the channel's URL. Never raises for platform trouble."""
    if url_problem(kind, url) is not None:  # checked at save; a key change could still break it
        return PostResult("permanent", None, "channel URL not usable")
    with url_secrets_hidden(url):
        parsed = _parse(url)
        plugin = _instantiate(kind, parsed) if parsed is not None else None
        if plugin is None:
            return PostResult("permanent", None, "channel URL not usable")
        return _notify(plugin, text)


def _parse(url: str) -> dict[str, Any] | None:
    try:
        return url_to_dict(url)
    except Exception:  # Apprise raises assorted errors for malformed URLs: all mean "unusable"
        return None


def _instantiate(kind: str, parsed: dict[str, Any]) -> NotifyBase | None:
    timeout = settings.CHANNEL_TIMEOUT_SECONDS
    parsed = {**parsed, "cto": timeout, "rto": timeout, "retry": 0}
    if kind == "twitter":
        parsed["mode"] = "tweet"
    asset = AppriseAsset(storage_mode=PersistentStoreMode.MEMORY)  # no session token on disk
    try:
        return Apprise.instantiate(parsed, asset=asset, suppress_exceptions=False)
    except Exception:  # a missing or invalid token, key or option
        return None


def _notify(plugin: NotifyBase, text: str) -> PostResult:
    verdict = notify_observed(plugin, body=text, title="", overflow=OverflowMode.UPSTREAM)
    return PostResult("temporary", None, "plugin error") if verdict is None else _result(verdict)


def _result(verdict: Verdict) -> PostResult:
    status = verdict.status
    if verdict.outcome == "sent":
        return PostResult("posted", status, _http(status) if status else "ok")
    if verdict.cause == "http" and status is not None:
        return PostResult(verdict.outcome, status, _http(status))
    if verdict.cause == "unexpected answer" and status is not None:
        return PostResult(verdict.outcome, status, f"{_http(status)}, unexpected answer")
    return PostResult(verdict.outcome, status, verdict.cause)


def _http(status: int) -> str:
    try:
        return f"HTTP {status} {HTTPStatus(status).phrase}"
    except ValueError:
        return f"HTTP {status}"
