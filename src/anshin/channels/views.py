"""Console pages for social channels: the list and new-channel form, editing a channel, and
per alert the status of each channel with a retry button. Thin: each view calls one service
or selector. A channel's URL is never shown back, only its masked form."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import ValidationError
from django.forms import Form
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from anshin.alerts.models import Alert
from anshin.channels.forms import ChannelEditForm, ChannelForm
from anshin.channels.models import Channel, Post
from anshin.channels.selectors import alert_posts, channels_all, recent_posts
from anshin.channels.services import channel_create, channel_update, post_retry
from anshin.core.audit import Actor


@login_required
@permission_required("channels.view_channel", raise_exception=True)
@require_http_methods(["GET"])
def channel_list(request: HttpRequest) -> HttpResponse:
    return _list(request, ChannelForm(initial={"enabled": True}))


def _list(request: HttpRequest, form: Form, status: int = 200) -> HttpResponse:
    context = {"channels": channels_all(), "form": form, "posts": recent_posts()}
    return render(request, "channels/channel_list.html", context, status=status)


@never_cache
@login_required
@permission_required("channels.add_channel", raise_exception=True)
@require_POST
def channel_create_view(request: HttpRequest) -> HttpResponse:
    form = ChannelForm(request.POST)
    if form.is_valid():
        try:
            channel_create(actor=Actor.staff(request.user), **form.cleaned_data)
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, _("The channel is saved."))
            return redirect("channels_console:list")
    return _list(request, form, status=400)


@never_cache
@login_required
@permission_required("channels.change_channel", raise_exception=True)
@require_http_methods(["GET", "POST"])
def channel_edit(request: HttpRequest, pk: int) -> HttpResponse:
    channel = get_object_or_404(Channel.objects.select_related("category"), pk=pk)
    initial = {"label": channel.label, "enabled": channel.enabled}
    form = ChannelEditForm(request.POST if request.method == "POST" else None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            channel_update(actor=Actor.staff(request.user), channel=channel, **form.cleaned_data)
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, _("The channel is saved."))
            return redirect("channels_console:list")
    status = 400 if request.method == "POST" else 200
    context = {"channel": channel, "form": form}
    return render(request, "channels/channel_edit.html", context, status=status)


@login_required
@permission_required("channels.view_post", raise_exception=True)
@require_http_methods(["GET"])
def alert_posts_view(request: HttpRequest, alert_id: int) -> HttpResponse:
    alert = get_object_or_404(Alert.objects.select_related("category"), pk=alert_id)
    context = {"alert": alert, "posts": alert_posts(alert)}
    return render(request, "channels/alert_posts.html", context)


@login_required
@permission_required("channels.change_post", raise_exception=True)
@require_POST
def post_retry_view(request: HttpRequest, pk: int) -> HttpResponse:
    post = get_object_or_404(Post.objects.select_related("alert"), pk=pk)
    try:
        if post_retry(actor=Actor.staff(request.user), post=post):
            messages.success(request, _("The post is queued again."))
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    return redirect("channels_console:alert", post.alert_id)
