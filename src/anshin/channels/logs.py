"""Keeping a channel's credentials out of every log line while Apprise talks to the network.

A channel's Apprise URL carries its tokens, keys and passwords, and the libraries under Apprise
log pieces of it: Apprise writes webhook URLs and "invalid token (…)" messages, urllib3 logs
each request path at DEBUG (Slack's webhook path is its token), oauthlib logs the OAuth
parameters X is signed with. While a channel is used (:func:`url_secrets_hidden`), a filter on
those loggers replaces every piece of the URL in Apprise's records with "****" and drops the
other libraries' records below WARNING (their detail is request plumbing, nothing an operator
needs). Outside that block the filter passes records unchanged.

The SMS guard in anshin.core.sms works the same way for phone numbers; this one is separate
because what it hides is different (any part of a URL, not digits) and SMS stays untouched.
"""

from __future__ import annotations

import contextlib
import contextvars
import logging
from collections.abc import Iterator
from urllib.parse import parse_qsl, quote, quote_plus, unquote, urlsplit

MASK = "****"
GUARDED_LOGGERS = (
    "apprise",
    "urllib3.connectionpool",
    "urllib3.connection",
    "urllib3.util.retry",
    "requests_oauthlib.oauth1_auth",
    "oauthlib.oauth1.rfc5849",
    "oauthlib.oauth1.rfc5849.signature",
)
_MIN_SECRET = 4  # shorter pieces ("80", "no") are options, not credentials

_hidden: contextvars.ContextVar[tuple[str, ...] | None] = contextvars.ContextVar(
    "anshin_channel_secrets", default=None
)


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


class _SecretFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        secrets = _hidden.get()
        if secrets is None:
            return True
        if record.name != "apprise" and record.levelno < logging.WARNING:
            return False
        record.msg = _redact(record.getMessage(), secrets)
        record.args = None
        if record.exc_info:
            text = logging.Formatter().formatException(record.exc_info)
            record.exc_text = _redact(text, secrets)
            record.exc_info = None
        record.stack_info = None
        return True


def _redact(message: str, secrets: tuple[str, ...]) -> str:
    for secret in secrets:
        message = message.replace(secret, MASK)
    return message


_FILTER = _SecretFilter()


@contextlib.contextmanager
def url_secrets_hidden(url: str) -> Iterator[None]:
    """Within this block, no record of the guarded loggers shows a piece of `url`."""
    for name in GUARDED_LOGGERS:
        logger = logging.getLogger(name)
        if _FILTER not in logger.filters:  # logging config may have been reloaded
            logger.addFilter(_FILTER)
    token = _hidden.set(url_secrets(url))
    try:
        yield
    finally:
        _hidden.reset(token)
