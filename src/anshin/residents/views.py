"""Resident pages. Any link from a mail that changes something opens a page whose button
does it (POST): mail scanners fetch links and must not act for the resident."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from anshin.core.http import client_ip
from anshin.residents import services
from anshin.residents.forms import CategoriesForm, SubscribeForm
from anshin.residents.selectors import current_notice, notice_version
from anshin.residents.tokens import TokenError, read_confirm_token, read_manage_token


@require_http_methods(["GET", "POST"])
def subscribe(request: HttpRequest) -> HttpResponse:
    form = SubscribeForm(request.POST or None)
    notice = current_notice()
    if request.method == "POST" and form.is_valid():
        # Record the version the resident was shown, even if a newer one was published since.
        notice = notice_version(form.cleaned_data["notice_version"]) or notice
        services.subscription_request(
            raw_email=form.cleaned_data["email"],
            categories=form.cleaned_data["categories"],
            notice=notice,
            client_key=client_ip(request),
        )
        return redirect("residents:sent")
    status = 400 if request.method == "POST" else 200
    return render(
        request, "residents/subscribe.html", {"form": form, "notice": notice}, status=status
    )


def sent(request: HttpRequest) -> HttpResponse:
    return render(request, "residents/sent.html")


@never_cache
@require_http_methods(["GET", "POST"])
def confirm(request: HttpRequest, token: str) -> HttpResponse:
    try:
        if request.method == "POST":
            subscriber = services.subscription_confirm(token=token)
            return render(request, "residents/confirmed.html", {"subscriber": subscriber})
        read_confirm_token(token)
    except TokenError as exc:
        return _bad_link(request, exc.reason)
    return render(request, "residents/confirm.html")


@never_cache
@require_http_methods(["GET", "POST"])
def manage(request: HttpRequest, token: str) -> HttpResponse:
    try:
        subscriber = read_manage_token(token)
    except TokenError as exc:
        return _bad_link(request, exc.reason)
    if subscriber.state != subscriber.State.ACTIVE:
        return render(request, "residents/unsubscribed.html", {"token": token, "already": True})
    form = CategoriesForm(request.POST or None, initial={"categories": subscriber.categories.all()})
    saved = False
    if request.method == "POST" and form.is_valid():
        services.subscription_update(
            subscriber=subscriber, categories=form.cleaned_data["categories"]
        )
        saved = True
    return render(
        request,
        "residents/manage.html",
        {"form": form, "token": token, "saved": saved},
        status=400 if request.method == "POST" and not form.is_valid() else 200,
    )


@csrf_exempt  # RFC 8058: mail clients POST here without cookies; the token authorises it.
@never_cache
@require_http_methods(["GET", "POST"])
def unsubscribe(request: HttpRequest, token: str) -> HttpResponse:
    """GET shows the button; POST (the button, or a mail client's RFC 8058 one-click request)
    unsubscribes and answers 200 directly, with no redirect."""
    try:
        subscriber = read_manage_token(token)
    except TokenError as exc:
        return _bad_link(request, exc.reason)
    if request.method == "POST":
        services.subscription_cancel(subscriber=subscriber)
        return render(request, "residents/unsubscribed.html", {"token": token})
    if subscriber.state != subscriber.State.ACTIVE:
        return render(request, "residents/unsubscribed.html", {"token": token, "already": True})
    return render(request, "residents/unsubscribe.html", {"token": token})


def _bad_link(request: HttpRequest, reason: str) -> HttpResponse:
    status = 410 if reason in ("expired", "used") else 404
    return render(request, "residents/bad_link.html", {"reason": reason}, status=status)
