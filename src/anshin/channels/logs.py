"""Keeping a channel's credentials out of every log line while Apprise talks to the network.

A channel's Apprise URL carries its tokens, keys and passwords, and the libraries under Apprise
log pieces of it: Apprise writes webhook URLs and "invalid token (…)" messages, urllib3 logs
each request path at DEBUG (Slack's webhook path is its token), oauthlib logs the OAuth
parameters X is signed with. While a channel is used (:func:`url_secrets_hidden`), the guard of
anshin.core.apprise_http on those loggers replaces every piece of the URL in Apprise's records
with "****" and drops the other libraries' records below WARNING (their detail is request
plumbing, nothing an operator needs). Outside that block records pass unchanged.
"""

from __future__ import annotations

import contextlib
import logging

from anshin.core.apprise_http import apprise_logs_guarded, url_secrets

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


def _plumbing(record: logging.LogRecord) -> bool:
    return record.name != "apprise" and record.levelno < logging.WARNING


def url_secrets_hidden(url: str) -> contextlib.AbstractContextManager[None]:
    """Within this block, no record of the guarded loggers shows a piece of `url`."""
    return apprise_logs_guarded(
        mask=MASK, secrets=url_secrets(url), loggers=GUARDED_LOGGERS, drop=_plumbing
    )
