"""The server-rendered trading page. The websocket shares ``/`` (the ASGI router splits by
protocol), so a GET of ``/`` is this page and a websocket upgrade of ``/`` is the stream."""

from __future__ import annotations

from django.urls import path

from . import ui_views

urlpatterns = [
    path("", ui_views.trade, name="trade"),
    path("trade/<str:symbol>", ui_views.trade, name="trade_market"),
]
