"""Links in mail are built without the URLconf (a worker never loads it), so each one is
checked here against what the URLconf itself serves."""

from __future__ import annotations

from typing import Any

import pytest
from django.urls import reverse

from anshin.alerts.models import Alert
from anshin.conftest import make_subscriber
from anshin.delivery import render
from anshin.residents.tokens import make_manage_token

pytestmark = pytest.mark.django_db

TOKEN = "WzEsImFiYyJd:x-Y_z09"  # what signed tokens are made of: base64url and a colon


def test_every_resident_link_is_the_path_the_urlconf_serves(settings: Any) -> None:
    settings.BASE_URL = "https://mail.city.example.jp"
    assert render.resident_url("subscribe") == settings.BASE_URL + reverse("residents:subscribe")
    for name in set(render.RESIDENT_PATHS) - {"subscribe"}:
        expected = settings.BASE_URL + reverse(f"residents:{name}", args=[TOKEN])
        assert render.resident_url(name, TOKEN) == expected, name


def test_the_links_in_a_prepared_alert_open_the_residents_pages(
    categories: dict[str, Any], settings: Any, client: Any
) -> None:
    settings.BASE_URL = "https://mail.city.example.jp"
    subscriber = make_subscriber("hanako@example.jp", categories["bousai"])
    alert = Alert.objects.create(
        category=categories["bousai"], subject="断水", body="断水しています。", created_via="cli"
    )
    raw = render.render_prepared(render.prepare_alert(alert), subscriber, "hanako@example.jp")
    token = make_manage_token(subscriber)
    unsubscribe = f"https://mail.city.example.jp/unsubscribe/{token}/"
    assert f"List-Unsubscribe: <{unsubscribe}>".encode() in raw
    response = client.get(unsubscribe.removeprefix(settings.BASE_URL))
    assert response.status_code == 200
    manage = render.manage_url(subscriber).removeprefix(settings.BASE_URL)
    assert client.get(manage).status_code == 200
