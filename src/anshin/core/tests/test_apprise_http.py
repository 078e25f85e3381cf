"""The shared Apprise helpers on their own: how an observed HTTP exchange is classified, and
the log guard's scope (its loggers, its block). SMS and social posts test them end to end
against fake gateways (core/tests/test_sms.py, channels/tests/test_transport.py)."""

from __future__ import annotations

import logging
import re
from typing import Any

import pytest
import requests

from anshin.core.apprise_http import Verdict, apprise_logs_guarded, classify, url_secrets


@pytest.mark.parametrize(
    ("sent", "exchanges", "verdict"),
    [
        (True, [200], Verdict("sent", 200, "sent")),
        (True, [], Verdict("sent", None, "sent")),
        # The plugin says sent: a later failed request (a follow-up call) does not undo it.
        (True, [201, requests.ConnectionError()], Verdict("sent", 201, "sent")),
        (False, [requests.ConnectTimeout()], Verdict("temporary", None, "timeout")),
        (False, [requests.ReadTimeout()], Verdict("temporary", None, "timeout")),
        (False, [requests.ConnectionError()], Verdict("temporary", None, "unreachable")),
        (False, [200, requests.TooManyRedirects()], Verdict("temporary", 200, "network error")),
        (False, [503], Verdict("temporary", 503, "http")),
        (False, [429], Verdict("temporary", 429, "http")),
        (False, [200, 401], Verdict("permanent", 401, "http")),
        (False, [404, 500], Verdict("permanent", 404, "http")),  # the first refusal decides
        (False, [200], Verdict("permanent", 200, "unexpected answer")),
        (False, [], Verdict("temporary", None, "no answer")),
    ],
)
def test_outcomes(sent: bool, exchanges: list[Any], verdict: Verdict) -> None:
    assert classify(sent, exchanges) == verdict


def test_url_secrets_cover_every_credential_form_longest_first() -> None:
    secrets = url_secrets(
        "json://user:p%40ss@hooks.example:8443/abc/tok3n?+Authorization=Bearer%20xyz1"
    )

    assert {"user", "p%40ss", "p@ss", "hooks.example", "tok3n", "Bearer xyz1", "xyz1"} <= set(
        secrets
    )
    assert "abc" not in secrets  # shorter than a credential can be
    assert list(secrets) == sorted(secrets, key=len, reverse=True)


def test_guard_rewrites_only_its_loggers_only_inside_its_block(caplog: Any) -> None:
    caplog.set_level(logging.DEBUG)
    apprise, other = logging.getLogger("apprise"), logging.getLogger("urllib3.connectionpool")
    with apprise_logs_guarded(mask="[n]", secrets=("s3cret",), pattern=re.compile(r"\d{7,}")):
        apprise.info("token %s to %s", "s3cret", "+819012345678")
        other.debug("GET /s3cret")  # not one of the guard's loggers
    apprise.info("after s3cret")

    assert [r.getMessage() for r in caplog.records] == [
        "token [n] to +[n]",
        "GET /s3cret",
        "after s3cret",
    ]


def test_guard_drops_what_the_caller_does_not_want_and_nests(caplog: Any) -> None:
    caplog.set_level(logging.DEBUG)
    apprise = logging.getLogger("apprise")
    with apprise_logs_guarded(mask="*", secrets=("outer",)):
        with apprise_logs_guarded(mask="*", drop=lambda record: record.levelno < logging.WARNING):
            apprise.info("dropped")
            apprise.warning("kept outer")
        apprise.info("outer again")

    assert [r.getMessage() for r in caplog.records] == ["kept outer", "* again"]


def test_tracebacks_are_redacted_and_not_kept_as_objects(caplog: Any) -> None:
    with apprise_logs_guarded(mask="****", secrets=("tok3n",)):
        try:
            raise ValueError("invalid token tok3n")
        except ValueError:
            logging.getLogger("apprise").exception("failed")

    (record,) = caplog.records
    assert record.exc_info is None and record.exc_text
    assert "tok3n" not in record.exc_text and "invalid token ****" in record.exc_text
