"""Staff sign-in, second step: verify a code, enrol an authenticator, see or replace the
backup codes; and the lockout page django-axes shows. Mounted under /console/otp/."""

from __future__ import annotations

from base64 import b32encode
from typing import Any

import segno
from django import forms
from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext_lazy as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST
from django_otp import login as otp_login

from anshin.core import otp_services
from anshin.core.audit import Actor
from anshin.core.otp import backup_codes_left, confirmed_totp

CODE_MAX = 32


class CodeForm(forms.Form):
    code = forms.CharField(label=_("Code"), max_length=CODE_MAX)


def _next_url(request: HttpRequest) -> str:
    """Where to go after the second step: a path on this site, never elsewhere."""
    candidate = request.POST.get("next") or request.GET.get("next") or ""
    safe = url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    )
    return candidate if safe and candidate.startswith("/") else reverse("console:home")


def _signed_in(request: HttpRequest, device: Any) -> None:
    otp_login(request, device)
    request.session.cycle_key()  # a new session id once the second factor is given
    otp_services.staff_sign_in(user=request.user, device=device)  # type: ignore[arg-type]


@never_cache
@require_http_methods(["GET", "POST"])
def verify(request: HttpRequest) -> HttpResponse:
    user: Any = request.user
    if not user.is_authenticated:
        return redirect("console:login")
    if user.is_verified():
        return redirect(_next_url(request))
    if confirmed_totp(user) is None:
        return redirect("console:otp_enrol")
    form = CodeForm(request.POST or None)
    context: dict[str, Any] = {"form": form, "next": _next_url(request)}
    if request.method == "POST" and form.is_valid():
        result = otp_services.code_check(user=user, code=form.cleaned_data["code"])
        if result.device is not None:
            _signed_in(request, result.device)
            if result.backup_codes_left is not None:
                context = {"left": result.backup_codes_left, "next": context["next"]}
                return render(request, "core/otp_backup_used.html", context)
            return redirect(context["next"])
        context["error"] = "throttled" if result.throttled else "wrong"
    status = 400 if request.method == "POST" else 200
    return render(request, "core/otp_verify.html", context, status=status)


@never_cache
@require_http_methods(["GET", "POST"])
def enrol(request: HttpRequest) -> HttpResponse:
    user: Any = request.user
    if not user.is_authenticated:
        return redirect("console:login")
    if confirmed_totp(user) is not None:
        return redirect(_next_url(request) if user.is_verified() else "console:otp_verify")
    device = otp_services.totp_pending(user=user)
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        codes = otp_services.totp_enrol_confirm(
            user=user, device=device, code=form.cleaned_data["code"]
        )
        if codes is not None:
            _signed_in(request, device)
            return _show_codes(request, codes, enrolled=True)
        form.add_error("code", _("That code is not correct. Check the time on the phone."))
    context = {
        "form": form,
        "next": _next_url(request),
        "qr_svg": segno.make(device.config_url, error="m").svg_inline(scale=5, border=2),
        "secret": _grouped(b32encode(device.bin_key).decode()),
    }
    return render(request, "core/otp_enrol.html", context, status=400 if form.errors else 200)


@never_cache
@require_http_methods(["GET"])
def backup_codes(request: HttpRequest) -> HttpResponse:
    """How many backup codes are left, and the button that replaces them."""
    left = backup_codes_left(request.user)  # type: ignore[arg-type]
    return render(request, "core/otp_backup_codes.html", {"left": left})


@never_cache
@require_POST
def backup_codes_replace(request: HttpRequest) -> HttpResponse:
    user: Any = request.user
    codes = otp_services.backup_codes_replace(user=user, actor=Actor.staff(user))
    return _show_codes(request, codes, enrolled=False)


def _show_codes(request: HttpRequest, codes: list[str], *, enrolled: bool) -> HttpResponse:
    """The codes are in this one response only: not stored in the session, not cached."""
    context = {
        "codes": [otp_services.display_code(c) for c in codes],
        "enrolled": enrolled,
        "next": _next_url(request),
    }
    response = render(request, "core/otp_codes_shown.html", context)
    response["Cache-Control"] = "no-store"
    return response


def _grouped(secret: str) -> str:
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


def lockout(
    request: HttpRequest, original_response: HttpResponse | None = None, credentials: Any = None
) -> HttpResponse:
    """django-axes' answer after too many wrong passwords for one username from one address."""
    context = {"minutes": settings.LOGIN_COOLOFF_MINUTES}
    return render(request, "core/lockout.html", context, status=429)
