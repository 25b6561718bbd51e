"""One error model: every error is ``{"type": ..., "detail": ..., "field": ...}`` with a 4xx/5xx status."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException


class ErrorBody(BaseModel):
    """The body of every error response."""

    type: str
    detail: str
    field: str | None = None


class ApiError(Exception):
    """Base of the errors services raise; never ``HTTPException``."""

    status_code = 400
    type = "bad_request"

    def __init__(self, detail: str, field: str | None = None, headers: dict[str, str] | None = None) -> None:
        super().__init__(detail)
        self.detail, self.field, self.headers = detail, field, headers


class BadRequest(ApiError):
    status_code, type = 400, "bad_request"


class Unauthorized(ApiError):
    status_code, type = 401, "unauthorized"


class Forbidden(ApiError):
    status_code, type = 403, "forbidden"


class NotFound(ApiError):
    status_code, type = 404, "not_found"


class Conflict(ApiError):
    status_code, type = 409, "conflict"


class Unprocessable(ApiError):
    status_code, type = 422, "validation_error"


class TooManyRequests(ApiError):
    status_code, type = 429, "quota_exceeded"


class ServiceUnavailable(ApiError):
    status_code, type = 503, "unavailable"


def responses(*errors: type[ApiError]) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses=`` entries for the errors a route can return."""
    return {error.status_code: {"model": ErrorBody, "description": error.type} for error in errors}


def _body(type_: str, detail: str, field: str | None) -> dict[str, Any]:
    return ErrorBody(type=type_, detail=detail, field=field).model_dump()


def install_error_handlers(app: FastAPI) -> None:
    """Render every error in the one shape."""

    @app.exception_handler(ApiError)
    async def _api_error(_: Request, exc: ApiError) -> JSONResponse:
        return JSONResponse(_body(exc.type, exc.detail, exc.field), exc.status_code, headers=exc.headers)

    from cloudact.warehouse import WarehouseBusyError

    @app.exception_handler(WarehouseBusyError)
    async def _warehouse_busy(_: Request, exc: WarehouseBusyError) -> JSONResponse:
        # A warehouse file held by a long write in another process: a retry later succeeds.
        return JSONResponse(_body("unavailable", str(exc), None), 503, headers={"Retry-After": "30"})

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        first = exc.errors()[0] if exc.errors() else {"loc": (), "msg": "invalid request"}
        field = ".".join(str(part) for part in first.get("loc", ()) if part not in ("body", "query", "path", "header"))
        # Pydantic's message, never its ``input`` (which may hold a secret).
        return JSONResponse(_body("validation_error", f"{field or 'request'}: {first.get('msg')}", field or None), 422)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        kind = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        return JSONResponse(_body(kind, str(exc.detail), None), exc.status_code, headers=exc.headers)
