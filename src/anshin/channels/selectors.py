"""Reads for the console: channels, the posts of an alert, what each channel would post."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Max, QuerySet

from anshin.alerts.models import Alert
from anshin.channels.models import Channel, Post
from anshin.channels.services import alert_link, text_for
from anshin.channels.text import LIMITS


def channels_all() -> QuerySet[Channel]:
    return Channel.objects.select_related("category")


def alert_posts(alert: Alert) -> list[Post]:
    return list(Post.objects.filter(alert=alert).select_related("channel").order_by("pk"))


def recent_posts(limit: int = 50) -> list[Post]:
    rows = Post.objects.select_related("channel", "alert").order_by("-pk")
    return list(rows[:limit])


@dataclass(frozen=True)
class ChannelPreview:
    channel: Channel
    text: str
    used: int  # as the network counts
    limit: int


def channel_previews(alert: Alert) -> list[ChannelPreview]:
    """What each enabled channel of the alert's category would post. An alert not yet saved
    gets the link it will most likely have (the next id), so the counts are what is sent."""
    alert_id = alert.pk or (Alert.objects.aggregate(last=Max("pk"))["last"] or 0) + 1
    link = alert_link(alert_id)
    previews = []
    channels = Channel.objects.filter(category_id=alert.category_id, enabled=True)
    for channel in channels.order_by("pk"):
        text = text_for(alert, channel.kind, link=link)
        limit = LIMITS[channel.kind]
        previews.append(ChannelPreview(channel, text, limit.measure(text), limit.maximum))
    return previews
