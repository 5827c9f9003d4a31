"""The API's documentation page at /api/docs: Swagger UI on the OpenAPI schema, with its files
served by the exchange itself (drf-spectacular-sidecar), never from a CDN."""

from __future__ import annotations

import re

import pytest
from django.contrib.staticfiles import finders

pytestmark = pytest.mark.django_db


def test_the_docs_page_is_swagger_ui_on_the_exchanges_own_schema(client):
    response = client.get("/api/docs")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    assert '"/api/schema"' in response.content.decode()


def test_every_script_and_stylesheet_of_the_docs_page_is_a_static_file_of_the_exchange(client):
    page = client.get("/api/docs").content.decode()
    assets = re.findall(r'(?:src|href)="([^"]+\.(?:js|css))"', page)

    assert sorted(assets) == [
        "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js",
        "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-standalone-preset.js",
        "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui.css",
    ]
    assert all(finders.find(asset.removeprefix("/static/")) for asset in assets)
