"""Staff console: compose, preview, send, history with live progress. Thin: each view calls
one service or selector."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from anshin.alerts.approval import alert_submit, alert_test_send, can_decide
from anshin.alerts.models import Alert
from anshin.alerts.services import CapChoices, alert_stop
from anshin.channels.selectors import channel_previews
from anshin.console.forms import ComposeForm, RejectForm
from anshin.core.audit import Actor
from anshin.core.catcher import list_caught, read_caught
from anshin.delivery import render as mail_render
from anshin.delivery.bounces import suppression_list, suppression_remove
from anshin.delivery.canaries import active_canaries, alert_canary_rows, canaries_settled
from anshin.delivery.models import Suppression
from anshin.delivery.selectors import (
    Progress,
    alert_email_delivery,
    delivery_failures,
    delivery_progress,
)
from anshin.delivery.services import delivery_retry_failed


@login_required
def home(request: HttpRequest) -> HttpResponse:
    """Every alert, newest first; `?state=held` lists those waiting for approval."""
    alerts = Alert.objects.select_related("category", "created_by")
    held = request.GET.get("state") == Alert.State.HELD
    if held:
        alerts = alerts.filter(state=Alert.State.HELD)
    page = Paginator(alerts, 20).get_page(request.GET.get("page"))
    rows = [(alert, _progress(alert)) for alert in page]
    return render(request, "console/home.html", {"page": page, "rows": rows, "held_only": held})


def _progress(alert: Alert) -> Progress | None:
    delivery = alert_email_delivery(alert)
    return delivery_progress(delivery) if delivery else None


@login_required
@permission_required("alerts.add_alert", raise_exception=True)
def compose(request: HttpRequest) -> HttpResponse:
    """Write, preview, then send (or submit for approval), or first send a test to the test
    addresses only."""
    form = ComposeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        action = "send" if "send" in request.POST else "test" if "test_send" in request.POST else ""
        if action:
            try:
                alert = _compose_action(request, form, test=action == "test")
            except ValidationError as exc:
                form.add_error(None, exc)
            else:
                return redirect("console:alert", alert.pk)
        preview = alert_preview(data, form.cap_choices())
        status = 400 if form.errors else 200
        return render(
            request, "console/preview.html", _preview_context(form, preview), status=status
        )
    return render(
        request,
        "console/compose.html",
        {"form": form},
        status=400 if request.method == "POST" else 200,
    )


def _compose_action(request: HttpRequest, form: ComposeForm, *, test: bool) -> Alert:
    """Send (publish, or hold for approval) or test-send the composed alert."""
    data = form.cleaned_data
    service = alert_test_send if test else alert_submit
    alert = service(
        actor=Actor.staff(request.user),
        category=data["category"],
        subject=data["subject"],
        body=data["body"],
        via=Alert.Via.CONSOLE,
        cap=form.cap_choices(),
        subject_en=data["subject_en"],
        body_en=data["body_en"],
    )
    if alert.state == Alert.State.HELD:
        messages.success(
            request,
            _("Sent for approval. It goes out when another staff member approves it."),
        )
    elif alert.state == Alert.State.TEST:
        messages.success(request, _("Sent to the test addresses only. Residents got nothing."))
    return alert


def _preview_context(form: ComposeForm, preview: dict[str, Any]) -> dict[str, Any]:
    return {
        "form": form,
        "preview": preview,
        "needs_approval": form.cleaned_data["category"].requires_approval,
        "test_addresses": active_canaries().count(),
    }


def alert_preview(data: dict[str, Any], cap: CapChoices) -> dict[str, Any]:
    """The message exactly as a resident receives it (with its 【続報】/【取消】 mark for a
    follow-up), with a sample management link, and the CAP values (the category's defaults
    filled in) that other systems will receive. Compose and the follow-up forms share it."""
    category = data["category"]
    alert = Alert(
        category=category,
        subject=data["subject"],
        body=data["body"],
        subject_en=data["subject_en"],
        body_en=data["body_en"],
        status=cap.status,
        msg_type=cap.msg_type,
        references=cap.references,
        cap_categories=category.cap_categories,
        urgency=cap.urgency or category.cap_urgency,
        severity=cap.severity or category.cap_severity,
        certainty=cap.certainty or category.cap_certainty,
    )
    sample = settings.BASE_URL + "/manage/…/"
    return {
        "subject": mail_render.alert_subject(alert),
        "text": mail_render.alert_text(alert, manage_link=sample),
        "from": f"{settings.CITY_NAME} 防犯・防災メール <{settings.MAIL_FROM}>",
        "alert": alert,
        "channels": channel_previews(alert),  # what each social channel will post
    }


@login_required
def alert_detail(request: HttpRequest, pk: int) -> HttpResponse:
    alert = get_object_or_404(Alert.objects.select_related("category"), pk=pk)
    delivery = alert_email_delivery(alert)
    context = {
        "alert": alert,
        "delivery": delivery,
        "progress": delivery_progress(delivery) if delivery else None,
        "failures": delivery_failures(delivery) if delivery else [],
    }
    if not request.htmx:  # type: ignore[attr-defined]
        return render(
            request, "console/alert.html", {**context, **alert_page_extras(request, alert)}
        )
    # htmx stops polling on status 286: a finished delivery needs no more refreshes.
    finished = delivery is None or delivery.state == delivery.State.DONE
    return render(request, "console/_progress.html", context, status=286 if finished else 200)


def alert_page_extras(
    request: HttpRequest, alert: Alert, reject_form: RejectForm | None = None
) -> dict[str, Any]:
    """What the alert page shows beside the delivery: the approval and the test addresses."""
    user: Any = request.user
    rows = alert_canary_rows(alert)
    return {
        "can_decide": can_decide(user, alert),
        "reject_form": reject_form or RejectForm(),
        "canary_rows": rows,
        "canaries_settled": canaries_settled(alert, rows),
        "test_addresses": active_canaries().count(),
    }


@login_required
@permission_required("alerts.add_alert", raise_exception=True)
@require_POST
def alert_retry(request: HttpRequest, pk: int) -> HttpResponse:
    alert = get_object_or_404(Alert, pk=pk)
    delivery = alert_email_delivery(alert)
    if delivery:
        delivery_retry_failed(delivery=delivery, actor=Actor.staff(request.user))
    return redirect("console:alert", pk)


@login_required
@permission_required("alerts.add_alert", raise_exception=True)
@require_POST
def alert_stop_view(request: HttpRequest, pk: int) -> HttpResponse:
    alert = get_object_or_404(Alert, pk=pk)
    alert_stop(actor=Actor.staff(request.user), alert=alert)
    return redirect("console:alert", pk)


@permission_required("delivery.view_suppression", raise_exception=True)
def suppressions(request: HttpRequest) -> HttpResponse:
    """Addresses that get no alert because they bounced or complained (by subscriber id: the
    list holds only keyed hashes, never an address)."""
    return render(request, "console/suppressions.html", {"rows": suppression_list(limit=500)})


@permission_required("delivery.delete_suppression", raise_exception=True)
@require_POST
def suppression_remove_view(request: HttpRequest, pk: int) -> HttpResponse:
    suppression = get_object_or_404(Suppression, pk=pk)
    suppression_remove(suppression=suppression, actor=Actor.staff(request.user))
    return redirect("console:suppressions")


@login_required
def mailbox(request: HttpRequest) -> HttpResponse:
    """The demo's mail catcher: what would have reached residents' phones."""
    if not settings.DEMO:
        raise Http404
    return render(
        request, "console/mailbox.html", {"mails": list_caught(settings.CATCHER_DIR, limit=100)}
    )


@login_required
def mailbox_item(request: HttpRequest, mail_id: str) -> HttpResponse:
    if not settings.DEMO:
        raise Http404
    mail = read_caught(settings.CATCHER_DIR, mail_id)
    if mail is None:
        raise Http404
    return render(request, "console/mailbox_item.html", {"mail": mail})
