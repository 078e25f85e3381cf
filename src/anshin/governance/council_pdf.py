"""The council report as a PDF in Japanese (the council reads Japanese; the console page
follows the reader's language). Built on governance/pdf.py, whose CJK font is embedded."""

from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import override

from anshin.governance import pdf
from anshin.governance.council import NG, NOT_YET, OK, Report
from anshin.governance.models import Disclosure


def _when(moment: datetime | None) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M") if moment else "—"


def _user(user: object | None) -> str:
    return str(getattr(user, "username", "")) if user else "—"


def _handover(disclosure: Disclosure) -> str:
    if disclosure.provided_on is None:
        return "—"
    return f"{disclosure.provided_on} {_user(disclosure.provided_by)}"


def check_state(state: str) -> str:
    return {OK: _("OK"), NG: _("Needs action"), NOT_YET: _("Not yet")}[state]


def report_pdf(report: Report, now: datetime) -> bytes:
    with override("ja"):
        title = _("Report to the personal information protection council")
        intro = [
            _("Issued by: %(city)s") % {"city": settings.CITY_NAME},
            _("Period: %(start)s to %(end)s") % {"start": report.start, "end": report.end},
            _("Issued at: %(when)s") % {"when": _when(now)},
            _("Audit log chain head: #%(seq)s %(hash)s (%(state)s)")
            % {
                "seq": report.chain.head_seq,
                "hash": report.chain.head_hash,
                "state": _("verified") if report.chain.ok else _("NOT verified"),
            },
        ]
        return pdf.render_report(title, intro, sections(report), now)


def sections(report: Report) -> list[pdf.Section]:
    none = _("None in this period.")
    return [
        pdf.Section(
            _("Self-inspection checklist"),
            [_("Item"), _("Result"), _("Detail")],
            [[c.label, check_state(c.state), c.detail] for c in report.checklist],
        ),
        pdf.Section(
            _("Personal data held"),
            [_("Kind"), _("Count")],
            [[label, str(n)] for label, n in report.held],
        ),
        pdf.Section(
            _("Privacy notice versions"),
            [_("Version"), _("Published"), _("Residents registered under it")],
            [
                [f"v{r.notice.version}", _when(r.notice.published_at), str(r.residents)]
                for r in report.notices
            ],
            none,
        ),
        pdf.Section(
            _("Disclosures to third parties"),
            [
                _("No."),
                _("Requested"),
                _("Recipient"),
                _("Legal basis"),
                _("State"),
                _("Approved by"),
                _("Handed over"),
            ],
            [
                [
                    str(d.pk),
                    _when(d.requested_at),
                    d.recipient,
                    f"{d.legal_basis} {d.reference}".strip(),
                    str(d.get_state_display()),
                    _user(d.decided_by),
                    _handover(d),
                ]
                for d in report.disclosures
            ],
            none,
        ),
        pdf.Section(
            _("Deletions (certificates of deletion)"),
            [_("Certificate number"), _("Data"), _("Number of records"), _("Deleted at")],
            [
                [c.serial, c.kind_label, str(c.count), _when(c.closed_at)]
                for c in report.certificates
            ],
            none,
        ),
        pdf.Section(
            _("Near-misses and incidents"),
            [_("Found"), _("Kind"), _("Title"), _("Persons affected"), _("State")],
            [
                [
                    _when(i.found_at),
                    str(i.get_kind_display()),
                    i.title,
                    str(i.affected),
                    _("Closed") if i.closed_at else _("Open"),
                ]
                for i in report.incidents
            ],
            none,
        ),
        pdf.Section(
            _("Access and actions (audit log)"),
            [_("Action"), _("Count")],
            [[action, str(n)] for action, n in report.access],
            none,
        ),
        pdf.Section(
            _("Full addresses seen by staff, per month"),
            [_("Month"), _("Full addresses seen"), _("Look-ups by address")],
            [[m, str(seen), str(looked)] for m, seen, looked in report.reveals],
            none,
        ),
        pdf.Section(
            _("Deliveries per month and category"),
            [_("Month"), _("Category"), _("Alerts"), _("Recipients")],
            [[m, c, str(a), str(r)] for m, c, a, r in report.deliveries],
            none,
        ),
    ]
