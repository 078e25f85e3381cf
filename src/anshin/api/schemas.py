"""Request and response bodies of /api/v1/. Unknown fields are refused, not ignored: a
misspelt optional field would otherwise publish an alert the integrator did not intend."""

from __future__ import annotations

from datetime import datetime

from ninja import Schema
from pydantic import ConfigDict, Field

from anshin.alerts.models import (
    BODY_MAX,
    SUBJECT_MAX,
    CapCertainty,
    CapMsgType,
    CapSeverity,
    CapStatus,
    CapUrgency,
)

ID_MAX = 2**63 - 1  # BigAutoField: a larger id would overflow the database, not miss


class Error(Schema):
    detail: str | list[dict[str, object]]


class CategoryOut(Schema):
    slug: str
    name_ja: str
    name_en: str
    active: bool


class AlertIn(Schema):
    model_config = ConfigDict(extra="forbid")

    category: str = Field(max_length=32, description="category slug, e.g. bousai")
    subject: str = Field(max_length=SUBJECT_MAX)
    body: str = Field(max_length=BODY_MAX)
    subject_en: str = Field("", max_length=SUBJECT_MAX)
    body_en: str = Field("", max_length=BODY_MAX)
    status: CapStatus = CapStatus.ACTUAL
    msg_type: CapMsgType = CapMsgType.ALERT
    references: int | None = Field(None, ge=1, le=ID_MAX, description="the alert corrected")
    urgency: CapUrgency | None = None
    severity: CapSeverity | None = None
    certainty: CapCertainty | None = None


class AlertOut(Schema):
    id: int
    state: str = Field(
        description=(
            "published, or held: the category requires a second person's approval, and the "
            "alert is sent (and its url and cap_url work) only once an approver approves it "
            "in the console"
        )
    )
    category: str
    subject: str
    body: str
    subject_en: str
    body_en: str
    status: str
    msg_type: str
    references: int | None
    cap_categories: list[str]
    urgency: str
    severity: str
    certainty: str
    published_at: datetime | None
    expires_at: datetime | None
    stopped_at: datetime | None
    url: str
    cap_url: str


class AlertPage(Schema):
    count: int
    items: list[AlertOut]


class DeliveryOut(Schema):
    """Counts only: who received the alert is never part of the API."""

    alert: int
    state: str
    total: int
    queued: int
    sending: int
    accepted: int
    failed: int
    retrying: int
    stopped: int
    expired: int
    percent: int
