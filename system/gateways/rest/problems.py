"""Every error as ``application/problem+json`` (RFC 9457): a status, a title and a reason a person
can act on. Bad input is a 4xx, never a 500."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException

MEDIA = "application/problem+json"

_TITLES = {
    400: "Bad request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    409: "Conflict",
    422: "Unprocessable content",
    500: "Internal server error",
}


class ProblemModel(BaseModel):
    """The problem document (its schema in the OpenAPI document)."""

    type: str = "about:blank"
    title: str
    status: int
    detail: str
    reason: str | None = None  # the engine's reject reason, when it judged the request
    field: str | None = None
    value: str | None = None
    seq: int | None = None  # the logged entry of a judged command


class Problem(Exception):
    """Raise anywhere in a handler: it becomes the problem+json answer."""

    def __init__(self, status: int, detail: str, **extra: Any) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.extra = {k: v for k, v in extra.items() if v is not None}


def problem_response(status: int, detail: str, **extra: Any) -> JSONResponse:
    body: dict[str, Any] = {
        "type": "about:blank",
        "title": _TITLES.get(status, "Error"),
        "status": status,
        "detail": detail,
    }
    body.update({k: v for k, v in extra.items() if v is not None})
    headers = {"WWW-Authenticate": "ApiKey"} if status == 401 else None
    return JSONResponse(body, status_code=status, media_type=MEDIA, headers=headers)


def _where(loc: Any) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header")]
    return ".".join(parts) or "request"


def install(app: FastAPI) -> None:
    """Route every error path of ``app`` through problem+json."""

    @app.exception_handler(Problem)
    async def _problem(_: Request, exc: Problem) -> JSONResponse:
        return problem_response(exc.status, exc.detail, **exc.extra)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        return problem_response(exc.status_code, str(exc.detail))

    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        errs = exc.errors()
        first = errs[0] if errs else {"loc": (), "msg": "invalid request"}
        where = _where(first.get("loc", ()))
        detail = f"{where}: {first.get('msg', 'invalid')}"
        if len(errs) > 1:
            detail += f" (and {len(errs) - 1} more)"
        # A body that is not JSON at all is a 400; JSON of the wrong shape is a 422.
        status = 400 if first.get("type") == "json_invalid" else 422
        return problem_response(status, detail, field=where)


PROBLEMS: dict[int | str, dict[str, Any]] = {
    code: {"model": ProblemModel, "content": {MEDIA: {}}, "description": _TITLES[code]}
    for code in (400, 401, 403, 404, 409, 422)
}
