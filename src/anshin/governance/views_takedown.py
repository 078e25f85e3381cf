"""Console pages of the takedown of personal details (個人情報の削除): the corrected text of a
published alert, then the record with the social posts staff must delete by hand. Thin: the
permission, the form, one service (which checks the permission again)."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext_lazy as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from anshin.alerts import takedown as service
from anshin.alerts.models import Alert
from anshin.core.audit import Actor
from anshin.governance.forms_takedown import TakedownForm
from anshin.governance.models import Takedown, TakedownPost

ADD = service.PERMISSION
VIEW = "governance.view_takedown"
FIELD_LABELS = {
    "subject": _("Subject"),
    "body": _("Message"),
    "subject_en": _("Subject in English"),
    "body_en": _("Message in English"),
}


def _check(request: HttpRequest, *permissions: str) -> None:
    if not any(request.user.has_perm(p) for p in permissions):
        raise PermissionDenied


@login_required
@never_cache
def takedown_new(request: HttpRequest, alert_id: int) -> HttpResponse:
    """The alert's current text to correct, and the reason; POST takes it down."""
    _check(request, ADD)
    alert = get_object_or_404(
        Alert.objects.select_related("category"), pk=alert_id, published_at__isnull=False
    )
    form = TakedownForm(request.POST or None, alert=alert)
    if request.method == "POST" and form.is_valid():
        try:
            takedown = service.alert_takedown(
                actor=Actor.staff(request.user), alert=alert, **form.cleaned_data
            )
        except ValidationError as error:
            form.add_error(None, error)
        else:
            return redirect("governance_console:takedown", takedown.pk)
    context = {"alert": alert, "form": form, "earlier": alert.takedowns.all()}
    status = 400 if request.method == "POST" else 200
    return render(request, "governance/takedown_form.html", context, status=status)


@login_required
@require_GET
@never_cache
def takedown_detail(request: HttpRequest, pk: int) -> HttpResponse:
    _check(request, ADD, VIEW)
    return _detail(request, get_object_or_404(Takedown, pk=pk))


def _detail(request: HttpRequest, takedown: Takedown, status: int = 200) -> HttpResponse:
    """The record, the posts to delete by hand on their networks, and the follow-ups of the
    alert (they may repeat the details: each is taken down on its own)."""
    alert = Alert.objects.select_related("category").get(pk=takedown.alert_id)
    posts = takedown.posts.select_related("post__channel", "removed_by").order_by("post_id")
    context = {
        "takedown": takedown,
        "alert": alert,
        "changed": [
            (FIELD_LABELS.get(name, name), takedown.original_sha256.get(name, ""))
            for name in takedown.fields
        ],
        "posts": posts,
        "follow_ups": alert.follow_ups.filter(published_at__isnull=False).order_by("pk"),
        "tick_error": status == 400,
    }
    return render(request, "governance/takedown_detail.html", context, status=status)


@login_required
@require_POST
def takedown_post_removed_view(request: HttpRequest, pk: int) -> HttpResponse:
    """Staff tick 「削除済み」 once they have deleted the post on the network by hand."""
    _check(request, ADD)
    item = get_object_or_404(TakedownPost.objects.select_related("takedown"), pk=pk)
    if request.POST.get("removed") != "on":
        return _detail(request, item.takedown, status=400)
    service.takedown_post_removed(actor=Actor.staff(request.user), item=item)
    return redirect("governance_console:takedown", item.takedown_id)


@login_required
@require_GET
def takedown_list(request: HttpRequest) -> HttpResponse:
    _check(request, ADD, VIEW)
    rows = Takedown.objects.select_related("alert", "created_by")
    page = Paginator(rows, 50).get_page(request.GET.get("page"))
    return render(request, "governance/takedown_list.html", {"page": page})
