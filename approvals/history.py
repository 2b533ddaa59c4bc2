"""simple-history, without its per-save cost (docs/architecture.md "Speed").

`instance.history` builds a manager class with `Manager.from_queryset()` on every access, and
simple-history reads it once per saved row: `inspect.getmembers` over the queryset class each
time, about a tenth of an intake's CPU. The class it builds depends only on the queryset class,
so it is built once per model and kept.
"""

from __future__ import annotations

import functools
from typing import Any

from simple_history.manager import HistoryManager
from simple_history.models import HistoricalRecords


class KeptHistoryManager(HistoryManager):
    @classmethod
    @functools.cache
    def from_queryset(cls, queryset_class: Any, class_name: str | None = None) -> Any:
        return super().from_queryset(queryset_class, class_name)


def history_records(**options: Any) -> HistoricalRecords:
    """`HistoricalRecords(**options)` whose `history` manager class is built once."""
    return HistoricalRecords(history_manager=KeptHistoryManager, **options)
