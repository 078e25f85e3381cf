"""Column names: the Japanese and English headers cities use, mapped to fields."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from typing import Final

from anshin.directory.models import ATTRIBUTE_FIELDS

FIELDS: Final = ("staff_id", "name", "email", "phone", *ATTRIBUTE_FIELDS)

#: The header the export writes, one per field; the import reads these back.
EXPORT_HEADERS: Final[Mapping[str, str]] = {
    "staff_id": "職員番号",
    "name": "氏名",
    "email": "メールアドレス",
    "phone": "電話番号",
    "department": "所属",
    "position": "役職",
    "team": "班",
    "area": "居住地域",
    "oncall_group": "参集グループ",
}
_ALIASES: Final[Mapping[str, tuple[str, ...]]] = {
    "staff_id": ("職員番号", "職員コード", "職員ID", "職員No", "社員番号", "staff_id")
    + ("staff number", "staff no", "employee id", "employee number"),
    "name": ("氏名", "名前", "職員名", "name", "full name", "staff name"),
    "email": ("メールアドレス", "メール", "Eメール", "Eメールアドレス", "email", "e-mail")
    + ("mail", "email address", "mail address"),
    "phone": ("電話番号", "電話", "携帯電話", "携帯電話番号", "携帯番号", "連絡先電話番号")
    + ("phone", "phone number", "tel", "telephone", "mobile", "mobile phone"),
    "department": ("所属", "所属課", "所属部署", "部署", "課", "department", "dept", "section"),
    "position": ("役職", "職名", "position", "title", "job title"),
    "team": ("班", "チーム", "team"),
    "area": ("居住地域", "居住地", "居住地区", "地区", "地域", "area", "area of residence")
    + ("residence area", "home area"),
    "oncall_group": ("参集グループ", "参集区分", "非常参集区分", "配備区分", "当番グループ")
    + ("oncall_group", "on-call group", "oncall", "call group"),
}
_KEY_NOISE: Final = re.compile(r"[\s_\-・.]")


def header_key(text: str) -> str:
    """How headers are compared: NFKC, lower case, no spaces, underscores, hyphens or dots."""
    return _KEY_NOISE.sub("", unicodedata.normalize("NFKC", text).lower())


HEADER_ALIASES: Final[Mapping[str, str]] = {
    header_key(alias): name for name, aliases in _ALIASES.items() for alias in aliases
}
