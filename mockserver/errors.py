"""TMF error bodies: the one exception handlers raise and the answer to every failure."""

from __future__ import annotations

import logging
from http import HTTPStatus

from aiohttp import web

from mockserver.store import encode_json

__all__ = ["ApiError", "error_answer", "error_response", "json_response"]

log = logging.getLogger("mockserver")
JSON_CONTENT_TYPE = "application/json;charset=utf-8"


class ApiError(Exception):
    """A client error answered with a TMF Error body; ``message`` is one sentence for the client."""

    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers or {}


def json_response(
    body: object, status: int = 200, headers: dict[str, str] | None = None, *, encoded: bytes | None = None
) -> web.Response:
    """A JSON response of ``body`` (``encode_json``), or of its ``encoded`` form when already rendered."""
    return web.Response(
        body=encode_json(body) if encoded is None else encoded,
        status=status,
        headers={**headers, "Content-Type": JSON_CONTENT_TYPE} if headers else {"Content-Type": JSON_CONTENT_TYPE},
    )


def error_response(status: int, message: str, headers: dict[str, str] | None = None) -> web.Response:
    """The TMF Error body for one status."""
    reason = HTTPStatus(status).phrase if status in HTTPStatus._value2member_map_ else "Error"
    body = {
        "code": str(status),
        "reason": reason,
        "message": message,
        "status": str(status),
        "@type": "Error",
    }
    return json_response(body, status, headers)


def _framework_error(request: web.Request, error: web.HTTPException) -> web.Response:
    """The TMF Error for a failure aiohttp itself raised while reading a request (a body too large)."""
    if error.status == 413:
        limit = request.client_max_size
        return error_response(
            413, f"The request body is larger than the server accepts ({limit} bytes at most)."
        )
    return error_response(error.status, error.reason)


def error_answer(request: web.Request, error: Exception) -> web.Response:
    """The TMF Error answering a failure; an unexpected exception becomes a logged 500."""
    if isinstance(error, ApiError):
        return error_response(error.status, error.message, error.headers)
    if isinstance(error, web.HTTPException):
        if error.status < 400:
            raise error
        return _framework_error(request, error)
    log.error("unexpected error answering %s %s", request.method, request.path, exc_info=error)
    return error_response(500, "The server failed to answer this request.")
