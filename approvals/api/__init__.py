"""The intake API, /api/v1/ (CONTRACT §2). Placeholder until the intake work lands."""

from __future__ import annotations

from ninja import NinjaAPI

api = NinjaAPI(title="Checkpoint", version="1", urls_namespace="api-v1")
