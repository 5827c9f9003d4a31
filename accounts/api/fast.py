"""Order entry on the web server's event loop: API-key requests to place and cancel orders.

``POST``/``DELETE /api/v1/order`` and ``POST``/``DELETE /api/v1/orders``, signed with an API key,
are most of what a trading client sends. Through Django they cost ~1.4-1.8 ms of web CPU each
(bench/order_load.py), and the profile of a web process under that load (bench/README.md) put
a third of it in handing each request to a thread and back (a2wsgi: the body, the response head
and the body each cross between the event loop and the thread), another quarter in Django's
handler, middleware, URL resolution and DRF's dispatch, and two Redis round trips made from the
thread (the rate-limit counters, then the append) where one script does both.

So this ASGI app, in front of Django's (``exchange_site.asgi``), answers those requests itself, on
the event loop, with the same parts the DRF views use, each defined once and shared:
- authentication: ``accounts.authentication.verify_signature`` on the body read by
  ``accounts.api.parsers.parse_body``, the signing instruction taken from the view;
- rate limits: the counters of ``accounts.api.throttling`` (IP, key, user), counted in the same
  Redis script as the append (``engine.client.submit_async``), or on their own (``count_async``)
  for a request refused before it reaches the engine, exactly when DRF's view would count them;
- validation and answers: ``accounts.services.prepare_*`` (the views run the same
  ``Submission`` with the blocking client);
- error bodies: ``exchange_site.api_errors.exception_handler``, rendered by DRF's
  ``JSONRenderer``; an unexpected error goes through Django's own ``response_for_exception``;
- the headers Django's middleware adds to these answers, taken from the middleware itself;
  the request metrics and the access log through ``operations``' functions;
- the OpenAPI description stays that of the DRF views, which still serve every other request
  to these paths.

Whatever this path does not handle exactly as Django would goes to Django untouched, decided
from the request head before the body is read: no ``X-API-Key`` (a browser session, with its CSRF
check), other methods (OPTIONS, HEAD), a repeated authentication header, a body that is not
``Content-Length``-framed JSON of at most 64 KB, an ``Accept`` DRF could answer otherwise, a host
not in ``ALLOWED_HOSTS``, plain HTTP where ``SECURE_SSL_REDIRECT`` wants HTTPS, or a middleware
list other than the one this path stands in for.

Only a cache miss needs the database (an API key or a market not seen for a couple of seconds):
Django refuses the ORM on the event loop (``SynchronousOnlyOperation``, raised before any query),
and that step then runs again on the HTTP threads, as Django's requests do.
"""

from __future__ import annotations

import asyncio
import io
import logging
import time
from collections.abc import Callable
from concurrent.futures import Executor
from dataclasses import dataclass
from http import HTTPStatus

from django.conf import settings
from django.core.exceptions import SynchronousOnlyOperation
from django.core.handlers.exception import response_for_exception
from django.core.handlers.wsgi import WSGIRequest
from django.core.signals import setting_changed
from django.db import close_old_connections
from django.dispatch import receiver
from django.http import HttpResponse
from django.http.request import split_domain_port, validate_host
from django.middleware.clickjacking import XFrameOptionsMiddleware
from django.middleware.security import SecurityMiddleware
from django.urls import Resolver404, resolve
from django.utils.log import log_response
from rest_framework import exceptions
from rest_framework.renderers import JSONRenderer

from engine import client as engine_client
from exchange_site.api_errors import exception_handler
from operations.logs import log_request
from operations.metrics import record_request

from .. import authentication, key_cache, services
from . import throttling, views
from .parsers import MAX_BODY_BYTES, parse_body

log = logging.getLogger(__name__)

PATHS = ("/api/v1/order", "/api/v1/orders")
# The operation each view runs (its ``post``/``delete`` is ``services.<operation>``, which is
# ``prepare_<operation>(...).run()``); the URL conf says which view serves which method.
PREPARE: dict[type, Callable[..., services.Submission]] = {
    views.OrderExecuteView: services.prepare_place_order,
    views.OrderCancelView: services.prepare_cancel_order,
    views.OrdersExecuteView: services.prepare_place_orders,
    views.OrdersCancelView: services.prepare_cancel_all,
}
# The middleware this path stands in for, in settings' order, and what each does to a signed
# API request here: with any other list, every request goes to Django.
MIDDLEWARE = {
    "operations.metrics.RequestMetricsMiddleware": "counted by record_request",
    "django.middleware.security.SecurityMiddleware": "its headers (Config.after_length)",
    "whitenoise.middleware.WhiteNoiseMiddleware": "nothing: it serves static files only",
    "django.contrib.sessions.middleware.SessionMiddleware": "nothing: no cookie is read",
    "django.middleware.common.CommonMiddleware": "refusals checked in _take and config()",
    "django.middleware.csrf.CsrfViewMiddleware": "nothing: the API views are exempt",
    "django.contrib.auth.middleware.AuthenticationMiddleware": "nothing: the key names the user",
    "django.contrib.messages.middleware.MessageMiddleware": "nothing: no messages",
    "django.middleware.clickjacking.XFrameOptionsMiddleware": "its header (Config.before_length)",
}
ACCESS_LOG_MIDDLEWARE = "operations.logs.AccessLogMiddleware"
# Accept values DRF's content negotiation answers with plain JSON (its one renderer, no indent).
PLAIN_ACCEPT = frozenset({"*/*", "application/json", "application/*"})
SIGNED_HEADERS = {
    b"x-api-key": "HTTP_X_API_KEY",
    b"x-timestamp": "HTTP_X_TIMESTAMP",
    b"x-window": "HTTP_X_WINDOW",
    b"x-signature": "HTTP_X_SIGNATURE",
}
# The other headers this path reads (and the proxy's HTTPS header, SECURE_PROXY_SSL_HEADER).
READ_HEADERS = frozenset(
    {b"host", b"content-length", b"content-type", b"accept", b"transfer-encoding", b"x-forwarded-proto"}
)
_renderer = JSONRenderer()


@dataclass(frozen=True, slots=True)
class Route:
    path: str
    view: type
    prepare: Callable[..., services.Submission]
    allow: bytes  # the Allow header DRF's view answers with


@dataclass(frozen=True, slots=True)
class Config:
    """What depends on settings, worked out once (and again when a test changes settings)."""

    enabled: bool
    access_log: bool
    # Headers the middleware adds to a JSON answer, before and after Content-Length (Django runs
    # process_response from the last middleware to the first), for plain HTTP and for HTTPS.
    before_length: tuple[tuple[bytes, bytes], ...]
    after_length: dict[bool, tuple[tuple[bytes, bytes], ...]]


class _Secure:
    """What the middleware's ``process_response`` asks of a request."""

    def __init__(self, secure: bool):
        self.secure = secure

    def is_secure(self) -> bool:
        return self.secure


def _added_headers(middleware, secure: bool) -> tuple[tuple[bytes, bytes], ...]:
    response = HttpResponse()
    before = set(response.headers)
    middleware(lambda request: response).process_response(_Secure(secure), response)
    return tuple(
        (name.lower().encode("latin-1"), value.encode("latin-1"))
        for name, value in response.headers.items()
        if name not in before
    )


_config: Config | None = None
_routes: dict[tuple[str, str], Route] | None = None


@receiver(setting_changed, dispatch_uid="accounts.api.fast.settings")
def _settings_changed(**kwargs) -> None:
    global _config, _routes
    _config = _routes = None


def config() -> Config:
    global _config
    if _config is None:
        middleware = [m for m in settings.MIDDLEWARE if m != ACCESS_LOG_MIDDLEWARE]
        _config = Config(
            enabled=middleware == list(MIDDLEWARE) and not settings.APPEND_SLASH and not settings.PREPEND_WWW,
            access_log=ACCESS_LOG_MIDDLEWARE in settings.MIDDLEWARE,
            before_length=_added_headers(XFrameOptionsMiddleware, False),
            after_length={s: _added_headers(SecurityMiddleware, s) for s in (False, True)},
        )
    return _config


def routes() -> dict[tuple[str, str], Route]:
    """``(method, path)`` -> route, for the methods the URL conf gives to the views above."""
    global _routes
    if _routes is None:
        found = {}
        for path in PATHS:
            try:
                view_classes = getattr(resolve(path).func, "view_classes", {})
            except Resolver404:
                continue
            for method, view in view_classes.items():
                if view in PREPARE:
                    allow = ", ".join(view().allowed_methods).encode()
                    found[(method, path)] = Route(path, view, PREPARE[view], allow)
        _routes = found
    return _routes


class SignedRequest:
    """A request as ``verify_signature`` and the throttles read it."""

    __slots__ = ("method", "META", "body", "_data")

    def __init__(self, method: str, meta: dict[str, str], body: bytes):
        self.method, self.META, self.body = method, meta, body
        self._data = None

    @property
    def data(self) -> object:
        if self._data is None:
            self._data = parse_body(self.body)
        return self._data


def _is_secure(scope: dict, headers: dict[bytes, bytes]) -> bool:
    """``HttpRequest.is_secure`` for this request."""
    proxy = settings.SECURE_PROXY_SSL_HEADER
    if proxy:
        name, secure_value = proxy
        wanted = name.removeprefix("HTTP_").lower().replace("_", "-").encode("latin-1")
        value = headers.get(wanted)
        if value is not None:
            return value.decode("latin-1").split(",", 1)[0].strip() == secure_value
    return scope.get("scheme") == "https"


def _host_allowed(headers: dict[bytes, bytes]) -> bool:
    """Whether ``HttpRequest.get_host`` would accept the request's host (else Django answers
    the request, with its own 400)."""
    if settings.USE_X_FORWARDED_HOST:
        return False
    host = headers.get(b"host")
    if not host:
        return False
    allowed = settings.ALLOWED_HOSTS
    if settings.DEBUG and not allowed:
        allowed = [".localhost", "127.0.0.1", "[::1]"]
    domain, _ = split_domain_port(host.decode("latin-1"))
    return bool(domain) and validate_host(domain, allowed)


def _plain_accept(value: bytes | None) -> bool:
    if value is None:
        return True
    for item in value.decode("latin-1").split(","):
        media, _, params = item.partition(";")
        if media.strip() not in PLAIN_ACCEPT:
            return False
        if params and not all(p.strip().startswith("q=") for p in params.split(";")):
            return False
    return True


class OrderEntry:
    """The ASGI HTTP app: the hot routes' signed requests here, everything else to ``django``."""

    def __init__(self, django, executor: Executor):
        self.django = django
        self.executor = executor  # Django's HTTP threads: for the rare step that needs the ORM
        self.hearing_key_changes = False

    async def __call__(self, scope, receive, send) -> None:
        if not self.hearing_key_changes:  # the server's event loop runs from here on
            key_cache.listen_in_background()
            self.hearing_key_changes = True
        taken = self._take(scope)
        if taken is None:
            return await self.django(scope, receive, send)
        route, headers, secure = taken
        body = bytearray()
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            body += message.get("body", b"")
            if not message.get("more_body", False):
                break
        started = time.perf_counter()
        client = scope.get("client")
        meta = {
            meta_name: headers[name].decode("latin-1")
            for name, meta_name in SIGNED_HEADERS.items()
            if name in headers
        }
        if client is not None:
            meta["REMOTE_ADDR"] = client[0]
        request = SignedRequest(scope["method"], meta, bytes(body))
        try:
            status, content, extra = await self._answer(route, request)
            extra = ((b"content-type", b"application/json"), *extra, (b"allow", route.allow))
            if status >= 400:  # Django's handler logs every refused request so
                log_response("%s: %s", HTTPStatus(status).phrase, scope["path"], response=_Logged(status))
        except Exception as exc:  # noqa: BLE001 - what Django does with an error of a view
            status, content, extra = self._server_error(scope, bytes(body), exc)
        config_ = config()
        response_headers = [
            *extra,
            *config_.before_length,
            (b"content-length", str(len(content)).encode()),
            *config_.after_length[secure],
        ]
        await send({"type": "http.response.start", "status": status, "headers": response_headers})
        await send({"type": "http.response.body", "body": content})
        record_request(route.path, request.method, status, time.perf_counter() - started)
        if config_.access_log:
            log_request(request.method, scope["path"], status, started, meta.get("REMOTE_ADDR"))

    def _take(self, scope) -> tuple[Route, dict[bytes, bytes], bool] | None:
        """The route, headers and HTTPS-ness of a request this path answers as Django would;
        None sends it to Django."""
        if scope["type"] != "http" or scope.get("root_path"):
            return None
        route = routes().get((scope["method"], scope["path"]))
        if route is None:
            return None
        cfg = config()
        if not cfg.enabled or settings.DISALLOWED_USER_AGENTS:
            return None
        headers: dict[bytes, bytes] = {}
        for name, value in scope["headers"]:
            if name in headers and (name in SIGNED_HEADERS or name in READ_HEADERS):
                return None  # a header this path reads, twice: Django joins them with commas
            headers[name] = value
        if not headers.get(b"x-api-key") or b"transfer-encoding" in headers:
            return None
        length = headers.get(b"content-length")
        if length is None or not length.isdigit() or int(length) > MAX_BODY_BYTES:
            return None
        content_type = headers.get(b"content-type", b"").split(b";", 1)[0].strip().lower()
        if content_type != b"application/json" or not _plain_accept(headers.get(b"accept")):
            return None
        if not _host_allowed(headers):
            return None
        secure = _is_secure(scope, headers)
        if settings.SECURE_SSL_REDIRECT and not secure:
            return None
        return route, headers, secure

    async def _answer(self, route: Route, request: SignedRequest) -> tuple[int, bytes, tuple]:
        """What DRF's view answers, in the same order: authentication (a failure counts against
        the IP), the rate limits, validation, the engine."""
        ip = throttling.client_ip(request)
        instruction = route.view.signing_instruction
        try:
            user, key = await self._sync(authentication.verify_signature, request, instruction)
        except exceptions.APIException as exc:
            wait = await throttling.count_async([("ip", ip)])
            return _error(exceptions.Throttled(wait) if wait is not None else exc)
        identities = throttling.identities_of(ip, key, user)
        try:
            submission = await self._sync(route.prepare, user, request.data)
        except exceptions.APIException as exc:  # refused before the engine: count it on its own
            wait = await throttling.count_async(identities)
            return _error(exceptions.Throttled(wait) if wait is not None else exc)
        now = time.time()
        counters = throttling.counters(identities, now)
        answers = []
        try:
            for index, command in enumerate(submission.commands):
                try:
                    events = await engine_client.submit_async(
                        command, counters=[(c.key, c.limit, c.ttl) for c in counters]
                    )
                except engine_client.OverLimit as over:
                    return _error(exceptions.Throttled(throttling.wait_after(counters, over.counts, now)))
                counters = []  # the request is counted once, with its first command
                answers.append(submission.answer_one(index, events))
        except exceptions.APIException as exc:
            return _error(exc)
        return 200, _renderer.render(submission.answer(answers)), ()

    async def _sync(self, function, *args):
        try:
            return function(*args)
        except SynchronousOnlyOperation:
            # A cache miss reached the ORM, which blocks: that step again, on an HTTP thread.
            loop = asyncio.get_running_loop()
            return await loop.run_in_executor(self.executor, _on_thread, function, args)

    def _server_error(self, scope, body: bytes, exc: Exception) -> tuple[int, bytes, tuple]:
        """Django's answer to an unexpected error (logged; handler500, or the debug page)."""
        from a2wsgi.wsgi import build_environ

        try:
            request = WSGIRequest(build_environ(scope, io.BytesIO(body)))
            response = response_for_exception(request, exc)
        except Exception:  # noqa: BLE001 - the last resort must answer
            log.exception("answering an error of %s %s", scope["method"], scope["path"])
            return 500, b'{"code":"SERVER_ERROR","message":"internal server error"}', ()
        content_type = response.get("Content-Type", "application/json").encode("latin-1")
        return response.status_code, response.content, ((b"content-type", content_type),)


class _Logged:
    """What ``django.utils.log.log_response`` reads of a response."""

    def __init__(self, status_code: int):
        self.status_code = status_code


def _on_thread(function, args):
    close_old_connections()  # as Django's handler does around a request
    try:
        return function(*args)
    finally:
        close_old_connections()


def _error(exc: exceptions.APIException) -> tuple[int, bytes, tuple]:
    response = exception_handler(exc, {})
    extra = tuple(
        (name.lower().encode("latin-1"), value.encode("latin-1"))
        for name, value in response.headers.items()
        if name != "Content-Type"
    )
    return response.status_code, _renderer.render(response.data), extra
