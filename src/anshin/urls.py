from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView

from anshin.core import views as core_views

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="residents:subscribe", permanent=False)),
    path("healthz", core_views.healthz, name="healthz"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("console/governance/", include("anshin.governance.urls_console")),
    path("console/inbound/", include("anshin.inbound.urls_console")),
    path("console/", include("anshin.console.urls")),
    path("admin/", admin.site.urls),
    path("r/", include("anshin.directory.urls")),
    path("transparency/", include("anshin.governance.urls")),
    path("", include("anshin.alerts.urls")),  # /alerts/ archive, /feeds/ Atom, RSS, CAP
    path("api/", include("anshin.api.urls")),
    path("console/api-keys/", include("anshin.api.urls_console")),
    path("console/channels/", include("anshin.channels.urls")),
    path("", include("anshin.residents.urls")),
]

handler404 = "anshin.core.views.not_found"
handler500 = "anshin.core.views.server_error"
