"""simple-history, without its per-save cost (docs/architecture.md "Speed").

`SaveWithHistory` writes a row and its history row with statements built once. And
`instance.history` builds a manager class with `Manager.from_queryset()` on every access, and
simple-history reads it once per saved row: `inspect.getmembers` over the queryset class each
time, about a tenth of an intake's CPU. The class it builds depends only on the queryset class,
so it is built once per model and kept.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

from django.conf import settings
from django.db import DatabaseError, connection
from django.db.models import Field, Model
from django.utils import timezone
from simple_history.manager import HistoryManager
from simple_history.models import HistoricalRecords


class KeptHistoryManager(HistoryManager):
    @classmethod
    @functools.cache
    def from_queryset(cls, queryset_class: Any, class_name: str | None = None) -> Any:
        return super().from_queryset(queryset_class, class_name)


class KeptHistoricalRecords(HistoricalRecords):
    """simple-history's registration, kept on the model as `_history_records` (simple-history
    discards it) so that `SaveWithHistory` fills a history row as it would."""

    def finalize(self, sender: Any, **kwargs: Any) -> None:
        super().finalize(sender, **kwargs)
        if self.cls is sender:
            sender._history_records = self


def history_records(**options: Any) -> HistoricalRecords:
    """`HistoricalRecords(**options)` whose `history` manager class is built once."""
    return KeptHistoricalRecords(history_manager=KeptHistoryManager, **options)


class SaveWithHistory:
    """`save()` for a model whose only save signals are simple-history's: the row's INSERT or
    UPDATE and its history row's INSERT, each statement built once (approvals/rows.py
    `RowInsert`), the history row filled exactly as simple-history fills it (its tracked
    fields, date, user, change reason). On the intake's and the decision's paths the ORM spent
    more CPU building these statements than PostgreSQL spent running them (docs/performance.md
    "Plain SQL built once").

    `tests/services/test_history_insert.py` compares the rows with the ORM's and fails when the
    model gains another save signal, which this would skip.
    """

    def __init__(self, model: type[Model]) -> None:
        from approvals.rows import RowInsert

        self.model = model
        self.records: HistoricalRecords = model._history_records  # type: ignore[attr-defined]
        self.history_model = getattr(model, model._meta.simple_history_manager_attribute).model  # type: ignore[attr-defined]
        self.row = RowInsert(model)
        self.history = RowInsert(self.history_model)
        own = {"history_id", "history_date", "history_change_reason", "history_type"}
        self.tracked = [
            field.attname
            for field in self.history_model._meta.concrete_fields
            if field.name not in own and field.name != "history_user"
        ]
        self._updates: dict[tuple[str, ...], tuple[str, list[Field[Any, Any]]]] = {}

    def create(self, obj: Model) -> None:
        """`obj.save(force_insert=True)`."""
        self.row.insert([obj])
        self._record(obj, "+")

    def update(self, obj: Model, fields: Sequence[str]) -> None:
        """`obj.save(update_fields=fields)`; DatabaseError if the row is gone, as save's."""
        names = tuple(fields)
        if names not in self._updates:
            meta = self.model._meta
            chosen = [field for name in names if isinstance(field := meta.get_field(name), Field)]
            sets = ", ".join(f"{connection.ops.quote_name(str(f.column))} = %s" for f in chosen)
            pk = connection.ops.quote_name(str(meta.pk.column))  # type: ignore[union-attr]
            sql = f"UPDATE {meta.db_table} SET {sets} WHERE {pk} = %s"  # noqa: S608
            self._updates[names] = (sql, chosen)
        sql, chosen = self._updates[names]
        params = [f.get_db_prep_save(f.pre_save(obj, add=False), connection) for f in chosen]
        pk_field = self.model._meta.pk
        params.append(pk_field.get_db_prep_value(obj.pk, connection))  # type: ignore[union-attr]
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            if cursor.rowcount != 1:
                raise DatabaseError("Save with update_fields did not affect any rows.")
        self._record(obj, "~")

    def _record(self, obj: Model, history_type: str) -> None:
        if not getattr(settings, "SIMPLE_HISTORY_ENABLED", True):
            return
        values = {attname: getattr(obj, attname) for attname in self.tracked}
        record = self.history_model(
            history_date=getattr(obj, "_history_date", timezone.now()),
            history_type=history_type,
            history_user=self.records.get_history_user(obj),
            history_change_reason=self.records.get_change_reason_for_object(
                obj, history_type, None
            ),
            **values,
        )
        self.history.insert([record])
