"""What anshin needs around an Apprise plugin: the outcome of its HTTP exchange, and log
records without personal data or credentials.  Used by SMS (anshin.core.sms) and social posts
(anshin.channels.transport).

Outcome.  Apprise only answers True or False and writes the reason to its log, whose wording
changes between releases.  So the plugin's HTTP exchange is *observed* instead: the plugin
module's ``requests`` name is replaced by a pass-through stand-in which, only inside a send
started by :func:`notify_observed` (a context variable), notes each response's status code or
the network exception.  If a future Apprise stops calling ``requests``, the tests that expect
"HTTP 503" or "HTTP 400" fail instead of anshin silently guessing.  :func:`classify` turns that
into a verdict: 5xx, 429 and no answer are temporary, other 4xx permanent.

Logs.  Apprise logs targets (phone numbers) at INFO/DEBUG, webhook URLs and "invalid token (…)"
messages, and the libraries under it log request paths and OAuth parameters.  Inside
:func:`apprise_logs_guarded`, a filter on the named loggers drops the records the caller does
not want and rewrites the others with every secret (and every match of a pattern, such as a
long run of digits) replaced by a mask.  Outside that block records pass unchanged.
"""

from __future__ import annotations

import contextlib
import contextvars
import logging
import re
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import parse_qsl, quote, quote_plus, unquote, urlsplit

import requests
from apprise.plugins.base import NotifyBase

__all__ = [
    "Verdict",
    "apprise_logs_guarded",
    "classify",
    "notify_observed",
    "url_secrets",
]

log = logging.getLogger(__name__)

Exchange = int | BaseException  # a status code, or the exception a request raised
Cause = Literal[
    "sent", "timeout", "unreachable", "network error", "http", "unexpected answer", "no answer"
]


@dataclass(frozen=True)
class Verdict:
    outcome: Literal["sent", "temporary", "permanent"]  # temporary: retry later
    status: int | None  # the refusing status for "http", else the last status seen
    cause: Cause  # callers word it for their own console


# --- observing the plugin's HTTP exchange -------------------------------------------------------


def notify_observed(plugin: NotifyBase, **notify: Any) -> Verdict | None:
    """``plugin.notify(**notify)`` with its HTTP exchange observed and classified.

    ``None`` when the plugin itself raised (a plugin bug must not take the worker down); the
    caller decides how to word that, usually as temporary."""
    _observe_http_of(plugin)
    exchanges: list[Exchange] = []
    token = _exchanges.set(exchanges)
    try:
        sent = plugin.notify(**notify)
    except Exception as exc:
        log.warning("Apprise plugin %s failed: %s", type(plugin).__name__, type(exc).__name__)
        return None
    finally:
        _exchanges.reset(token)
    return classify(bool(sent), exchanges)


def classify(sent: bool, exchanges: list[Exchange]) -> Verdict:
    """Sent; temporary (no answer, 5xx, 429); or permanent (other 4xx, or a 2xx answer the
    plugin could not accept: retrying a garbled answer could send the message twice)."""
    statuses = [item for item in exchanges if isinstance(item, int)]
    last = statuses[-1] if statuses else None
    if sent:
        return Verdict("sent", last, "sent")
    for item in exchanges:
        if isinstance(item, requests.Timeout):
            return Verdict("temporary", last, "timeout")
        if isinstance(item, requests.ConnectionError):
            return Verdict("temporary", last, "unreachable")
        if isinstance(item, BaseException):
            return Verdict("temporary", last, "network error")
    failed = [status for status in statuses if not 200 <= status < 300]
    if failed:
        status = failed[0]
        temporary = status >= 500 or status == 429
        return Verdict("temporary" if temporary else "permanent", status, "http")
    if last is not None:
        return Verdict("permanent", last, "unexpected answer")
    # No HTTP status seen: the plugin does not use requests; retrying is the safe guess.
    return Verdict("temporary", None, "no answer")


_exchanges: contextvars.ContextVar[list[Exchange] | None] = contextvars.ContextVar(
    "anshin_apprise_exchanges", default=None
)


class _ObservedRequests:
    """Stands in for ``requests`` inside a plugin module; outside a send started here (other
    threads, other callers of the same plugin) it only passes calls through to what it
    replaced (``requests`` itself, or a test's stand-in)."""

    anshin_apprise_observer = True

    def __init__(self, inner: Any) -> None:
        self._inner = inner

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def post(self, *args: Any, **kwargs: Any) -> requests.Response:
        return self._observed(self._inner.post, *args, **kwargs)

    def get(self, *args: Any, **kwargs: Any) -> requests.Response:
        return self._observed(self._inner.get, *args, **kwargs)

    def request(self, *args: Any, **kwargs: Any) -> requests.Response:
        return self._observed(self._inner.request, *args, **kwargs)

    @staticmethod
    def _observed(call: Any, *args: Any, **kwargs: Any) -> requests.Response:
        seen = _exchanges.get()
        try:
            response = call(*args, **kwargs)
        except requests.RequestException as exc:
            if seen is not None:
                seen.append(exc)
            raise
        if seen is not None:
            seen.append(response.status_code)
        return response


def _observe_http_of(plugin: NotifyBase) -> None:
    module = sys.modules.get(type(plugin).__module__)
    current = getattr(module, "requests", None)
    if module is not None and current is not None:
        if not getattr(current, "anshin_apprise_observer", False):
            module.requests = _ObservedRequests(current)  # type: ignore[attr-defined]


# --- keeping personal data and credentials out of the log --------------------------------------

_MIN_SECRET = 4  # shorter pieces of a URL ("80", "no") are options, not credentials


def url_secrets(url: str) -> tuple[str, ...]:
    """Every piece of `url` that may be a credential, in the forms a log line could show
    (as written, decoded, encoded), longest first so that no piece is half-replaced."""
    try:
        parts = urlsplit(url.strip())
        userinfo, _, hostport = parts.netloc.rpartition("@")
        pieces = [*userinfo.split(":", 1), hostport, hostport.rpartition(":")[0]]
        pieces += parts.path.split("/")
        pieces += [value for _, value in parse_qsl(parts.query, keep_blank_values=True)]
        pieces += [parts.fragment]
    except ValueError:  # not even a URL: hide it whole
        pieces = [url]
    forms = set()
    for piece in filter(None, pieces):
        for form in (piece, unquote(piece), quote(piece, safe=""), quote_plus(piece)):
            if len(form) >= _MIN_SECRET:
                forms.add(form)
                forms.update(word for word in form.split() if len(word) >= _MIN_SECRET)
    return tuple(sorted(forms, key=len, reverse=True))


@dataclass(frozen=True)
class _Guard:
    loggers: tuple[str, ...]
    secrets: tuple[str, ...]
    pattern: re.Pattern[str] | None
    mask: str
    drop: Callable[[logging.LogRecord], bool] | None

    def redact(self, message: str) -> str:
        for secret in self.secrets:
            message = message.replace(secret, self.mask)
        return self.pattern.sub(self.mask, message) if self.pattern else message


_guard: contextvars.ContextVar[_Guard | None] = contextvars.ContextVar(
    "anshin_apprise_log_guard", default=None
)


class _GuardFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        guard = _guard.get()
        if guard is None or record.name not in guard.loggers:
            return True
        if guard.drop is not None and guard.drop(record):
            return False
        record.msg = guard.redact(record.getMessage())
        record.args = None
        if record.exc_info:
            record.exc_text = guard.redact(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
        record.stack_info = None
        return True


_FILTER = _GuardFilter()


@contextlib.contextmanager
def apprise_logs_guarded(
    *,
    mask: str,
    secrets: tuple[str, ...] = (),
    pattern: re.Pattern[str] | None = None,
    loggers: tuple[str, ...] = ("apprise",),
    drop: Callable[[logging.LogRecord], bool] | None = None,
) -> Iterator[None]:
    """Within this block, records of `loggers` for which `drop` is true are dropped; the others
    show `mask` for each of `secrets` (replaced in order: longest first) and each match of
    `pattern`, and carry no arguments, traceback objects or stack."""
    for name in loggers:
        logger = logging.getLogger(name)
        if _FILTER not in logger.filters:  # logging config may have been reloaded
            logger.addFilter(_FILTER)
    token = _guard.set(_Guard(loggers, tuple(filter(None, secrets)), pattern, mask, drop))
    try:
        yield
    finally:
        _guard.reset(token)
