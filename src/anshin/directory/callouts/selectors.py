"""Reads for the call-out board and its export: counts per choice and per department, who
answered what, and the sending progress per channel and round."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db.models import Count
from django.utils import timezone

from anshin.delivery.models import SendState
from anshin.directory.models_callout import Callout, CalloutRecipient, CalloutSend

WAITING = (SendState.QUEUED, SendState.SENDING)


@dataclass
class DepartmentRow:
    department: str
    counts: list[int]  # per choice, then "no answer"
    total: int = 0


@dataclass
class PersonRow:
    staff_id: str
    name: str
    department: str
    answer: str  # the choice's label, "" for no answer
    replied_at: datetime | None
    email: str  # the initial mail's state ("" when none)
    sms: str

    @property
    def email_label(self) -> str:
        return str(SendState(self.email).label) if self.email else ""

    @property
    def sms_label(self) -> str:
        return str(SendState(self.sms).label) if self.sms else ""


@dataclass
class ChannelProgress:
    channel: str
    round: int
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    @property
    def waiting(self) -> int:
        return sum(self.counts.get(s, 0) for s in WAITING)

    @property
    def accepted(self) -> int:
        return self.counts.get(SendState.ACCEPTED, 0)

    @property
    def failed(self) -> int:
        return self.counts.get(SendState.FAILED, 0)

    @property
    def expired(self) -> int:
        return self.counts.get(SendState.EXPIRED, 0)


@dataclass
class Board:
    callout: Callout
    choice_counts: list[tuple[str, int]]
    no_answer: int
    departments: list[DepartmentRow]
    progress: list[ChannelProgress]
    finished: bool


def board(callout: Callout) -> Board:
    per_choice = Counter(
        dict(
            CalloutRecipient.objects.filter(callout=callout)
            .values_list("choice")
            .annotate(n=Count("pk"))
            .values_list("choice", "n")
        )
    )
    labels = list(callout.choices)
    progress = channel_progress(callout)
    return Board(
        callout=callout,
        choice_counts=[(label, per_choice.get(i, 0)) for i, label in enumerate(labels)],
        no_answer=per_choice.get(None, 0),
        departments=_departments(callout, len(labels)),
        progress=progress,
        finished=all(p.waiting == 0 for p in progress),
    )


def _departments(callout: Callout, choices: int) -> list[DepartmentRow]:
    rows: dict[str, DepartmentRow] = {}
    grouped = (
        CalloutRecipient.objects.filter(callout=callout)
        .values_list("department", "choice")
        .annotate(n=Count("pk"))
        .values_list("department", "choice", "n")
    )
    for department, choice, n in grouped:
        row = rows.setdefault(department, DepartmentRow(department, [0] * (choices + 1)))
        row.counts[choices if choice is None else choice] += n
        row.total += n
    return [rows[name] for name in sorted(rows)]


def channel_progress(callout: Callout) -> list[ChannelProgress]:
    found: dict[tuple[str, int], ChannelProgress] = {}
    grouped = (
        CalloutSend.objects.filter(callout=callout)
        .values_list("channel", "round", "state")
        .annotate(n=Count("pk"))
        .values_list("channel", "round", "state", "n")
    )
    for channel, round, state, n in grouped:
        found.setdefault((channel, round), ChannelProgress(channel, round)).counts[state] = n
    return [found[key] for key in sorted(found, key=lambda k: (k[1], k[0]))]


def people(callout: Callout) -> list[PersonRow]:
    """Everyone asked, answered first (latest first), then those who have not answered."""
    states = _initial_states(callout)
    labels = list(callout.choices)
    recipients = (
        CalloutRecipient.objects.filter(callout=callout)
        .select_related("member")
        .order_by("choice", "department", "pk")
    )
    rows = []
    for r in recipients:
        sent = states.get(r.pk, {})
        rows.append(
            PersonRow(
                staff_id=r.member.staff_id or "",
                name=r.member.name,
                department=r.department,
                answer=labels[r.choice] if r.choice is not None and r.choice < len(labels) else "",
                replied_at=r.replied_at,
                email=sent.get(CalloutSend.Channel.EMAIL, ""),
                sms=sent.get(CalloutSend.Channel.SMS, ""),
            )
        )
    return sorted(rows, key=lambda p: (p.answer == "", p.department))


def _initial_states(callout: Callout) -> dict[int, dict[str, str]]:
    states: dict[int, dict[str, str]] = {}
    rows = CalloutSend.objects.filter(callout=callout, round=0).values_list(
        "recipient_id", "channel", "state"
    )
    for recipient_id, channel, state in rows:
        states.setdefault(recipient_id, {})[channel] = state
    return states


_STATE_JA: dict[str, str] = {
    SendState.QUEUED: "送信待ち",
    SendState.SENDING: "送信中",
    SendState.ACCEPTED: "送信済み",
    SendState.FAILED: "失敗",
    SendState.STOPPED: "停止",
    SendState.EXPIRED: "期限切れ",
}


def result_rows(callout: Callout) -> list[list[str]]:
    """The export's rows (Japanese, for the city's own spreadsheet)."""
    rows = []
    for p in people(callout):
        replied = (
            timezone.localtime(p.replied_at).strftime("%Y-%m-%d %H:%M") if p.replied_at else ""
        )
        rows.append(
            [
                p.staff_id,
                p.name,
                p.department,
                p.answer or "未回答",
                replied,
                _STATE_JA.get(p.email, "") if p.email else "",
                _STATE_JA.get(p.sms, "") if p.sms else "",
            ]
        )
    return rows


def callout_list(limit: int = 100) -> list[Any]:
    return list(Callout.objects.all()[:limit])
