"""The JSON API, versioned under /api/v1/."""

from ninja import NinjaAPI

api = NinjaAPI(title="Ringround API", version="1", urls_namespace="api-v1")


@api.get("/health", auth=None, summary="Liveness check")
def health(request):
    return {"ok": True}
