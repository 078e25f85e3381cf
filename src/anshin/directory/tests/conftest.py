"""Helpers for the staff directory tests: CSV files as a city's Excel writes them."""

from __future__ import annotations

from typing import Any

import pytest
from django.utils import translation

from anshin.core.addresses import normalize_address
from anshin.core.audit import OPERATOR, Actor
from anshin.directory.models import StaffMember, staff_email_hash
from anshin.directory.services import ImportReport, directory_import

HEADER_JA = "職員番号,氏名,メールアドレス,電話番号,所属,役職,班,居住地域,参集グループ"
HEADER_EN = "staff_id,name,email,phone,department,position,team,area,oncall_group"


def staff_csv(*lines: str, header: str = HEADER_JA, encoding: str = "utf-8") -> bytes:
    """A CSV file (CRLF, as Excel writes) of ``header`` and ``lines``."""
    return ("\r\n".join([header, *lines]) + "\r\n").encode(encoding)


def run_import(data: bytes, *, actor: Actor = OPERATOR, **options: Any) -> ImportReport:
    with translation.override("en"):
        return directory_import(data=data, actor=actor, **options)


def member(address: str) -> StaffMember:
    """The active member with this address."""
    return StaffMember.objects.get(
        email_hash=staff_email_hash(normalize_address(address)), active=True
    )


def errors_of(report: ImportReport) -> list[tuple[int, str, str]]:
    return [(error.line, error.field, error.code) for error in report.errors]


@pytest.fixture(autouse=True)
def _english() -> Any:
    with translation.override("en"):
        yield


def make_staff(
    address: str,
    *,
    name: str = "職員",
    phone: str = "",
    active: bool = True,
    extra: dict[str, str] | None = None,
    **attributes: str,
) -> StaffMember:
    """A staff member as an import leaves one: contact data encrypted, attributes plain."""
    from anshin.core import crypto
    from anshin.directory.models import EMAIL_CONTEXT, NAME_CONTEXT, PHONE_CONTEXT

    normalised = normalize_address(address)
    return StaffMember.objects.create(
        staff_id=attributes.pop("staff_id", None),
        name_ciphertext=crypto.encrypt(name, context=NAME_CONTEXT),
        email_ciphertext=crypto.encrypt(normalised, context=EMAIL_CONTEXT),
        email_hash=staff_email_hash(normalised),
        phone_ciphertext=crypto.encrypt(phone, context=PHONE_CONTEXT) if phone else None,
        active=active,
        extra=extra or {},
        **attributes,
    )
