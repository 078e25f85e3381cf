"""Which active staff a call-out reaches: AND-ed groups, each an OR of (attribute, value) terms.

``[[("department", "防災安全課"), ("oncall_group", "A")], [("area", "北部")]]`` reads
(department = 防災安全課 OR on-call group = A) AND area = 北部. No group means every active staff
member: the disaster case, reaching everyone at once. A term's field is one of the attribute
columns or ``extra:<header>`` for a column the city added; its value must be one present in the
directory (the console offers only those), compared exactly.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Final

from django.db.models import Q, QuerySet
from django.db.models.fields.json import KeyTextTransform
from django.db.models.lookups import Exact
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from anshin.directory.models import ATTRIBUTE_FIELDS, ATTRIBUTE_MAX, StaffMember

Term = tuple[str, str]
Selection = list[list[Term]]

MAX_GROUPS: Final = 5
MAX_TERMS: Final = 200  # per group
EXTRA_PREFIX: Final = "extra:"

FIELD_LABELS: Final[dict[str, Promise]] = {
    "department": _("Department"),
    "position": _("Position"),
    "team": _("Team"),
    "area": _("Area of residence"),
    "oncall_group": _("On-call group"),
}


class SelectionInvalid(ValueError):
    """The selection is malformed (never quotes a value: the message goes to a page)."""


@dataclass(frozen=True)
class AttributeOptions:
    field: str
    label: str
    values: list[str]


def selection_clean(raw: Any) -> Selection:
    """A well-formed selection from untrusted JSON-like data, empty groups dropped."""
    if not isinstance(raw, list) or len(raw) > MAX_GROUPS:
        raise SelectionInvalid("too many groups")
    groups: Selection = []
    for group in raw:
        if not isinstance(group, list) or len(group) > MAX_TERMS:
            raise SelectionInvalid("too many terms")
        terms = [_term(term) for term in group]
        if terms:
            groups.append(sorted(set(terms)))
    return groups


def term_from_json(text: str) -> Term:
    """A term from the value of a console checkbox (``["department", "防災安全課"]``)."""
    if len(text) > 2 * ATTRIBUTE_MAX + 50:
        raise SelectionInvalid("term too long")
    try:
        return _term(json.loads(text))
    except json.JSONDecodeError:
        raise SelectionInvalid("not a term") from None


def term_to_json(term: Term) -> str:
    return json.dumps(list(term), ensure_ascii=False)


def _term(term: Any) -> Term:
    if not (isinstance(term, list | tuple) and len(term) == 2):
        raise SelectionInvalid("not a term")
    field, value = term
    if not (isinstance(field, str) and isinstance(value, str)) or len(value) > ATTRIBUTE_MAX:
        raise SelectionInvalid("not a term")
    key = field.removeprefix(EXTRA_PREFIX)
    if field not in ATTRIBUTE_FIELDS and not (field != key and 0 < len(key) <= ATTRIBUTE_MAX):
        raise SelectionInvalid("unknown attribute")
    return field, value


def selection_q(selection: Selection) -> Q:
    query = Q()
    for group in selection:
        either = Q()
        for term in group:
            either |= _term_q(term)
        query &= either
    return query


def _term_q(term: Term) -> Q:
    field, value = term
    if field in ATTRIBUTE_FIELDS:
        return Q(**{field: value})
    # An expression, not `extra__<key>`: a header may hold "__" or any other character.
    return Q(Exact(KeyTextTransform(field.removeprefix(EXTRA_PREFIX), "extra"), value))


def matching_members(selection: Selection) -> QuerySet[StaffMember]:
    return StaffMember.objects.filter(selection_q(selection), active=True).order_by("pk")


def matching_count(selection: Selection) -> int:
    return matching_members(selection).count()


def attribute_options() -> list[AttributeOptions]:
    """The values present among active staff, per attribute (the further columns last)."""
    active = StaffMember.objects.filter(active=True)
    options = []
    for field in ATTRIBUTE_FIELDS:
        values = active.exclude(**{field: ""}).values_list(field, flat=True).distinct()
        options.append(AttributeOptions(field, str(FIELD_LABELS[field]), sorted(values)))
    extra: dict[str, set[str]] = {}
    for row in active.exclude(extra={}).values_list("extra", flat=True).iterator():
        for key, value in (row or {}).items():
            if isinstance(value, str) and value and len(value) <= ATTRIBUTE_MAX:
                extra.setdefault(key, set()).add(value)
    for key in sorted(extra):
        options.append(AttributeOptions(EXTRA_PREFIX + key, key, sorted(extra[key])))
    return [option for option in options if option.values]


def option_terms() -> set[Term]:
    return {(o.field, v) for o in attribute_options() for v in o.values}
