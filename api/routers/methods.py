"""``OPTIONS`` on any path: which methods it serves (the ``Allow`` header), or 404."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response, status

from api.errors import OPTIONS, allowed_methods, not_found

router = APIRouter()


# Added last: every other route is tried first, and none of them serves OPTIONS.
@router.api_route("/{path:path}", methods=[OPTIONS], include_in_schema=False)
async def options(request: Request, path: str) -> Response:
    methods = allowed_methods(request)
    if not methods:
        raise not_found("path", f"/{path}")
    return Response(status_code=status.HTTP_204_NO_CONTENT, headers={"Allow": ", ".join(methods)})
