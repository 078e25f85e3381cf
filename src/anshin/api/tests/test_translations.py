"""The api app's Japanese catalogue is complete and compiled, and the API and console use it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client

from anshin.conftest import staff_login

LC = Path(__file__).resolve().parents[1] / "locale" / "ja" / "LC_MESSAGES"


def test_api_errors_follow_the_requested_language(client: Client) -> None:
    ja = client.get("/api/v1/alerts", HTTP_HOST="127.0.0.1", HTTP_ACCEPT_LANGUAGE="ja")
    en = client.get("/api/v1/alerts", HTTP_HOST="127.0.0.1", HTTP_ACCEPT_LANGUAGE="en")
    assert ja.json()["detail"] == "有効な API キーを送ってください：Authorization: Bearer <key>"
    assert en.json()["detail"] == "Send a valid API key: Authorization: Bearer <key>."


@pytest.mark.django_db
def test_console_page_and_nav_are_japanese_by_default(categories: Any) -> None:
    client = Client(HTTP_HOST="127.0.0.1")
    staff_login(client, User.objects.create_superuser("admin", password="x" * 16))
    page = client.get("/console/api-keys/").content.decode()
    assert "<h1>API キー</h1>" in page
    assert ">API キー</a>" in page  # the console's navigation
    assert "キーを作成" in page and "連携先の名前" in page
