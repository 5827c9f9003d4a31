"""The admin as the exchange's back office: its index is the exchange's sections (with the
engine's state at the top) instead of a list of tables, and it serves the operator's dashboard.

It is the project's default admin site (``operations.apps.ExchangeAdminConfig``), so every
``admin.register`` lands here."""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest, HttpResponsePermanentRedirect
from django.urls import path, re_path, reverse

from . import dashboard
from .state import exchange_state

# The index's sections: title, what it is for, and the models in it (app label, model name).
SECTIONS = (
    (
        "Exchange",
        "What is traded, and how it stands.",
        (("markets", "market"), ("markets", "asset")),
    ),
    (
        "Money",
        "Deposits and withdrawals go through the engine; the ledger records every balance change.",
        (("history", "transfer"), ("history", "ledgerentry")),
    ),
    ("People", "Accounts and their API keys.", (("auth", "user"), ("accounts", "apikey"), ("auth", "group"))),
    (
        "Trading history",
        "As persisted from the engine: read only.",
        (("history", "order"), ("history", "fill"), ("history", "trade")),
    ),
)
# Addresses the history's pages had under the apps that held its models before ``history`` did
# (bookmarks, links in notes): they lead to the same pages.
FORMER_ADDRESSES = r"^(?:accounts/(?P<a>order|fill|ledgerentry|transfer)|markets/(?P<m>trade))/(?P<rest>.*)$"


class ExchangeAdminSite(admin.AdminSite):
    site_header = "Exchange back office"
    site_title = "Exchange back office"
    index_title = "Back office"
    index_template = "operations/admin_index.html"

    def get_urls(self):
        return [
            path("dashboard/", self.admin_view(dashboard.dashboard), name="dashboard"),
            path("dashboard/requeue", self.admin_view(dashboard.requeue), name="dashboard-requeue"),
            re_path(FORMER_ADDRESSES, self.former_address),
            *super().get_urls(),
        ]

    def former_address(
        self, request: HttpRequest, a: str | None = None, m: str | None = None, rest: str = ""
    ) -> HttpResponsePermanentRedirect:
        target = f"{reverse('admin:index', current_app=self.name)}history/{a or m}/{rest}"
        query = request.META.get("QUERY_STRING")
        return HttpResponsePermanentRedirect(f"{target}?{query}" if query else target)

    def index(self, request, extra_context=None):
        models = {
            (app["app_label"], model["object_name"].lower()): model
            for app in self.get_app_list(request)
            for model in app["models"]
        }
        sections = []
        for title, about, keys in SECTIONS:
            found = [models.pop(key) for key in keys if key in models]
            if found:
                sections.append({"title": title, "about": about, "models": found})
        if models:  # registered by an app not named above
            sections.append({"title": "Other", "about": "", "models": list(models.values())})
        context = {"sections": sections, "state": exchange_state(), **(extra_context or {})}
        return super().index(request, context)
