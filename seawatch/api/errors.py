"""How the API answers errors: JSON ``{"detail": "..."}``, mapped in one place.

- Every :class:`seawatch.errors.SeawatchError` a route (or its guard) raises is answered by
  :func:`error_handler` with the error's HTTP status, its message as ``detail`` and its
  headers (``WWW-Authenticate``, ``Retry-After``): a bad parameter is an
  :class:`~seawatch.errors.InvalidValue` (400), an unknown or hidden id a
  :class:`~seawatch.errors.NotFound` (404), and so on; routes raise them and never build an
  HTTP error by hand.
- FastAPI's own validation errors (a parameter of the wrong type or out of its bounds) are
  400s too (:func:`validation_error`), one sentence per parameter
  (:func:`validation_message`).
- Anything else is a fault of the server: :class:`seawatch.api.app.GuardMiddleware` logs it
  and answers a JSON 500.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from seawatch.errors import SeawatchError, Unavailable

if TYPE_CHECKING:  # pragma: no cover
    from starlette.requests import Request
    from starlette.responses import Response


async def error_handler(_request: Request, exc: Exception) -> Response:
    """A :class:`~seawatch.errors.SeawatchError` raised by a route as its HTTP error.

    The one place the API turns seawatch's errors into answers: the error's status, its
    message as ``detail`` and its headers. An error of the server's own (status 500) is
    raised on, so that it is logged and answered as any other server fault."""
    from starlette.responses import JSONResponse

    assert isinstance(exc, SeawatchError)
    if exc.http_status >= 500 and not isinstance(exc, Unavailable):
        raise exc
    return JSONResponse({"detail": str(exc)}, status_code=exc.http_status,
                        headers=exc.headers() or None)


async def validation_error(_request: Request, exc: Exception) -> Response:
    """FastAPI's validation error of a request as a 400 saying which parameter and why."""
    from fastapi.exceptions import RequestValidationError
    from starlette.responses import JSONResponse

    assert isinstance(exc, RequestValidationError)
    return JSONResponse({"detail": validation_message(exc.errors())}, status_code=400)


def validation_message(errors: Sequence[Any]) -> str:
    """One sentence per invalid parameter, from FastAPI's validation errors.

    >>> validation_message([{"loc": ("query", "limit"), "msg": "Input should be less than "
    ...                      "or equal to 10000", "input": "20000"}])
    "query parameter 'limit': Input should be less than or equal to 10000 (got '20000')"
    """
    parts = []
    for error in errors:
        loc = [str(x) for x in error.get("loc", ())]
        where, name = (loc[0], ".".join(loc[1:])) if loc else ("request", "")
        text = f"{where} parameter {name!r}: {error.get('msg', 'invalid')}"
        got = error.get("input")
        if got is not None and where in ("query", "path") and not isinstance(got, dict):
            text += f" (got {str(got)[:60]!r})"
        parts.append(text)
    return "; ".join(parts) or "invalid request"


def add_error_handlers(app: Any) -> None:
    """Install :func:`validation_error` and :func:`error_handler` on a FastAPI app."""
    from fastapi.exceptions import RequestValidationError

    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_exception_handler(SeawatchError, error_handler)
