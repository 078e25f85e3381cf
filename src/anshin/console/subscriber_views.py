"""Staff console: the residents' register (登録者) — find a resident, see their record with the
address masked, and, with a stated reason, see the full address once (P2).

Where an address may appear: the masked form on every page; the full form only in the body of
the one POST response of a reveal (never in a URL, a redirect, the session or a cache:
``Cache-Control: no-store``). A lookup by exact address is a POST too, so the typed address
stays out of URLs, browser history and access logs; it answers with a redirect to the
resident's page by id. Each view checks its permission before it reads or writes anything.
"""

from __future__ import annotations

from typing import Any, Final

from django import forms
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext_lazy as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from anshin.core.addresses import InvalidAddress
from anshin.core.audit import Actor
from anshin.delivery.models import Notification, SendState
from anshin.delivery.models_suppression import Bounce
from anshin.governance import access
from anshin.governance.models import REVEAL_NOTE_MAX, AddressReveal
from anshin.residents import register
from anshin.residents.models import Subscriber

ID_MAX_DIGITS: Final = 18  # fits a 64-bit id; longer input is refused before the database


def _require(request: HttpRequest, permission: str) -> None:
    if not request.user.has_perm(permission):
        raise PermissionDenied


# --- forms ------------------------------------------------------------------------------------


class FilterForm(forms.Form):
    state = forms.ChoiceField(
        label=_("State"),
        required=False,
        choices=[
            ("", _("All")),
            *Subscriber.State.choices,
            (register.ERASED, _("Address erased, keyed code kept")),
        ],
    )
    number = forms.CharField(
        label=_("Subscriber number"),
        required=False,
        max_length=ID_MAX_DIGITS + 2,
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off"}),
    )

    def clean_number(self) -> int | None:
        raw = self.cleaned_data["number"].strip().lstrip("#")
        if not raw:
            return None
        if not (raw.isascii() and raw.isdigit() and len(raw) <= ID_MAX_DIGITS):
            raise forms.ValidationError(_("A subscriber number is digits only, e.g. 1234."))
        return int(raw)


class FindForm(forms.Form):
    address = forms.CharField(
        label=_("Exact e-mail address"),
        max_length=320,
        help_text=_(
            "Looked up by its keyed code; the address is not kept. The look-up is recorded."
        ),
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )


class RevealForm(forms.Form):
    reason = forms.ChoiceField(
        label=_("Reason"), choices=AddressReveal.Reason.choices, widget=forms.RadioSelect
    )
    note = forms.CharField(
        label=_("What it is needed for"),
        max_length=REVEAL_NOTE_MAX,
        strip=False,  # the service strips; a control character must not vanish unnoticed
        help_text=_(
            "One line, kept in the register of reveals. Do not write the address or any other "
            "e-mail address."
        ),
        widget=forms.TextInput(attrs={"autocomplete": "off", "maxlength": REVEAL_NOTE_MAX}),
    )

    def clean_note(self) -> str:
        note: str = self.cleaned_data["note"]
        problem = access.note_problem(note)
        if problem is not None:
            raise forms.ValidationError(access.problem_message(problem))
        return note.strip()


# --- list and look-up -------------------------------------------------------------------------


@login_required
@require_GET
def subscriber_list(request: HttpRequest) -> HttpResponse:
    _require(request, access.VIEW)
    form = FilterForm(request.GET or None)
    valid = form.is_valid() if request.GET else True
    context = _list_context(form, valid, request.GET.get("page"))
    return render(request, "console/subscriber_list.html", context, status=200 if valid else 400)


def _list_context(form: FilterForm, valid: bool, page: str | None, **extra: Any) -> dict[str, Any]:
    data = form.cleaned_data if valid and form.is_bound else {}
    found, rows = register.subscriber_page(
        state=data.get("state") or "", number=data.get("number"), page=page
    )
    counts = register.state_counts()
    return {
        "form": form,
        "find_form": extra.pop("find_form", None) or FindForm(),
        "page": found,
        "rows": rows,
        "counts": [(label, counts[value], value) for value, label in Subscriber.State.choices],
        "erased_count": counts[register.ERASED],
        "query": _query(data),
        **extra,
    }


def _query(data: dict[str, Any]) -> str:
    """The filter, for the page links (a state and an id: no address ever)."""
    parts = [f"state={data['state']}"] if data.get("state") else []
    if data.get("number") is not None:
        parts.append(f"number={data['number']}")
    return "&".join(parts)


@login_required
@require_POST
def subscriber_find(request: HttpRequest) -> HttpResponse:
    """By exact address: to the resident's page, or back to the list saying none was found."""
    _require(request, access.VIEW)
    find = FindForm(request.POST)
    if find.is_valid():
        try:
            subscriber = access.subscriber_look_up(
                actor=Actor.staff(request.user), address=find.cleaned_data["address"]
            )
        except InvalidAddress as exc:
            find.add_error("address", _address_problem(exc))
        else:
            if subscriber is not None:
                return redirect("console:subscriber", subscriber.pk)
            context = _list_context(FilterForm(), True, None, find_form=FindForm(), not_found=True)
            return render(request, "console/subscriber_list.html", context, status=404)
    context = _list_context(FilterForm(), True, None, find_form=find)
    return render(request, "console/subscriber_list.html", context, status=400)


def _address_problem(exc: InvalidAddress) -> str:
    return str(_("This is not an e-mail address: %(reason)s")) % {"reason": str(exc)}


# --- one resident -----------------------------------------------------------------------------


@login_required
@require_GET
def subscriber_detail(request: HttpRequest, pk: int) -> HttpResponse:
    _require(request, access.VIEW)
    subscriber = get_object_or_404(Subscriber.objects.select_related("notice"), pk=pk)
    return render(request, "console/subscriber_detail.html", _detail_context(request, subscriber))


def _detail_context(request: HttpRequest, subscriber: Subscriber, **extra: Any) -> dict[str, Any]:
    summary = register.mail_summary(subscriber)
    return {
        "subscriber": subscriber,
        "masked": register.masked_address(subscriber),
        "categories": [c.name for c in subscriber.categories.order_by("sort_order", "pk")],
        "summary": summary,
        "alerts": [(SendState(k).label, n) for k, n in sorted(summary.alerts.items())],
        "notices": [(Notification.Kind(k).label, n) for k, n in sorted(summary.notices.items())],
        "bounces": [(Bounce.Kind(k).label, n) for k, n in sorted(summary.bounces.items())],
        "can_reveal": request.user.has_perm(access.REVEAL),
        "reveal_form": extra.pop("reveal_form", None) or RevealForm(),
        **extra,
    }


@never_cache
@login_required
@require_POST
def subscriber_reveal(request: HttpRequest, pk: int) -> HttpResponse:
    """The full address, in this response only, once a reason is given (and recorded).
    never_cache: ``Cache-Control: no-store`` (with no-cache, private, max-age=0)."""
    _require(request, access.REVEAL)
    subscriber = get_object_or_404(Subscriber.objects.select_related("notice"), pk=pk)
    form = RevealForm(request.POST)
    if form.is_valid():
        try:
            revealed = access.address_reveal(
                actor=Actor.staff(request.user), subscriber=subscriber, **form.cleaned_data
            )
        except access.RevealRefused as exc:
            form.add_error("note" if exc.code == "names_address" else None, exc.message)
        else:
            context = _detail_context(request, subscriber, revealed=revealed.address)
            return render(request, "console/subscriber_detail.html", context)
    context = _detail_context(request, subscriber, reveal_form=form)
    return render(request, "console/subscriber_detail.html", context, status=400)


# --- the register of reveals ------------------------------------------------------------------


@login_required
@require_GET
def reveal_register(request: HttpRequest) -> HttpResponse:
    _require(request, access.REGISTER)
    page = Paginator(access.reveal_register(), register.PER_PAGE).get_page(request.GET.get("page"))
    return render(request, "console/subscriber_reveals.html", {"page": page})
