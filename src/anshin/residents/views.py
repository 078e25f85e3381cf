"""Resident pages. Any link from a mail that changes something opens a page whose button
does it (POST): mail scanners fetch links and must not act for the resident."""

from __future__ import annotations

from django import forms
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from anshin.core.http import client_ip
from anshin.residents import receipts, services
from anshin.residents.forms import CategoriesForm, SubscribeForm
from anshin.residents.models import ReceiptCheck, Subscriber
from anshin.residents.selectors import current_notice, notice_version
from anshin.residents.tokens import (
    TokenError,
    make_resume_token,
    read_confirm_token,
    read_mail_register_token,
    read_manage_token,
    read_receipt_token,
    read_resume_token,
)


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
    if subscriber.state == subscriber.State.SUSPENDED:
        return redirect("residents:resume", make_resume_token(subscriber))
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


@never_cache
@require_http_methods(["GET", "POST"])
def receipt(request: HttpRequest, token: str) -> HttpResponse:
    """The yearly receipt check: GET shows the button (a link scanner confirms nothing),
    POST records the confirmation."""
    try:
        subscriber, check_id = read_receipt_token(token)
    except TokenError as exc:
        return _bad_link(request, exc.reason)
    check = ReceiptCheck.objects.filter(pk=check_id).first()
    if check is None:
        return _bad_link(request, "invalid")
    context: dict[str, object] = {"check": check, "subscriber": subscriber}
    if not receipts.receipt_open_for(subscriber=subscriber, check=check):
        return _receipt_closed(request, subscriber, context)
    if request.method == "POST":
        try:
            receipts.receipt_confirm(subscriber=subscriber, check=check)
        except receipts.ScheduleRefused:  # closed between the page and the button
            return _receipt_closed(request, subscriber, context)
        context["done"] = True
    return render(request, "residents/receipt.html", context)


def _receipt_closed(
    request: HttpRequest, subscriber: Subscriber, context: dict[str, object]
) -> HttpResponse:
    if subscriber.state == Subscriber.State.SUSPENDED:
        context["resume_token"] = make_resume_token(subscriber)
    return render(request, "residents/receipt.html", {**context, "closed": True}, status=410)


@never_cache
@require_http_methods(["GET", "POST"])
def resume(request: HttpRequest, token: str) -> HttpResponse:
    """Resume mail paused by a receipt check: GET shows the button, POST resumes."""
    try:
        subscriber = read_resume_token(token)
    except TokenError as exc:
        return _bad_link(request, exc.reason)
    resumed = False
    if request.method == "POST":
        resumed = receipts.subscription_resume(subscriber=subscriber)
        subscriber.refresh_from_db(fields=["state"])
    context = {"subscriber": subscriber, "resumed": resumed, "state": subscriber.state}
    return render(request, "residents/resume.html", context)


def _bad_link(request: HttpRequest, reason: str) -> HttpResponse:
    status = 410 if reason in ("expired", "used") else 404
    return render(request, "residents/bad_link.html", {"reason": reason}, status=status)


# --- Empty-mail registration (空メール登録) -------------------------------------------------


class _MailRegisterForm(CategoriesForm):
    """The categories, and the notice version shown (the address came by mail)."""

    notice_version = forms.IntegerField(
        required=False, min_value=1, max_value=1_000_000, widget=forms.HiddenInput
    )


@never_cache
@require_http_methods(["GET", "POST"])
def subscribe_mail(request: HttpRequest, token: str) -> HttpResponse:
    """The page the reply to an empty mail links to: choose categories, read the notice,
    press the button (POST) to register. The token names a pending row, never an address."""
    try:
        subscriber = _pending_from_token(token)
    except TokenError as exc:
        return _bad_link(request, exc.reason)
    form = _MailRegisterForm(
        request.POST or None, initial={"categories": subscriber.categories.all()}
    )
    notice = current_notice()
    if request.method == "POST" and form.is_valid():
        notice = notice_version(form.cleaned_data["notice_version"]) or notice
        try:
            subscriber = services.subscription_register_by_mail(
                token=token, categories=form.cleaned_data["categories"], notice=notice
            )
        except TokenError as exc:  # used in another tab between the page and the button
            return _bad_link(request, exc.reason)
        return render(request, "residents/confirmed.html", {"subscriber": subscriber})
    status = 400 if request.method == "POST" else 200
    context = {"form": form, "notice": notice}
    return render(request, "residents/subscribe_mail.html", context, status=status)


def _pending_from_token(token: str) -> Subscriber:
    pk, nonce = read_mail_register_token(token)
    subscriber = Subscriber.objects.filter(pk=pk).first()
    if subscriber is None or not nonce:
        raise TokenError("invalid")
    if subscriber.confirm_nonce != nonce or subscriber.state != Subscriber.State.PENDING:
        raise TokenError("used")
    return subscriber
