"""From a verified inbound body to a request, through the API's own intake (docs/api.md
"Inbound sources"): the mapping builds the document POST /api/v1/requests would have sent,
`intake_validate` checks it, `approval_submit` creates it with actor `inbound:<slug>`.

Idempotency by the source's event id (webhook-id, HubSpot's callbackId, or a mapped path):
the event's row is claimed inside the transaction that creates the request, so a concurrent
redelivery waits on the unique constraint and then replays the stored answer; a refusal
(409, 422) rolls the claim back with everything else.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, transaction

from approvals.api.intake import intake_validate
from approvals.api.problems import KEY_IN_FLIGHT, Problem, validation_problem
from approvals.api.selectors import approval_final_decision
from approvals.api.serializers import request_data
from approvals.inbound.completion import hubspot_completion_enqueue
from approvals.inbound.mapping import Mapped, Mapping, MissingPaths, apply
from approvals.models import ApprovalRequest, InboundEvent, InboundSource
from approvals.services import approval_submit
from approvals.services.approvals import FINAL_EVENT


@dataclass(frozen=True)
class Answer:
    status: int
    body: bytes
    replayed: bool = False


def source_mapping(source: InboundSource) -> Mapping:
    return Mapping(
        title=source.title_template,
        external_id=source.external_id_path,
        event_id=source.event_id_path,
        fields=dict(source.payload_fields or {}),
    )


def inbound_document(source: InboundSource, body: dict[str, Any]) -> tuple[dict[str, Any], Mapped]:
    """The intake document the body maps to, or a 422 naming every missing path."""
    try:
        mapped = apply(source_mapping(source), body)
    except MissingPaths as exc:
        raise validation_problem(
            [
                (m.path, f"Missing from the inbound body (mapped to {m.used_for}).")
                for m in exc.missing
            ]
        ) from None
    document: dict[str, Any] = {
        "policy": source.policy.slug,
        "title": mapped.title,
        "payload": mapped.payload,
        "requested_by": f"inbound:{source.slug}",
    }
    if mapped.external_id:
        document["external_id"] = mapped.external_id
    return document, mapped


def callback_id_of(source: InboundSource, body: dict[str, Any]) -> str:
    """HubSpot's callbackId: a custom workflow action waiting to be completed."""
    if source.verification != InboundSource.Verification.HUBSPOT:
        return ""
    value = body.get("callbackId")
    return str(value) if isinstance(value, str | int) and not isinstance(value, bool) else ""


def _stored(source: InboundSource, event_id: str) -> Answer | None:
    event = (
        InboundEvent.objects.filter(source=source, event_id=event_id)
        .only("response_status", "response_body")
        .first()
    )
    if event is None or event.response_body is None:
        return None
    # A redelivery gets the first answer's body; its status is 200 (nothing new was created).
    return Answer(status=200, body=bytes(event.response_body), replayed=True)


def inbound_receive(
    *, source: InboundSource, body: dict[str, Any], delivery_id: str = ""
) -> Answer:
    """Create the request an inbound body asks for, once per event id; the HTTP answer."""
    document, mapped = inbound_document(source, body)
    callback_id = callback_id_of(source, body)
    event_id = (callback_id or delivery_id or mapped.event_id)[:255]
    if event_id and (replay := _stored(source, event_id)):
        return replay
    # The source's requests belong to the caller "inbound:<slug>": a token created with that
    # --caller can poll them (docs/api.md "Tokens and callers").
    intake = intake_validate(document, caller=f"inbound:{source.slug}")
    with transaction.atomic():
        event: InboundEvent | None = None
        if event_id:
            try:
                with transaction.atomic():
                    event = InboundEvent.objects.create(
                        source=source, event_id=event_id, callback_id=callback_id[:255]
                    )
            except IntegrityError:
                event = None
        if not event_id or event is not None:
            approval = approval_submit(**intake.submit_kwargs(), actor=f"inbound:{source.slug}")
            answer = _answer(approval, callback_id=callback_id)
            if event is not None:
                event.approval = approval
                event.response_status = answer.status
                event.response_body = answer.body
                event.save(update_fields=["approval", "response_status", "response_body"])
                if callback_id and approval.status != ApprovalRequest.Status.PENDING:
                    # Decided by a policy rule at once: the workflow is completed right away.
                    hubspot_completion_enqueue(
                        approval=approval,
                        event_type=FINAL_EVENT[approval.status],
                        decision=approval_final_decision(approval),
                    )
            return answer
    # Another delivery of this event got there first and has committed.
    replay = _stored(source, event_id)
    if replay is None:
        raise Problem(
            409, "This event is still being processed; retry in a moment.", type=KEY_IN_FLIGHT
        )
    return replay


def _answer(approval: ApprovalRequest, *, callback_id: str) -> Answer:
    if callback_id:
        # HubSpot holds the workflow until the outcome completes it (docs/integrations.md).
        data: dict[str, Any] = {
            "outputFields": {"hs_execution_state": "BLOCK"},
            "id": str(approval.pk),
            "status": approval.status,
        }
        status = 200
    else:
        data = request_data(approval, final=approval_final_decision(approval))
        status = 201
    return Answer(status=status, body=json.dumps(data, ensure_ascii=False).encode())
