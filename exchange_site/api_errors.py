"""Every API error leaves as ``{"code": ..., "message": ...}`` (the wire contract)."""

from __future__ import annotations

from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.response import Response


class ApiError(exceptions.APIException):
    """An error with a contract ``code``. Raise it from services; views need not catch it."""

    status_code = status.HTTP_400_BAD_REQUEST

    def __init__(self, code: str, message: str, http_status: int = 400, headers: dict | None = None):
        super().__init__(message)
        self.code = code
        self.message = message
        self.status_code = http_status
        self.headers = headers or {}


_DRF_CODES = {
    exceptions.NotAuthenticated: "UNAUTHORIZED",
    exceptions.AuthenticationFailed: "UNAUTHORIZED",
    exceptions.PermissionDenied: "UNAUTHORIZED",
    exceptions.NotFound: "RESOURCE_NOT_FOUND",
    exceptions.MethodNotAllowed: "INVALID_CLIENT_REQUEST",
    exceptions.UnsupportedMediaType: "INVALID_CLIENT_REQUEST",
    exceptions.ParseError: "INVALID_CLIENT_REQUEST",
    exceptions.Throttled: "TOO_MANY_REQUESTS",
    exceptions.ValidationError: "INVALID_CLIENT_REQUEST",
}


def _message(detail) -> str:
    if isinstance(detail, dict):
        return "; ".join(f"{k}: {_message(v)}" for k, v in detail.items())
    if isinstance(detail, list):
        return "; ".join(_message(v) for v in detail)
    return str(detail)


def exception_handler(exc, context):
    if isinstance(exc, ApiError):
        return Response(
            {"code": exc.code, "message": exc.message}, status=exc.status_code, headers=exc.headers
        )
    if isinstance(exc, Http404):
        return Response({"code": "RESOURCE_NOT_FOUND", "message": "Not found"}, status=404)
    if isinstance(exc, exceptions.APIException):
        code = next((c for cls, c in _DRF_CODES.items() if isinstance(exc, cls)), "INVALID_CLIENT_REQUEST")
        headers = {}
        if isinstance(exc, exceptions.Throttled) and exc.wait is not None:
            headers["Retry-After"] = str(int(exc.wait) + 1)
        return Response(
            {"code": code, "message": _message(exc.detail)}, status=exc.status_code, headers=headers
        )
    return None  # unexpected: Django's handler500 answers with SERVER_ERROR
