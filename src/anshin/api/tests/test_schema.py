"""The API fuzzed from its own OpenAPI document (schemathesis, in process over WSGI): no
request it can generate, valid or not, gets a 5xx, and every response matches the schema."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from anshin.alerts.models import Category
from anshin.alerts.services import CapChoices
from anshin.api.services import api_alert_publish

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


# Loaded when the module is collected (schemathesis' lazy fixture loader does not work with
# this pytest): the document comes from the app itself, through Django's own WSGI handler.
schema = schemathesis.openapi.from_wsgi("/api/openapi.json", WSGIHandler())


@pytest.fixture
def keep_test_transaction() -> Iterator[None]:
    """Like Django's test client, the handler must not close the connection after each
    request: that would end the test's transaction."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


@pytest.fixture
def full_key(make_key: Any, categories: dict[str, Category]) -> str:
    """A key that may read and publish in both default categories, with one alert to read."""
    key, secret = make_key("bousai", "bouhan", send=True)
    api_alert_publish(
        key=key, category=categories["bousai"], subject="訓練", body="訓練です。", cap=CapChoices()
    )
    return secret


@schema.parametrize()
@settings(
    max_examples=25,
    deadline=2000,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_api_never_fails_and_matches_its_schema(
    case: Any, full_key: str, keep_test_transaction: None
) -> None:
    case.call_and_validate(headers={"Authorization": f"Bearer {full_key}"}, checks=CHECKS)
