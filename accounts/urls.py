"""Account pages (server-rendered; the private API is in ``accounts.api.urls``)."""

from __future__ import annotations

from django.urls import path

from . import views

urlpatterns = [
    path("signup", views.signup, name="signup"),
    path("login", views.LoginView.as_view(), name="login"),
    path("logout", views.LogoutView.as_view(), name="logout"),
    path("account/api-keys", views.api_keys, name="api_keys"),
    path("account/api-keys/<int:key_id>/revoke", views.revoke_api_key, name="api_key_revoke"),
]
