"""Creating and checking inbound sources (the admin and `manage.py inbound_source`)."""

from __future__ import annotations

import base64
import binascii
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction

from approvals.formats import absolute_url
from approvals.inbound.mapping import MappingError
from approvals.inbound.secrets import source_secret, source_set_credentials
from approvals.models import InboundSource, Policy

# Which model field each part of a mapping error belongs to.
_FIELD_OF = {
    "title": "title_template",
    "external_id": "external_id_path",
    "event_id": "event_id_path",
}


def source_url(source: InboundSource) -> str:
    return absolute_url("inbound", source.slug)


def mapping_errors(source: InboundSource) -> dict[str, list[str]]:
    from approvals.inbound.receive import source_mapping

    try:
        source_mapping(source).validate()
    except MappingError as exc:
        return {_FIELD_OF.get(exc.where, "payload_fields"): [str(exc)]}
    return {}


def secret_error(verification: str, secret: str) -> str:
    """Why a secret cannot work with this verification kind; "" when it can."""
    if not secret:
        return "A secret is required."
    if verification == InboundSource.Verification.STANDARD_WEBHOOKS:
        encoded = secret.removeprefix("whsec_")
        try:
            key = base64.b64decode(encoded, validate=True)
        except (binascii.Error, ValueError):
            key = b""
        if not secret.startswith("whsec_") or not key:
            return "A Standard Webhooks secret is whsec_ followed by base64."
    elif len(secret) < 8:
        return "A secret must be at least 8 characters."
    return ""


@transaction.atomic
def inbound_source_save(
    *,
    slug: str,
    policy: Policy,
    verification: str,
    title_template: str,
    secret: str | None = None,
    api_token: str | None = None,
    external_id_path: str = "",
    event_id_path: str = "",
    payload_fields: dict[str, str] | None = None,
) -> tuple[InboundSource, bool]:
    """Create or update the source named `slug`; (source, created). ValidationError if the
    verification kind, the mapping or the secret is not valid."""
    source = InboundSource.objects.select_for_update().filter(slug=slug).first()
    created = source is None
    if source is None:
        source = InboundSource(slug=slug)
    values: dict[str, Any] = {
        "policy": policy,
        "verification": verification,
        "title_template": title_template,
        "external_id_path": external_id_path,
        "event_id_path": event_id_path,
        "payload_fields": payload_fields or {},
    }
    for name, value in values.items():
        setattr(source, name, value)
    source_set_credentials(source, secret=secret, api_token=api_token)
    if problem := secret_error(verification, source_secret(source)):
        raise ValidationError({"secret": [problem]})
    source.full_clean(exclude=["secret", "api_token"])
    source.save()
    return source, created
