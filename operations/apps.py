from django.apps import AppConfig
from django.contrib.admin.apps import AdminConfig


class OperationsConfig(AppConfig):
    name = "operations"
    verbose_name = "Operations"


class ExchangeAdminConfig(AdminConfig):
    """Django's admin, with the back office as its default site."""

    default_site = "operations.admin_site.ExchangeAdminSite"
