"""The JSON API, versioned under /api/v1/, with its OpenAPI description at /api/v1/openapi.json
and browsable docs at /api/v1/docs.

Every endpoint but /health needs an API token (``Authorization: Bearer rr_…``, made with
``ringround manage api_token create EMAIL NAME``) or the signed-in session the pages use."""

from ninja import NinjaAPI

from . import calling, campaigns, errors
from .auth import api_auth

api = NinjaAPI(
    title="Ringround API",
    version="1",
    description="The volunteer's calling loop and the organiser's figures, for integrations.",
    urls_namespace="api-v1",
    auth=api_auth,
)
errors.install(api)
api.add_router("/", calling.router)
api.add_router("/", campaigns.router)


@api.get("/health", auth=None, summary="Liveness check")
def health(request):
    return {"ok": True}
