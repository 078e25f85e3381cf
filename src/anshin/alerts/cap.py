"""CAP 1.2 (OASIS Common Alerting Protocol): each published alert as the international alert
format that broadcasters, the national L-Alert and apps take in.

Built with xml.etree (escaping is the library's job, never a template's) and validated in the
tests against the OASIS schema.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from datetime import datetime
from urllib.parse import urlsplit

from django.conf import settings
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from anshin.alerts.models import Alert

NS = "urn:oasis:names:tc:emergency:cap:1.2"
CONTENT_TYPE = "application/cap+xml; charset=utf-8"
# Characters outside XML 1.0's Char production. clean_subject/clean_body refuse them on the
# way in; this keeps any older or admin-edited row from making an ill-formed document.
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def xml_text(text: str) -> str:
    return _NOT_XML.sub("", text)


def absolute(path: str) -> str:
    """Links for other systems come from ANSHIN_BASE_URL, never from a request's Host."""
    return settings.BASE_URL + path


def alert_url(alert: Alert) -> str:
    return absolute(reverse("alerts:detail", args=[alert.pk]))


def cap_url(alert: Alert) -> str:
    return absolute(reverse("alerts:cap", args=[alert.pk]))


def cap_sender() -> str:
    # CAP forbids spaces, commas, "<" and "&" in sender and identifier; a URL's host and port
    # have none of them and are unique to the city (one deployment per city, P7).
    return urlsplit(settings.BASE_URL).netloc or "localhost"


def cap_identifier(alert: Alert) -> str:
    return f"urn:anshin:{cap_sender()}:alert:{alert.pk}"


def cap_time(moment: datetime) -> str:
    """CAP's dateTime: local time with a numeric offset (+09:00), no fraction, never "Z"."""
    return timezone.localtime(moment).replace(microsecond=0).isoformat()


def cap_document(alert: Alert) -> bytes:
    """The CAP 1.2 <alert> for one published alert, as UTF-8 bytes with an XML declaration."""
    assert alert.published_at is not None, "only published alerts have a CAP message"
    root = ET.Element(_q("alert"))
    _add(root, "identifier", cap_identifier(alert))
    _add(root, "sender", cap_sender())
    _add(root, "sent", cap_time(alert.published_at))
    _add(root, "status", alert.status)
    _add(root, "msgType", alert.msg_type)
    _add(root, "scope", "Public")
    note = takedown_note(alert, "ja")
    if note and alert.subject_en and alert.body_en:
        note += " / " + takedown_note(alert, "en")
    if note:  # CAP 1.2 places <note> after <scope>, before <references>
        _add(root, "note", note)
    if alert.references is not None:
        _add(root, "references", _reference(alert.references))
    _add_info(root, alert, "ja-JP", alert.category.name_ja, alert.subject, alert.body)
    if alert.subject_en and alert.body_en:
        _add_info(root, alert, "en", alert.category.name_en, alert.subject_en, alert.body_en)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True, default_namespace=NS)


def takedown_note(alert: Alert, language: str) -> str:
    """ "Part of this information was removed…" with the time of the latest takedown, or "".
    Reads `alert.takedowns.all()`, so a prefetch serves a whole feed in one query."""
    latest = next(iter(alert.takedowns.all()), None)
    if latest is None:
        return ""
    at = timezone.localtime(latest.created_at).strftime("%Y-%m-%d %H:%M")
    with translation.override(language):
        return _("Part of this information was removed to protect personal data (%(at)s).") % {
            "at": at
        }


def _reference(original: Alert) -> str:
    assert original.published_at is not None
    sent = cap_time(original.published_at)
    return f"{cap_sender()},{cap_identifier(original)},{sent}"


def _add_info(
    root: ET.Element, alert: Alert, language: str, event: str, headline: str, description: str
) -> None:
    info = _add(root, "info")
    _add(info, "language", language)
    for category in alert.cap_categories.split():
        _add(info, "category", category)
    _add(info, "event", event)
    _add(info, "urgency", alert.urgency)
    _add(info, "severity", alert.severity)
    _add(info, "certainty", alert.certainty)
    if alert.expires_at is not None:
        _add(info, "expires", cap_time(alert.expires_at))
    _add(info, "senderName", settings.CITY_NAME)
    _add(info, "headline", headline)
    _add(info, "description", description)
    _add(info, "web", alert_url(alert))
    area = _add(info, "area")
    _add(area, "areaDesc", settings.CITY_NAME)


def _q(tag: str) -> str:
    return f"{{{NS}}}{tag}"


def _add(parent: ET.Element, tag: str, text: str | None = None) -> ET.Element:
    element = ET.SubElement(parent, _q(tag))
    if text is not None:
        element.text = xml_text(text)
    return element
