"""The console navigation's count of alerts waiting for a second person's approval."""

from __future__ import annotations

from django import template

from anshin.alerts.approval import held_alerts_count as count

register = template.Library()


@register.simple_tag
def held_alerts_count() -> int:
    return count()
