"""An intake writes its request and the request's history row with two INSERTs built once
(approvals/history.py `SaveWithHistory`): the rows must be exactly what `save()` and
simple-history write, and the shortcut must not skip a save signal someone adds later."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.db import DatabaseError
from django.db.models.signals import post_save, pre_save
from django.test import RequestFactory
from simple_history.models import HistoricalRecords

from approvals.models import ApprovalRequest
from approvals.services import approval_decide
from approvals.services.approvals import _REQUEST_SAVE, FINAL_FIELDS

HistoricalApprovalRequest = ApprovalRequest.history.model  # type: ignore[attr-defined]
# What differs between two saves of the same values: the rows' own keys and times.
OWN = {"history_id", "history_date"}


def _history(approval: ApprovalRequest) -> dict[str, Any]:
    (record,) = HistoricalApprovalRequest.objects.filter(id=approval.pk)
    return {
        field.attname: getattr(record, field.attname)
        for field in record._meta.concrete_fields
        if field.attname not in OWN
    }


def _orm_twin(approval: ApprovalRequest) -> ApprovalRequest:
    """The same request saved the ORM's way, under another id."""
    twin = ApprovalRequest.objects.get(pk=approval.pk)
    twin.pk = None
    twin.id = ApprovalRequest._meta.pk.get_default()  # type: ignore[union-attr]
    twin.external_id = ""
    twin.save(force_insert=True)
    return twin


def test_the_request_and_its_history_row_are_the_ones_save_writes(
    submit: Callable[..., ApprovalRequest], reviewer: Any
) -> None:
    approval = submit()
    stored = ApprovalRequest.objects.get(pk=approval.pk)
    for field in ApprovalRequest._meta.concrete_fields:
        if field.name != "updated_at":
            assert getattr(stored, field.attname) == getattr(approval, field.attname), field.name
    assert not approval._state.adding
    twin = _orm_twin(approval)
    ours, theirs = _history(approval), _history(twin)
    assert ours.pop("id") == approval.pk and theirs.pop("id") == twin.pk
    ours.pop("external_id"), theirs.pop("external_id")
    assert ours.pop("updated_at", None) is None  # excluded from the history, as configured
    assert ours == theirs
    assert ours["history_type"] == "+" and ours["history_user_id"] is None


def test_the_history_row_names_the_signed_in_user_as_simple_history_does(
    submit: Callable[..., ApprovalRequest], reviewer: Any
) -> None:
    request = RequestFactory().post("/")
    request.user = reviewer
    HistoricalRecords.context.request = request  # what HistoryRequestMiddleware does
    try:
        approval = submit()
    finally:
        del HistoricalRecords.context.request
    assert _history(approval)["history_user_id"] == reviewer.pk


def test_no_history_row_when_history_is_off(
    submit: Callable[..., ApprovalRequest], reviewer: Any, settings: Any
) -> None:
    settings.SIMPLE_HISTORY_ENABLED = False
    approval = submit()
    assert ApprovalRequest.objects.filter(pk=approval.pk).exists()
    assert not HistoricalApprovalRequest.objects.filter(id=approval.pk).exists()


def test_a_request_has_no_save_signal_but_simple_historys() -> None:
    # SaveWithHistory sends no signal: a receiver added here would silently not run.
    receivers = post_save._live_receivers(ApprovalRequest)[0]
    assert [getattr(r, "__self__", None).__class__.__name__ for r in receivers] == [
        "KeptHistoricalRecords"
    ]
    assert pre_save._live_receivers(ApprovalRequest) == ([], [])


def _latest_history(approval: ApprovalRequest) -> dict[str, Any]:
    record = HistoricalApprovalRequest.objects.filter(id=approval.pk).order_by("-history_id")[0]
    return {
        field.attname: getattr(record, field.attname)
        for field in record._meta.concrete_fields
        if field.attname not in OWN | {"id", "external_id"}
    }


def test_a_decision_writes_the_update_and_history_row_save_would(
    submit: Callable[..., ApprovalRequest], reviewer: Any
) -> None:
    approval = submit()
    twin = _orm_twin(approval)
    approval_decide(approval=approval, reviewer=reviewer, option="approve")
    stored = ApprovalRequest.objects.get(pk=approval.pk)
    assert stored.status == "approved" and stored.decided_at is not None
    assert stored.updated_at > approval.updated_at
    twin.status, twin.decided_at, twin.next_sla_check_at = "approved", stored.decided_at, None
    twin.save(update_fields=list(FINAL_FIELDS))
    ours, theirs = _latest_history(stored), _latest_history(twin)
    assert ours["history_type"] == "~"
    assert ours == theirs


def test_an_update_of_a_row_that_is_gone_fails_as_save_does(
    submit: Callable[..., ApprovalRequest], reviewer: Any
) -> None:
    approval = submit()
    gone = ApprovalRequest.objects.get(pk=approval.pk)
    gone.id = ApprovalRequest._meta.pk.get_default()  # type: ignore[union-attr]
    with pytest.raises(DatabaseError, match="did not affect any rows"):
        _REQUEST_SAVE.update(gone, ["status"])
