"""Health for load balancers and supervisors: ``/livez`` (this web process answers) and
``/readyz`` (it can serve: the database, Redis and the engine are there)."""

from __future__ import annotations

from django.db import connection
from django.db.utils import Error as DatabaseError
from django.http import JsonResponse

from engine.client import engine_status


def livez(request) -> JsonResponse:
    return JsonResponse({"status": "live"})


def readyz(request) -> JsonResponse:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except DatabaseError as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return _unready(f"database unreachable: {first}")
    accepting, why = engine_status()  # says so when Redis does not answer
    if not accepting:
        return _unready(why)
    return JsonResponse({"status": "ready"})


def _unready(reason: str) -> JsonResponse:
    return JsonResponse({"status": "unready", "reason": reason}, status=503)
