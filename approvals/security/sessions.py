"""Django's database session store, reading a session by a statement built once.

Every signed-in page loads its session first; the ORM spent more CPU building that one
`SELECT … WHERE session_key = %s AND expire_date > now` than the database spent answering it
(docs/performance.md "Plain SQL built once"). Same table, same data, same expiry test: only the
read is different, so sessions made before this engine stay valid. SESSION_ENGINE names it.
"""

from __future__ import annotations

from typing import Any

from django.contrib.sessions.backends import db
from django.contrib.sessions.models import Session
from django.db import connection
from django.utils import timezone

from approvals.rows import ModelColumns

_COLUMNS = ModelColumns(Session, "s")
# Table and column names from the model only; the key and the time are parameters.
_READ_SQL = (
    f"SELECT {_COLUMNS.sql} FROM {Session._meta.db_table} s"  # noqa: S608
    " WHERE s.session_key = %s AND s.expire_date > %s"
)


class SessionStore(db.SessionStore):
    def _get_session_from_db(self) -> Any:
        now = connection.ops.adapt_datetimefield_value(timezone.now())
        with connection.cursor() as cursor:
            cursor.execute(_READ_SQL, [self.session_key, now])
            row = cursor.fetchone()
        if row is None:
            self._session_key = None  # as Django's: an unknown or expired key starts afresh
            return None
        return _COLUMNS.build(row)
