"""What ``manage.py run_web`` serves: ``exchange_site.asgi.served_application``."""

import os
import subprocess
import sys

from django.conf import settings

from exchange_site import asgi

# Run in a fresh interpreter: this test process imported the module and resolved the URL conf
# long ago, so here both would be frozen whatever served_application did.
PROBE = """
import gc, exchange_site.asgi as asgi
from django.urls import get_resolver
from tests.gc_objects import tracked
print(gc.get_freeze_count(), gc.isenabled())
asgi.served_application()
print(gc.get_freeze_count() > 0, tracked(get_resolver().url_patterns))
"""


def test_the_served_application_is_the_application(gc_state_restored):
    assert asgi.served_application() is asgi.application


def _probe() -> list[list[str]]:
    out = subprocess.run(
        [sys.executable, "-c", PROBE],
        cwd=settings.BASE_DIR,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "exchange_site.settings"},
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return [line.split() for line in out.splitlines()]


def test_importing_the_application_freezes_nothing_and_serving_freezes_the_url_conf_too():
    on_import, once_served = _probe()

    assert on_import == ["0", "True"]
    assert once_served == ["True", "False"]
