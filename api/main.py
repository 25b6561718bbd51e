"""The CloudAct REST API (FastAPI), versioned under ``/api/v1``."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

from api.errors import ErrorBody, install_error_handlers
from api.routers import agreements, billing, costs, hierarchy, orgs, pipelines, subscriptions, system


def create_app() -> FastAPI:
    """Build the app; settings and stores come from dependencies (tests override them)."""
    app = FastAPI(
        title="CloudAct API",
        version="1.0.0",
        description="Multi-tenant FinOps FOCUS 1.3 cost analytics. Root operations take `X-CA-Root-Key`; "
        "everything an org does takes its `X-API-Key` and the org in the path.",
    )
    install_error_handlers(app)
    for module in (system, billing, orgs, pipelines, costs, hierarchy, subscriptions, agreements):
        app.include_router(module.router)

    original_openapi = app.openapi

    def openapi() -> dict[str, Any]:
        """FastAPI's document, with our one error body on 422 (and on 400 for malformed JSON bodies)."""
        if app.openapi_schema:
            return app.openapi_schema
        schema = original_openapi()
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        components.setdefault("ErrorBody", ErrorBody.model_json_schema(ref_template="#/components/schemas/{model}"))
        error = {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}}}
        for operations in schema.get("paths", {}).values():
            for operation in operations.values():
                responses = operation.setdefault("responses", {})
                if "422" in responses:
                    responses["422"] = {"description": "validation_error", **error}
                if "requestBody" in operation and "400" not in responses:
                    responses["400"] = {"description": "bad_request (e.g. a body that is not JSON)", **error}
        for unused in ("HTTPValidationError", "ValidationError"):
            components.pop(unused, None)
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]

    @app.get("/health", tags=["system"])
    def get_health() -> dict[str, str]:
        """Liveness."""
        return {"status": "ok"}

    return app


app = create_app()
