"""Console pages for API keys: list, create (the key is shown once), revoke. Thin: each view
calls one service or selector. Managing keys needs the model's permissions (a superuser has
them); seeing the list does not show any secret."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from anshin.api.forms import ApiKeyForm
from anshin.api.keys import api_key_create, api_key_revoke, api_keys_all
from anshin.api.models import ApiKey
from anshin.core.audit import Actor


@login_required
@permission_required("api.view_apikey", raise_exception=True)
@require_http_methods(["GET"])
def key_list(request: HttpRequest) -> HttpResponse:
    return render(request, "api/key_list.html", {"keys": api_keys_all(), "form": ApiKeyForm()})


@never_cache
@login_required
@permission_required("api.add_apikey", raise_exception=True)
@require_POST
def key_create(request: HttpRequest) -> HttpResponse:
    """The key appears on this response only (never cached, never stored in clear)."""
    form = ApiKeyForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            key, secret = api_key_create(
                actor=Actor.staff(request.user),
                name=data["name"],
                categories=data["categories"],
                can_read=data["can_read"],
                can_send=data["can_send"],
            )
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            return render(request, "api/key_created.html", {"key": key, "secret": secret})
    context = {"keys": api_keys_all(), "form": form}
    return render(request, "api/key_list.html", context, status=400)


@login_required
@permission_required("api.change_apikey", raise_exception=True)
@require_POST
def key_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    key = get_object_or_404(ApiKey, pk=pk)
    if api_key_revoke(actor=Actor.staff(request.user), key=key):
        messages.success(request, _("The key “%(name)s” is revoked.") % {"name": key.name})
    return redirect("api_console:keys")
