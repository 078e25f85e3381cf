"""/api/v1/ for integrators (django-ninja): publish and read alerts, list categories, read an
alert's delivery counts. Every endpoint needs a key (Authorization: Bearer …) and checks its
scope; every error is JSON. Endpoints are thin: they check scope and call a service or
selector."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from ninja import NinjaAPI, Path, Query, Router, Status
from ninja.errors import AuthenticationError, HttpError
from ninja.openapi.views import openapi_view
from ninja.security import HttpBearer

from anshin.alerts.cap import alert_url, cap_url
from anshin.alerts.models import Alert, Category
from anshin.alerts.selectors import public_alerts
from anshin.alerts.services import CapChoices
from anshin.api.keys import api_key_authenticate
from anshin.api.models import ApiKey
from anshin.api.schemas import (
    ID_MAX,
    AlertIn,
    AlertOut,
    AlertPage,
    CategoryOut,
    DeliveryOut,
    Error,
)
from anshin.api.services import api_alert_publish
from anshin.delivery.selectors import alert_email_delivery, delivery_progress

logger = logging.getLogger(__name__)

PAGE_MAX = 100
OFFSET_MAX = 1_000_000
SLUG = r"^[-a-zA-Z0-9_]+$"


class BearerKey(HttpBearer):
    def authenticate(self, request: HttpRequest, token: str) -> ApiKey | None:
        return api_key_authenticate(token)


def _docs_only_when_enabled(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """The browsable docs page is off unless API_DOCS; the OpenAPI document is always
    served (integrators and their tools read it)."""

    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if getattr(view, "func", None) is openapi_view and not settings.API_DOCS:
            return api.create_response(request, {"detail": _("Not found.")}, status=404)
        return view(request, *args, **kwargs)

    return wrapped


api = NinjaAPI(
    title="anshin",
    version="1",
    description="Alerts for integrators: publish, read, delivery counts.",
    urls_namespace="api",
    openapi_url="openapi.json",
    docs_url="docs",
    docs_decorator=_docs_only_when_enabled,
    auth=BearerKey(),
)
v1 = Router(tags=["v1"])

ERRORS: dict[int, Any] = {400: Error, 401: Error, 403: Error, 404: Error, 422: Error}


def _key(request: HttpRequest) -> ApiKey:
    key = request.auth  # type: ignore[attr-defined]
    assert isinstance(key, ApiKey)
    return key


def _require(key: ApiKey, *, send: bool = False) -> None:
    if send and not key.can_send:
        raise HttpError(403, _("This API key may not publish alerts."))
    if not send and not key.can_read:
        raise HttpError(403, _("This API key may not read alerts."))


def _scoped_category(key: ApiKey, slug: str) -> Category:
    """The category if the key covers it: 403 outside the scope, 404 if there is none."""
    category = key.categories.filter(slug=slug).first()
    if category is not None:
        return category
    if Category.objects.filter(slug=slug).exists():
        raise HttpError(403, _("This API key does not cover this category."))
    raise Http404


def _scoped_alert(key: ApiKey, alert_id: int) -> Alert:
    alert = public_alerts().filter(pk=alert_id).first()
    if alert is None:
        raise Http404
    if not key.categories.filter(pk=alert.category_id).exists():
        raise HttpError(403, _("This API key does not cover this category."))
    return alert


def _alert_out(alert: Alert) -> dict[str, Any]:
    return {
        **{f: getattr(alert, f) for f in AlertOut.model_fields if hasattr(Alert, f)},
        "category": alert.category.slug,
        "references": alert.references_id,
        "cap_categories": alert.cap_categories.split(),
        "url": alert_url(alert),
        "cap_url": cap_url(alert),
    }


@v1.get("/categories", response={200: list[CategoryOut], **ERRORS})
def categories(request: HttpRequest) -> Any:
    """The categories this key covers."""
    return list(_key(request).categories.order_by("sort_order", "id"))


@v1.get("/alerts", response={200: AlertPage, **ERRORS})
def alert_list(
    request: HttpRequest,
    category: str | None = Query(None, max_length=32, pattern=SLUG),  # noqa: B008
    limit: int = Query(20, ge=1, le=PAGE_MAX),  # noqa: B008
    offset: int = Query(0, ge=0, le=OFFSET_MAX),  # noqa: B008
) -> Any:
    """Published alerts of the key's categories, newest first."""
    key = _key(request)
    _require(key)
    alerts = public_alerts().filter(category__in=key.categories.all())
    if category is not None:
        alerts = alerts.filter(category=_scoped_category(key, category))
    page = alerts[offset : offset + limit]
    return {"count": alerts.count(), "items": [_alert_out(a) for a in page]}


@v1.post("/alerts", response={201: AlertOut, 202: AlertOut, 413: Error, **ERRORS})
def alert_create(request: HttpRequest, data: AlertIn) -> Any:
    """Publish an alert to the subscribers of its category, exactly as the console does:
    201 when it is published, 202 with state "held" when its category requires a second
    person's approval (it is sent once an approver approves it in the console; until then
    it is not readable here)."""
    key = _key(request)
    _require(key, send=True)
    category = _scoped_category(key, data.category)
    alert = api_alert_publish(
        key=key,
        category=category,
        subject=data.subject,
        body=data.body,
        cap=_cap_choices(key, data),
        subject_en=data.subject_en,
        body_en=data.body_en,
    )
    return Status(202 if alert.state == Alert.State.HELD else 201, _alert_out(alert))


def _cap_choices(key: ApiKey, data: AlertIn) -> CapChoices:
    references = None
    if data.references is not None:
        references = _scoped_alert(key, data.references)
    return CapChoices(
        status=data.status,
        msg_type=data.msg_type,
        references=references,
        urgency=data.urgency,
        severity=data.severity,
        certainty=data.certainty,
    )


@v1.get("/alerts/{alert_id}", response={200: AlertOut, **ERRORS})
def alert_read(request: HttpRequest, alert_id: int = Path(..., ge=1, le=ID_MAX)) -> Any:  # noqa: B008
    key = _key(request)
    _require(key)
    return _alert_out(_scoped_alert(key, alert_id))


@v1.get("/alerts/{alert_id}/delivery", response={200: DeliveryOut, **ERRORS})
def alert_delivery(request: HttpRequest, alert_id: int = Path(..., ge=1, le=ID_MAX)) -> Any:  # noqa: B008
    """How far the e-mail delivery has got: counts only, never recipients."""
    key = _key(request)
    _require(key)
    alert = _scoped_alert(key, alert_id)
    delivery = alert_email_delivery(alert)
    if delivery is None:
        raise Http404
    progress = delivery_progress(delivery)
    counts = ("total", "queued", "sending", "accepted", "failed", "retrying", "stopped")
    return {
        "alert": alert.pk,
        "state": progress.state,
        "percent": progress.percent,
        "expired": progress.expired,
        **{name: getattr(progress, name) for name in counts},
    }


api.add_router("v1/", v1)


@api.exception_handler(AuthenticationError)
def _unauthorized(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    message = _("Send a valid API key: Authorization: Bearer <key>.")
    response = api.create_response(request, {"detail": message}, status=401)
    response["WWW-Authenticate"] = "Bearer"
    return response


@api.exception_handler(Http404)
def _not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
    return api.create_response(request, {"detail": _("Not found.")}, status=404)


@api.exception_handler(DjangoValidationError)
def _invalid(request: HttpRequest, exc: DjangoValidationError) -> HttpResponse:
    return api.create_response(request, {"detail": " ".join(exc.messages)}, status=422)


@api.exception_handler(RequestDataTooBig)
def _too_big(request: HttpRequest, exc: RequestDataTooBig) -> HttpResponse:
    return api.create_response(request, {"detail": _("The request is too large.")}, status=413)


@api.exception_handler(Exception)
def _server_error(request: HttpRequest, exc: Exception) -> HttpResponse:
    """Never Django's HTML page: the integrator gets JSON, the log gets the traceback."""
    logger.error("API request failed", exc_info=exc)
    return api.create_response(request, {"detail": _("Internal error.")}, status=500)
