"""/api/v1/ through Django's test client, with keys of each scope."""

from __future__ import annotations

import json
from typing import Any

import pytest

from anshin.alerts.models import Alert, Category
from anshin.api.models import ApiKey
from anshin.conftest import make_subscriber
from anshin.core.models import AuditEvent
from anshin.delivery.models import Delivery

pytestmark = pytest.mark.django_db

ALERTS = "/api/v1/alerts"
NEW = {"category": "bousai", "subject": "避難指示", "body": "川の水位が上がっています。"}


def _publish(api: Any, **fields: Any) -> Any:
    return api.post(ALERTS, {**NEW, **fields})


def _nothing_changed(audit_before: int) -> None:
    assert Alert.objects.count() == 0
    assert Delivery.objects.count() == 0
    assert AuditEvent.objects.count() == audit_before


@pytest.mark.parametrize(
    "header",
    [
        None,
        "Basic dXNlcjpwYXNz",
        "Bearer ",
        "Bearer not-a-key",
        "Bearer anshin_000000000000_wrongsecret",
        "Bearer anshin_" + "x" * 300,
    ],
)
def test_request_without_a_valid_key_gets_json_401(client: Any, header: str | None) -> None:
    headers = {"Authorization": header} if header is not None else {}
    response = client.get(ALERTS, headers=headers, HTTP_HOST="127.0.0.1")
    assert response.status_code == 401
    assert response["Content-Type"] == "application/json; charset=utf-8"
    assert response["WWW-Authenticate"] == "Bearer"
    assert "Authorization: Bearer" in response.json()["detail"]


def test_key_with_right_prefix_but_wrong_secret_is_refused(make_key: Any, api_as: Any) -> None:
    key, secret = make_key()
    forged = secret[:-4] + ("AAAA" if not secret.endswith("AAAA") else "BBBB")
    assert api_as(forged).get(ALERTS).status_code == 401
    key.refresh_from_db()
    assert key.last_used_at is None


def test_revoked_key_is_refused_and_changes_nothing(make_key: Any, api_as: Any) -> None:
    from anshin.api.keys import api_key_revoke
    from anshin.core.audit import OPERATOR

    key, secret = make_key("bousai", send=True)
    api_key_revoke(actor=OPERATOR, key=key)
    before = AuditEvent.objects.count()
    assert api_as(secret).get("/api/v1/categories").status_code == 401
    assert _publish(api_as(secret)).status_code == 401
    _nothing_changed(before)


def test_categories_lists_only_the_keys_categories(make_key: Any, api_as: Any) -> None:
    _, secret = make_key("bouhan")
    response = api_as(secret).get("/api/v1/categories")
    assert response.status_code == 200
    assert [c["slug"] for c in response.json()] == ["bouhan"]
    assert set(response.json()[0]) == {"slug", "name_ja", "name_en", "active"}


def test_send_key_publishes_like_the_console_and_is_audited(make_key: Any, api_as: Any) -> None:
    key, secret = make_key("bousai", read=False, send=True)
    response = _publish(api_as(secret), subject_en="Evacuate", body_en="The river is rising.")
    assert response.status_code == 201
    alert = Alert.objects.get()
    body = response.json()
    assert body["id"] == alert.pk and body["category"] == "bousai"
    assert (alert.subject, alert.body, alert.subject_en) == ("避難指示", NEW["body"], "Evacuate")
    assert alert.published_at is not None and alert.created_via == "api"
    assert (alert.status, alert.msg_type, alert.references) == ("Actual", "Alert", None)
    assert alert.urgency == alert.category.cap_urgency
    assert body["url"].endswith(f"/alerts/{alert.pk}/")
    assert Delivery.objects.get(alert=alert).channel == "email"
    events = AuditEvent.objects.filter(target_type="alerts.alert", target_id=str(alert.pk))
    assert [e.action for e in events] == ["alert.publish", "api_key.use"]
    assert events[0].details["via"] == "api"
    assert events[1].details == {"api_key": key.pk, "action": "alert.submit"}
    assert {e.actor_kind for e in events} == {"integration"}


def test_published_alert_is_delivered_and_its_counts_read(
    make_key: Any,
    api_as: Any,
    categories: dict[str, Category],
    smtp_sink: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    make_subscriber("taro@example.jp", categories["bousai"])
    make_subscriber("hanako@example.jp", categories["bouhan"])
    _, secret = make_key("bousai", send=True)
    with django_capture_on_commit_callbacks(execute=True):
        alert_id = _publish(api_as(secret)).json()["id"]
    assert len(smtp_sink.to("taro@example.jp")) == 1
    assert smtp_sink.to("hanako@example.jp") == []
    response = api_as(secret).get(f"{ALERTS}/{alert_id}/delivery")
    assert response.status_code == 200
    assert response.json() == {
        "alert": alert_id,
        "state": "done",
        "total": 1,
        "queued": 0,
        "sending": 0,
        "accepted": 1,
        "failed": 0,
        "retrying": 0,
        "stopped": 0,
        "expired": 0,
        "percent": 100,
    }
    assert b"example.jp" not in response.content


def test_read_only_key_cannot_publish_and_nothing_happens(make_key: Any, api_as: Any) -> None:
    _, secret = make_key("bousai", read=True, send=False)
    before = AuditEvent.objects.count()
    response = _publish(api_as(secret))
    assert response.status_code == 403
    assert response.json()["detail"]
    _nothing_changed(before)


def test_send_only_key_cannot_read(make_key: Any, api_as: Any, categories: Any) -> None:
    _, sender = make_key("bousai", read=False, send=True)
    alert_id = _publish(api_as(sender)).json()["id"]
    for path in (ALERTS, f"{ALERTS}/{alert_id}", f"{ALERTS}/{alert_id}/delivery"):
        assert api_as(sender).get(path).status_code == 403, path


def test_publish_to_a_category_outside_the_key_is_forbidden(make_key: Any, api_as: Any) -> None:
    _, secret = make_key("bouhan", send=True)
    before = AuditEvent.objects.count()
    response = _publish(api_as(secret), category="bousai")
    assert response.status_code == 403
    _nothing_changed(before)


def test_publish_to_an_unknown_category_is_404(make_key: Any, api_as: Any) -> None:
    _, secret = make_key("bousai", send=True)
    before = AuditEvent.objects.count()
    assert _publish(api_as(secret), category="nosuch").status_code == 404
    _nothing_changed(before)


def test_reading_alerts_is_limited_to_the_keys_categories(make_key: Any, api_as: Any) -> None:
    _, sender = make_key("bousai", "bouhan", send=True)
    first = _publish(api_as(sender)).json()["id"]
    other = _publish(api_as(sender), category="bouhan", subject="不審者情報").json()["id"]
    second = _publish(api_as(sender), subject="続報").json()["id"]
    _, reader = make_key("bousai")
    listing = api_as(reader).get(ALERTS).json()
    assert listing["count"] == 2
    assert [a["id"] for a in listing["items"]] == [second, first]
    page = api_as(reader).get(ALERTS, limit=1, offset=1).json()
    assert [a["id"] for a in page["items"]] == [first]
    assert api_as(reader).get(f"{ALERTS}/{first}").json()["subject"] == "避難指示"
    assert api_as(reader).get(f"{ALERTS}/{other}").status_code == 403
    assert api_as(reader).get(f"{ALERTS}/{other}/delivery").status_code == 403
    assert api_as(reader).get(ALERTS, category="bouhan").status_code == 403
    assert api_as(reader).get(ALERTS, category="bousai").json()["count"] == 2


@pytest.mark.parametrize(
    ("path", "params", "status"),
    [
        (f"{ALERTS}/999999", {}, 404),
        (f"{ALERTS}/999999/delivery", {}, 404),
        (f"{ALERTS}/0", {}, 422),
        (f"{ALERTS}/{10**30}", {}, 422),
        (f"{ALERTS}/abc", {}, 422),
        (ALERTS, {"limit": 101}, 422),
        (ALERTS, {"offset": 10**18}, 422),
        (ALERTS, {"category": "../etc"}, 422),
        (ALERTS, {"category": "nosuch"}, 404),
        ("/api/v1/nowhere", {}, 404),
        ("/api/v1/alerts/", {}, 404),
    ],
)
def test_bad_reads_get_json_errors(
    make_key: Any, api_as: Any, path: str, params: dict[str, Any], status: int
) -> None:
    _, secret = make_key("bousai")
    response = api_as(secret).get(path, **params)
    assert response.status_code == status
    assert response["Content-Type"].startswith("application/json")
    assert response.json()["detail"]


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({**NEW, "subject": "x" * 1_048_576}, 422),  # 1 MB: refused by the schema
        ({**NEW, "subject": "あ" * 1_000_000}, 413),  # 3 MB: over the upload limit
        ({**NEW, "body": "x" * 10_001}, 422),
        ({**NEW, "subject": 123}, 422),
        ({**NEW, "body": ["a", "b"]}, 422),
        ({**NEW, "category": None}, 422),
        ({**NEW, "status": "Real"}, 422),
        ({**NEW, "priority": "high"}, 422),
        ({"subject": "件名", "body": "本文"}, 422),
        ({**NEW, "subject": "一行目\n二行目"}, 422),
        ({**NEW, "subject": "   "}, 422),
        ({**NEW, "subject_en": "English only"}, 422),
        ({**NEW, "msg_type": "Update"}, 422),
        ({**NEW, "references": 10**30}, 422),
        ([NEW], 422),
        ("not json at all {", 400),
        ("", 422),
    ],
)
def test_hostile_bodies_are_refused_and_publish_nothing(
    make_key: Any, api_as: Any, body: Any, status: int
) -> None:
    _, secret = make_key("bousai", send=True)
    before = AuditEvent.objects.count()
    response = api_as(secret).post(ALERTS, body if isinstance(body, str) else json.dumps(body))
    assert response.status_code == status, response.content[:300]
    assert response.json()["detail"]
    assert len(response.content) < 5000  # the refused input is not echoed back
    _nothing_changed(before)


def test_a_body_over_the_upload_limit_is_413(make_key: Any, api_as: Any, settings: Any) -> None:
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 100_000
    _, secret = make_key("bousai", send=True)
    before = AuditEvent.objects.count()
    response = _publish(api_as(secret), body="x" * 200_000)
    assert response.status_code == 413
    assert response.json()["detail"]
    _nothing_changed(before)


def test_update_refers_to_an_original_the_key_may_read(make_key: Any, api_as: Any) -> None:
    _, secret = make_key("bousai", "bouhan", send=True)
    original = _publish(api_as(secret)).json()["id"]
    response = _publish(api_as(secret), msg_type="Update", references=original, subject="続報")
    assert response.status_code == 201
    assert response.json()["references"] == original
    assert Alert.objects.get(pk=response.json()["id"]).references_id == original
    wrong_category = _publish(
        api_as(secret), category="bouhan", msg_type="Update", references=original
    )
    assert wrong_category.status_code == 422
    _, narrow = make_key("bouhan", send=True)
    outside = _publish(api_as(narrow), category="bouhan", msg_type="Cancel", references=original)
    assert outside.status_code == 403
    missing = _publish(api_as(secret), msg_type="Cancel", references=999999)
    assert missing.status_code == 404
    assert Alert.objects.count() == 2


def test_use_of_a_key_is_recorded_on_it(make_key: Any, api_as: Any) -> None:
    key, secret = make_key()
    assert api_as(secret).get("/api/v1/categories").status_code == 200
    key.refresh_from_db()
    assert key.last_used_at is not None
    assert ApiKey.objects.get(pk=key.pk).last_used_at == key.last_used_at


def test_a_method_the_path_does_not_take_gets_json_405(make_key: Any, api_as: Any) -> None:
    _, secret = make_key("bousai", send=True)
    response = api_as(secret).client.delete(ALERTS, headers=api_as(secret).headers)
    assert response.status_code == 405
    assert set(response["Allow"].split(", ")) == {"GET", "POST"}
    assert response.json()["detail"]


def test_openapi_document_is_served_without_a_key(client: Any) -> None:
    response = client.get("/api/openapi.json", HTTP_HOST="127.0.0.1")
    assert response.status_code == 200
    paths = response.json()["paths"]
    assert set(paths) == {
        "/api/v1/categories",
        "/api/v1/alerts",
        "/api/v1/alerts/{alert_id}",
        "/api/v1/alerts/{alert_id}/delivery",
    }
    assert response.json()["components"]["securitySchemes"]["BearerKey"]["scheme"] == "bearer"


def test_docs_page_is_off_unless_enabled(client: Any, settings: Any) -> None:
    settings.API_DOCS = False
    off = client.get("/api/docs", HTTP_HOST="127.0.0.1")
    assert off.status_code == 404 and off.json()["detail"]
    settings.API_DOCS = True
    assert client.get("/api/docs", HTTP_HOST="127.0.0.1").status_code == 200
