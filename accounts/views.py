"""Server-rendered account pages: sign-up, login, logout, API keys.

The API key secret is generated here and shown once, in the response to the POST that created
it (never stored, never in a redirect's URL or the session).
"""

from __future__ import annotations

import math

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render, resolve_url
from django.urls import NoReverseMatch, reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from exchange_site.api_errors import ApiError

from . import selectors, services
from .api import throttling
from .forms import ApiKeyForm, SignUpForm


def home_url() -> str:
    """Where a user lands after logging in: the trading page once it exists, else the keys page."""
    try:
        return resolve_url(settings.LOGIN_REDIRECT_URL)
    except NoReverseMatch:
        return reverse("api_keys")


class LoginView(auth_views.LoginView):
    template_name = "registration/login.html"
    redirect_authenticated_user = True

    def get_default_redirect_url(self) -> str:
        return home_url()

    def post(self, request: HttpRequest, *args, **kwargs) -> HttpResponse:
        # Password guessing: attempts are counted per username and per address, like the API's
        # requests, whether or not they succeed.
        username = (request.POST.get("username") or "").strip().lower()[:150]
        wait = throttling.count([("login_user", username), ("login_ip", throttling.client_ip(request))])
        if wait is None:
            return super().post(request, *args, **kwargs)
        form = self.get_form()
        form.add_error(None, f"Too many login attempts: try again in {math.ceil(wait)} s.")
        response = self.form_invalid(form)
        response.status_code = 429
        response["Retry-After"] = str(math.ceil(wait))
        return response


class LogoutView(auth_views.LogoutView):
    def get_default_redirect_url(self) -> str:
        return reverse("login")


@require_http_methods(["GET", "POST"])
def signup(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        return redirect(home_url())
    form = SignUpForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        user = form.save()
        login(request, user, backend="django.contrib.auth.backends.ModelBackend")
        return redirect(home_url())
    return render(request, "accounts/signup.html", {"form": form})


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def api_keys(request: HttpRequest) -> HttpResponse:
    form = ApiKeyForm(request.POST or None)
    created = None
    if request.method == "POST" and form.is_valid():
        key, secret = services.create_api_key(request.user, form.cleaned_data["label"])
        created = {"key": key, "secret": secret}
        form = ApiKeyForm()
    return render(
        request,
        "accounts/api_keys.html",
        {"form": form, "keys": selectors.api_keys(request.user), "created": created},
    )


@login_required
@require_POST
def revoke_api_key(request: HttpRequest, key_id: int) -> HttpResponse:
    try:
        key = services.revoke_api_key(request.user, key_id)
    except ApiError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"Key {key.label or key.public_key[:12]} revoked.")
    return redirect("api_keys")
