"""The GitHub-compatible REST API under /api/v3 (django-ninja)."""
from ninja import NinjaAPI

api = NinjaAPI(title="Forge", version="3", urls_namespace="api")
