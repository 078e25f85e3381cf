"""API keys of each scope, and a client that sends one as a bearer token."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from anshin.alerts.models import Category
from anshin.api.keys import api_key_create
from anshin.api.models import ApiKey
from anshin.core.audit import OPERATOR

MakeKey = Callable[..., tuple[ApiKey, str]]


@pytest.fixture
def make_key(categories: dict[str, Category]) -> MakeKey:
    def make(
        *slugs: str, read: bool = True, send: bool = False, name: str = "test integration"
    ) -> tuple[ApiKey, str]:
        return api_key_create(
            actor=OPERATOR,
            name=name,
            categories=[categories[s] for s in slugs or ("bousai",)],
            can_read=read,
            can_send=send,
        )

    return make


class ApiClient:
    """Django's test client with the key in the Authorization header and JSON bodies."""

    def __init__(self, secret: str | None) -> None:
        self.client = Client(HTTP_HOST="127.0.0.1")
        self.headers = {"Authorization": f"Bearer {secret}"} if secret else {}

    def get(self, path: str, **params: Any) -> Any:
        return self.client.get(path, params, headers=self.headers)

    def post(self, path: str, body: Any, **kwargs: Any) -> Any:
        return self.client.post(
            path, body, content_type="application/json", headers=self.headers, **kwargs
        )


@pytest.fixture
def api_as() -> Callable[[str | None], ApiClient]:
    return ApiClient
