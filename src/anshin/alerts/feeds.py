"""Atom and RSS feeds of published alerts (all, or one category) and the CAP Atom index,
through Django's syndication framework. Every link is built from ANSHIN_BASE_URL: Django would
otherwise take the domain from the request's Host header."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.conf import settings
from django.contrib.syndication.views import Feed
from django.db.models import prefetch_related_objects
from django.http import HttpRequest, HttpResponse
from django.template.defaultfilters import linebreaksbr
from django.urls import reverse
from django.utils import feedgenerator, timezone, translation
from django.utils.html import escape
from django.utils.translation import gettext as _

from anshin.alerts import selectors
from anshin.alerts.cap import absolute, alert_url, cap_url, takedown_note, xml_text
from anshin.alerts.models import Alert, CapMsgType, CapStatus, Category


def alert_title(alert: Alert) -> str:
    """The subject, marked when it is not a real alert or when it corrects an earlier one, so
    a reader of the feed never mistakes an exercise for an emergency."""
    marks = []
    if alert.status != CapStatus.ACTUAL:
        marks.append(alert.get_status_display())
    if alert.msg_type != CapMsgType.ALERT:
        marks.append(alert.get_msg_type_display())
    prefix = "".join(_("[%(mark)s] ") % {"mark": mark} for mark in marks)
    return xml_text(prefix + alert.subject)


def alert_summary_html(alert: Alert) -> str:
    body = str(linebreaksbr(xml_text(alert.body), autoescape=True))
    notes = [_("Sending of this alert was stopped part-way.")] if alert.stopped_at else []
    if note := takedown_note(alert, "ja"):
        notes.append(note)
    return "".join("<p>" + escape(note) + "</p>" for note in notes) + body


class AlertAtomFeed(Feed):
    """Newest alerts first; Japanese whatever the reader's language, so that every consumer of
    the feed sees the same document."""

    feed_type: type[feedgenerator.SyndicationFeed] = feedgenerator.Atom1Feed
    route = "atom"
    language = "ja"

    def __call__(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        with translation.override("ja"):
            return super().__call__(request, *args, **kwargs)

    def get_object(self, request: HttpRequest, slug: str | None = None) -> Category | None:
        return selectors.public_category(slug=slug) if slug else None

    def title(self, obj: Category | None) -> str:
        mail = _("%(city)s safety mail") % {"city": settings.CITY_NAME}
        return f"{mail}: {obj.name_ja}" if obj else mail

    def subtitle(self, obj: Category | None) -> str:
        return _("Crime-prevention and disaster alerts sent by %(city)s.") % {
            "city": settings.CITY_NAME
        }

    description = subtitle  # RSS calls it description

    def link(self, obj: Category | None) -> str:
        if obj is None:
            return absolute(reverse("alerts:archive"))
        return absolute(reverse("alerts:category", args=[obj.slug]))

    def feed_url(self, obj: Category | None) -> str:
        if obj is None:
            return absolute(reverse(f"alerts:{self.route}"))
        return absolute(reverse(f"alerts:category_{self.route}", args=[obj.slug]))

    def author_name(self) -> str:
        return settings.CITY_NAME

    def items(self, obj: Category | None) -> list[Alert]:
        alerts = selectors.latest_public_alerts(category=obj)
        prefetch_related_objects(alerts, "takedowns")  # the takedown note, in one query
        return alerts

    def item_title(self, item: Alert) -> str:
        return alert_title(item)  # Atom's <title> is plain text: the XML writer escapes it

    def item_description(self, item: Alert) -> str:
        return alert_summary_html(item)

    def item_link(self, item: Alert) -> str:
        return alert_url(item)

    def item_pubdate(self, item: Alert) -> datetime | None:
        # Shown in the city's time (+09:00), as in the mail and on the page.
        return timezone.localtime(item.published_at) if item.published_at else None

    item_updateddate = item_pubdate

    def item_categories(self, item: Alert) -> list[str]:
        return [item.category.name_ja]


class AlertRssFeed(AlertAtomFeed):
    feed_type = feedgenerator.Rss201rev2Feed
    route = "rss"

    def item_title(self, item: Alert) -> str:
        # RSS readers render <title> as HTML: escape it once more (Django's default, #6533).
        return escape(alert_title(item))


class _CapIndexAtom(feedgenerator.Atom1Feed):
    def add_item_elements(self, handler: Any, item: dict[str, Any]) -> None:
        super().add_item_elements(handler, item)
        handler.addQuickElement(
            "link", "", {"rel": "related", "type": "text/html", "href": item["page"]}
        )


class CapIndexFeed(AlertAtomFeed):
    """The CAP Atom index: one entry per alert whose link is its CAP 1.2 message."""

    feed_type = _CapIndexAtom

    def get_object(self, request: HttpRequest, slug: str | None = None) -> None:
        return None

    def title(self, obj: Category | None) -> str:
        return _("%(city)s alerts (CAP 1.2)") % {"city": settings.CITY_NAME}

    def feed_url(self, obj: Category | None) -> str:
        return absolute(reverse("alerts:cap_index"))

    def item_link(self, item: Alert) -> str:
        return cap_url(item)

    def item_extra_kwargs(self, item: Alert) -> dict[str, Any]:
        return {"page": alert_url(item)}
