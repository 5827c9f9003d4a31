"""System endpoints of the public API: status, time, ping."""

from __future__ import annotations

import time

from django.http import HttpResponse, HttpResponsePermanentRedirect, JsonResponse
from django.templatetags.static import static
from django.views.decorators.csrf import csrf_exempt
from django.views.defaults import page_not_found
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView


class StatusView(APIView):
    @extend_schema(
        operation_id="get_status",
        responses=inline_serializer(
            "Status", {"status": serializers.CharField(), "message": serializers.CharField(allow_null=True)}
        ),
    )
    def get(self, request):
        from engine.client import engine_status

        accepting, why = engine_status()
        if accepting:
            return Response({"status": "Ok", "message": None})
        return Response({"status": "Maintenance", "message": why})


class TimeView(APIView):
    @extend_schema(operation_id="get_time", responses={(200, "text/plain"): OpenApiTypes.STR})
    def get(self, request):
        return HttpResponse(str(time.time_ns() // 1_000_000), content_type="text/plain")


class PingView(APIView):
    @extend_schema(operation_id="get_ping", responses={(200, "text/plain"): OpenApiTypes.STR})
    def get(self, request):
        return HttpResponse("pong", content_type="text/plain")


@csrf_exempt  # else a POST or DELETE to a path that does not exist gets the CSRF check's HTML 403
def not_found(request, exception=None):
    """JSON for API clients, Django's HTML page for people."""
    if request.path.startswith(("/api/", "/wapi/")):
        hint = " (no trailing slash)" if request.path.endswith("/") else ""
        return JsonResponse(
            {"code": "RESOURCE_NOT_FOUND", "message": f"no such path: {request.path}{hint}"}, status=404
        )
    return page_not_found(request, exception)


def server_error(request):
    return JsonResponse({"code": "SERVER_ERROR", "message": "internal server error"}, status=500)


def favicon(request):
    # Browsers ask for /favicon.ico on pages that name no icon (the admin's); answer with ours
    # rather than a 404 in every console.
    return HttpResponsePermanentRedirect(static("favicon.svg"))
