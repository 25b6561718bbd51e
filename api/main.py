"""The CloudAct REST API (FastAPI), versioned under ``/api/v1``."""

from __future__ import annotations

from fastapi import FastAPI

from api.errors import install_error_handlers
from api.routers import billing, orgs, pipelines, system


def create_app() -> FastAPI:
    """Build the app; settings and stores come from dependencies (tests override them)."""
    app = FastAPI(
        title="CloudAct API",
        version="1.0.0",
        description="Multi-tenant FinOps FOCUS 1.3 cost analytics. Root operations take `X-CA-Root-Key`; "
        "everything an org does takes its `X-API-Key` and the org in the path.",
    )
    install_error_handlers(app)
    for module in (system, billing, orgs, pipelines):
        app.include_router(module.router)

    @app.get("/health", tags=["system"])
    def get_health() -> dict[str, str]:
        """Liveness."""
        return {"status": "ok"}

    return app


app = create_app()
