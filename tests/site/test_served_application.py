"""What ``manage.py run_web`` serves: ``exchange_site.asgi.served_application``."""

import gc
import os
import subprocess
import sys

from django.conf import settings
from django.urls import get_resolver

from exchange_site import asgi


def _tracked(obj) -> bool:
    return any(o is obj for o in gc.get_objects())


def test_the_served_application_is_the_application(gc_state_restored):
    assert asgi.served_application() is asgi.application


def test_serving_freezes_what_is_loaded_including_the_url_conf(gc_state_restored):
    asgi.served_application()

    assert gc.get_freeze_count() > 0
    assert not _tracked(get_resolver().url_patterns)


def test_importing_the_application_freezes_nothing():
    # A fresh interpreter: this test process has imported the module long ago.
    probe = "import gc, exchange_site.asgi; print(gc.get_freeze_count(), gc.isenabled())"
    out = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=settings.BASE_DIR,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "exchange_site.settings"},
        capture_output=True,
        text=True,
        check=True,
    ).stdout

    assert out.split() == ["0", "True"]
