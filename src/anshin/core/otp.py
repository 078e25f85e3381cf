"""Two-factor login for staff, enforced in one place.

`StaffTwoFactorMiddleware` sits after django-otp's OTPMiddleware: a request under /console/ or
/admin/ from a user who has given a password but no second factor yet is sent to the verify page
(a TOTP code or a backup code) or, with no authenticator yet, to the enrolment page. The sign-in,
sign-out, verify and enrol pages themselves are let through. The API (/api/, bearer keys) and the
resident pages are not touched: they never use a staff session.

Also here: the reads other parts need (a user's authenticator, whether 2FA holds for every active
account) and axes' log string, which names no user and no address.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.contrib.auth.models import User
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice

PROTECTED_PREFIXES = ("/console/", "/admin/")
MIDDLEWARE_PATH = "anshin.core.otp.StaffTwoFactorMiddleware"


#: Pages an unverified user must reach to finish (or abandon) signing in.
EXEMPT_VIEWS = frozenset(
    {"console:login", "console:logout", "console:otp_verify", "console:otp_enrol", "admin:logout"}
)


class StaffTwoFactorMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_view(
        self, request: HttpRequest, view: Any, args: Any, kwargs: Any
    ) -> HttpResponse | None:
        """After URL resolution, so exemptions are by view name, not by spelling of a path."""
        return _second_factor_redirect(request) if _needs_second_factor(request) else None


def _needs_second_factor(request: HttpRequest) -> bool:
    if not request.path_info.startswith(PROTECTED_PREFIXES):
        return False
    match = request.resolver_match
    if match is not None and match.view_name in EXEMPT_VIEWS:
        return False
    user: Any = request.user
    return bool(user.is_authenticated and not user.is_verified())


def _second_factor_redirect(request: HttpRequest) -> HttpResponse:
    user: Any = request.user
    name = "console:otp_verify" if confirmed_totp(user) else "console:otp_enrol"
    query = "" if request.method != "GET" else "?" + urlencode({"next": request.get_full_path()})
    target = reverse(name) + query
    if request.headers.get("HX-Request"):  # htmx would swap the page into a fragment
        response = HttpResponse(status=204)
        response["HX-Redirect"] = target
        return response
    return HttpResponseRedirect(target)


# --- Reads ---------------------------------------------------------------------------------


def confirmed_totp(user: User) -> TOTPDevice | None:
    return TOTPDevice.objects.filter(user=user, confirmed=True).order_by("pk").first()


def backup_codes_left(user: User) -> int:
    device = StaticDevice.objects.filter(user=user, confirmed=True).first()
    return device.token_set.count() if device else 0


@dataclass(frozen=True)
class TwoFactorStatus:
    """For the council's self-inspection: enforced, and who has no authenticator yet."""

    enforced: bool
    active_users: int
    without_device: int

    @property
    def ok(self) -> bool:
        return self.enforced and self.without_device == 0


def two_factor_status() -> TwoFactorStatus:
    active = User.objects.filter(is_active=True)
    with_device = TOTPDevice.objects.filter(confirmed=True).values("user_id")
    return TwoFactorStatus(
        enforced=MIDDLEWARE_PATH in settings.MIDDLEWARE
        and "django_otp.middleware.OTPMiddleware" in settings.MIDDLEWARE,
        active_users=active.count(),
        without_device=active.exclude(pk__in=with_device).count(),
    )


def normalise_code(raw: str) -> str:
    """What a person types: spaces and hyphens dropped, any case, full-width digits folded."""
    folded = raw.translate(_FULL_WIDTH)
    return "".join(c for c in folded if c not in " -\u3000").lower()


_FULL_WIDTH = str.maketrans("０１２３４５６７８９", "0123456789")


def axes_client_str(
    username: str | None,
    ip_address: str | None,
    user_agent: str | None,
    path_info: str | tuple[str, ...] | None,
    request: HttpRequest | None,
) -> str:
    """Axes' log text: the path only (no username, no address: those stay in axes' table)."""
    path = path_info[0] if isinstance(path_info, tuple | list) else path_info
    return "{path_info: %s}" % (path or "")


USERNAME_MAX = 150  # django.contrib.auth's User.username


def axes_username(request: HttpRequest, credentials: dict[str, Any] | None = None) -> str | None:
    """The username axes records, cut to the longest a real one can be: the sign-in form does
    not limit it, and axes' column would refuse (PostgreSQL) a hostile 5,000-character one."""
    source: Any = credentials if credentials else request.POST
    username = source.get("username")
    return username[:USERNAME_MAX] if isinstance(username, str) else username
