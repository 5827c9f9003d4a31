"""ASGI entry point: one server, one port, HTTP and websockets at ``/``.

HTTP goes through Django's WSGI handler on a fixed pool of threads (a2wsgi). Django's own ASGI
handler runs every sync middleware hook and the sync DRF view through ``sync_to_async``, a
dozen thread hand-offs per request, which measured ~3x slower here; and it opens a database
connection per request thread that ``CONN_MAX_AGE`` then keeps open, exhausting PostgreSQL's
connection limit under load. A fixed pool bounds the connections to ``WEB_HTTP_THREADS`` per
process and reuses them. Websockets are Channels consumers as usual.
"""

import gc
import os

from a2wsgi import WSGIMiddleware
from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "exchange_site.settings")
wsgi_app = get_wsgi_application()

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from django.conf import settings  # noqa: E402
from django.urls import get_resolver, path  # noqa: E402

from accounts.api.fast import OrderEntry  # noqa: E402
from streams.consumers import StreamConsumer  # noqa: E402

django_http = WSGIMiddleware(wsgi_app, workers=settings.WEB_HTTP_THREADS)
application = ProtocolTypeRouter(
    {
        # Signed order entry and cancels on the event loop, the rest through Django on the
        # threads (accounts.api.fast says why and which requests).
        "http": OrderEntry(django_http, django_http.executor),
        # No session middleware: the consumer reads the session cookie itself, only for a
        # private subscription without a signature (streams.auth.session_account), and only
        # from our own origin. No origin validator on the whole endpoint: third-party Backpack
        # frontends must reach the public streams.
        "websocket": URLRouter([path("", StreamConsumer.as_asgi())]),
    }
)


def served_application():
    """What ``manage.py run_web`` serves (uvicorn ``--factory``): the application, with the URL
    conf and its views loaded and everything loaded so far frozen.

    All of that (Django, DRF, the apps) lives as long as the process and holds no garbage, yet
    every full pass of the cyclic GC walked it: under bench/order_load.py a web process's full
    passes took ~190 ms each, stalling all its request threads at once; frozen, 55-80 ms
    (measured the same way). Frozen objects are still freed by reference counting. Only served
    processes freeze: a test run that imports ``application`` keeps its collector as it was.
    """
    get_resolver().url_patterns  # noqa: B018 - imports the URL conf and every view now
    gc.collect()
    gc.freeze()
    return application
