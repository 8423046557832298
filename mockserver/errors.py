"""TMF error bodies: the one exception handlers raise and the middleware that answers every failure."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from http import HTTPStatus

from aiohttp import web

from mockserver.store import encode_json

__all__ = ["ApiError", "error_response", "json_response", "tmf_errors"]

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
    response = web.Response(
        body=encode_json(body) if encoded is None else encoded, status=status, headers=headers
    )
    response.headers["Content-Type"] = JSON_CONTENT_TYPE
    return response


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


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _framework_error(request: web.Request, error: web.HTTPException) -> web.Response:
    """The TMF Error for a failure aiohttp itself raised: no route, wrong method, body too large."""
    if error.status == 404:
        return error_response(404, "No resource is served at this path.")
    if error.status == 405:
        allowed = error.headers.get("Allow", "")
        return error_response(
            405, f"{request.method} is not allowed on this path; allowed: {allowed}.", {"Allow": allowed}
        )
    if error.status == 413:
        limit = request.client_max_size
        return error_response(
            413, f"The request body is larger than the server accepts ({limit} bytes at most)."
        )
    return error_response(error.status, error.reason)


@web.middleware
async def tmf_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Answer every 4xx/5xx with a TMF Error body; an unexpected exception becomes a logged 500."""
    try:
        return await handler(request)
    except ApiError as error:
        return error_response(error.status, error.message, error.headers)
    except web.HTTPException as error:
        if error.status < 400:
            raise
        return _framework_error(request, error)
    except Exception:
        log.exception("unexpected error answering %s %s", request.method, request.path)
        return error_response(500, "The server failed to answer this request.")
