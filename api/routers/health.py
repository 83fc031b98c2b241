"""``/health`` (the process lives) and ``/ready`` (it can serve), for load balancers and the
supervisor; left out of the API's schema and of rate limits."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from api.deps import ServicesDep

router = APIRouter(include_in_schema=False)


@router.get("/health")
async def health() -> dict[str, str]:
    return {"status": "alive"}


@router.get("/ready")
async def ready(services: ServicesDep) -> JSONResponse:
    failures = await services.readiness.failures()
    return JSONResponse({"ready": not failures, **failures}, status_code=503 if failures else 200)
