from django.contrib import admin
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from . import system_views

urlpatterns = [
    path("api/v1/status", system_views.StatusView.as_view(), name="api-status"),
    path("api/v1/time", system_views.TimeView.as_view(), name="api-time"),
    path("api/v1/ping", system_views.PingView.as_view(), name="api-ping"),
    path("favicon.ico", system_views.favicon),
    path("api/schema", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("", include("operations.urls")),
    path("admin/", admin.site.urls),
    path("", include("markets.api.urls")),
    path("", include("accounts.api.urls")),
    path("", include("accounts.urls")),
    path("", include("markets.ui_urls")),
    # Anything else under the API prefixes (a trailing slash, a typo) is a JSON 404, also in
    # DEBUG, where Django would otherwise answer with its HTML page; never a redirect.
    re_path(r"^w?api/", system_views.not_found),
]


handler404 = "exchange_site.system_views.not_found"
handler500 = "exchange_site.system_views.server_error"
