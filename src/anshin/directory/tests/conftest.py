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
