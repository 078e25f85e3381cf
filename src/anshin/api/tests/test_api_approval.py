"""/api/v1/alerts for a category that requires a second person's approval: the alert is held
(202, state "held"), nothing is sent and nothing is public until an approver approves it."""

from __future__ import annotations

from typing import Any

import pytest

from anshin.alerts.models import Alert, Category
from anshin.conftest import make_subscriber
from anshin.core.models import AuditEvent
from anshin.delivery.models import Delivery

pytestmark = pytest.mark.django_db

NEW = {"category": "bousai", "subject": "避難指示", "body": "川の水位が上がっています。"}


def test_an_approval_category_gets_a_held_alert(
    categories: dict[str, Category], make_key: Any, api_as: Any
) -> None:
    Category.objects.filter(slug="bousai").update(requires_approval=True)
    make_subscriber("a@example.jp", categories["bousai"])
    key, secret = make_key("bousai", send=True)
    response = api_as(secret).post("/api/v1/alerts", NEW)
    assert response.status_code == 202
    body = response.json()
    assert (body["state"], body["published_at"]) == ("held", None)
    alert = Alert.objects.get(pk=body["id"])
    assert alert.state == Alert.State.HELD and alert.created_via == "api"
    assert Delivery.objects.count() == 0
    assert AuditEvent.objects.filter(action="alert.submit", target_id=str(alert.pk)).exists()
    used = AuditEvent.objects.get(action="api_key.use")
    assert used.details["api_key"] == key.pk
    # Not public, and not readable through the API, until approved.
    assert api_as(secret).get(f"/api/v1/alerts/{alert.pk}").status_code == 404
    assert api_as(secret).get("/api/v1/alerts").json()["count"] == 0


def test_other_categories_are_published_at_once(make_key: Any, api_as: Any) -> None:
    _, secret = make_key("bousai", send=True)
    response = api_as(secret).post("/api/v1/alerts", NEW)
    assert response.status_code == 201 and response.json()["state"] == "published"


def test_the_openapi_document_describes_the_held_answer(client: Any) -> None:
    document = client.get("/api/openapi.json", HTTP_HOST="127.0.0.1").json()
    answers = document["paths"]["/api/v1/alerts"]["post"]["responses"]
    assert {"201", "202"} <= set(answers)
    schema = document["components"]["schemas"]["AlertOut"]["properties"]["state"]
    assert "held" in schema["description"]
