"""Reading a row with some of its foreign keys joined, in plain SQL built once.

On the hot paths (docs/performance.md) building a `select_related(…).only(…)` query costs the
ORM more CPU than PostgreSQL spends answering it. `JoinedRead` takes the same description —
columns of the model and `relation__column` of models its foreign keys point to — and builds
the SELECT once, at import. Each read gives what the ORM would: an instance of the model with
those columns loaded (deferred otherwise) and each relation's instance cached on it (None for
an empty foreign key), every value converted as the ORM converts it (SQLite's text times and
ids, JSON). Table and column names come from the models; values are always parameters.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

from django.db import connection
from django.db.models import Model
from django.db.models.fields import AutoFieldMixin

Converter = Callable[[Any], Any]


def converter(model: type[Model], name: str) -> Converter:
    """A function turning the database's value of `model`'s field `name` (or attname) into
    the ORM's, as a query would (on SQLite: text to a time or an id; JSON everywhere)."""
    field = next(f for f in model._meta.concrete_fields if name in (f.name, f.attname))
    # get_col, as queries do: a foreign key's column converts as its target (a UUID key's id
    # is text on SQLite).
    col = field.get_col(model._meta.db_table)
    converters = connection.ops.get_db_converters(col) + col.get_db_converters(connection)

    def convert(value: Any) -> Any:
        for converter in converters:
            value = converter(value, col, connection)
        return value

    return convert


class ModelColumns:
    """Some columns of one model under a table alias (its primary key always among them): the
    SQL that selects them, in the model's field order, and an instance built from their values.
    `names` are field names or attnames; None: every column."""

    def __init__(self, model: type[Model], alias: str, names: Iterable[str] | None = None) -> None:
        self.model, self.alias = model, alias
        pk = model._meta.pk
        assert pk is not None
        fields = list(model._meta.concrete_fields)
        if names is not None:
            wanted = {*names, pk.name}
            fields = [f for f in fields if f.name in wanted or f.attname in wanted]
        self.attnames = [f.attname for f in fields]
        self.columns = [f"{alias}.{f.column}" for f in fields]
        self.sql = ", ".join(self.columns)
        self.pk_index = self.attnames.index(pk.attname)
        self._convert: list[Converter] | None = None

    def build(self, values: Sequence[Any]) -> Any:
        """The instance for this slice of a row; None when its primary key is NULL (an empty
        foreign key or no row on the far side of a LEFT JOIN)."""
        if values[self.pk_index] is None:
            return None
        return self.model.from_db(connection.alias, self.attnames, self.converted(values))

    def converted(self, values: Sequence[Any]) -> list[Any]:
        """This slice of a row's values as the ORM has them, in `attnames` order."""
        if self._convert is None:  # the converters depend on the database: found on first use
            self._convert = [converter(self.model, name) for name in self.attnames]
        return [convert(value) for convert, value in zip(self._convert, values, strict=True)]


class JoinedRead:
    """`SELECT` of `columns` (ORM `only()` names) from `model`, with the relations they name
    LEFT JOINed; `sql(where)` completes it, `one(where, params)` runs it."""

    def __init__(self, model: type[Model], columns: Sequence[str], alias: str = "r") -> None:
        related = sorted({name.split("__")[0] for name in columns if "__" in name})
        # A joined relation's own foreign key is loaded too, as only() does.
        self.base = ModelColumns(model, alias, {n for n in columns if "__" not in n} | set(related))
        self.relations: list[tuple[Any, ModelColumns]] = []
        joins = []
        for index, relation in enumerate(related):
            field: Any = model._meta.get_field(relation)
            names = {n.split("__", 1)[1] for n in columns if n.startswith(f"{relation}__")}
            part = ModelColumns(field.related_model, f"j{index}", names)
            self.relations.append((field, part))
            target = field.target_field.column
            joins.append(
                f" LEFT JOIN {part.model._meta.db_table} {part.alias}"
                f" ON {part.alias}.{target} = {alias}.{field.column}"
            )
        selected = ", ".join(
            [*self.base.columns, *(c for _, part in self.relations for c in part.columns)]
        )
        # Table and column names from the models only.
        self.select = f"SELECT {selected} FROM {model._meta.db_table} {alias}{''.join(joins)}"  # noqa: S608

    def sql(self, where: str) -> str:
        """The statement for rows matching `where` (SQL over the aliases, placeholders only)."""
        return f"{self.select} WHERE {where}"

    def one(self, where: str, params: Sequence[Any], *, suffix: str = "") -> Any:
        """The first row matching `where` as an instance with its relations cached, or None."""
        with connection.cursor() as cursor:
            cursor.execute(f"{self.sql(where)}{suffix}", params)
            row = cursor.fetchone()
        return None if row is None else self.build(row)

    def all(self, where: str, params: Sequence[Any], *, suffix: str = "") -> list[Any]:
        """Every row matching `where` (then `suffix`: ORDER BY, LIMIT) as `one` gives it."""
        with connection.cursor() as cursor:
            cursor.execute(f"{self.sql(where)}{suffix}", params)
            rows = cursor.fetchall()
        return [self.build(row) for row in rows]

    def build(self, row: Sequence[Any]) -> Any:
        start = len(self.base.attnames)
        instance = self.base.build(row[:start])
        for field, part in self.relations:
            end = start + len(part.attnames)
            field.set_cached_value(instance, part.build(row[start:end]))
            start = end
        return instance


class RowInsert:
    """`INSERT` of every column of `model` (an auto-increment id left to the database), built
    once per number of rows: what `create()` and `bulk_create()` send, without building the
    statement each time. For models with no save signals and no history (the caller knows):
    only fields' own `pre_save` (defaults, `auto_now_add`) runs, as `bulk_create` does."""

    def __init__(self, model: type[Model]) -> None:
        self.model = model
        pk = model._meta.pk
        assert pk is not None
        self.auto_pk = isinstance(pk, AutoFieldMixin)
        self.fields = [
            f for f in model._meta.concrete_fields if not (f.primary_key and self.auto_pk)
        ]
        columns = ", ".join(connection.ops.quote_name(str(f.column)) for f in self.fields)
        # Table and column names from the model only; every value is a parameter.
        self._head = f"INSERT INTO {model._meta.db_table} ({columns}) VALUES "  # noqa: S608
        self._row = "(" + ", ".join(["%s"] * len(self.fields)) + ")"
        self._returning = f" RETURNING {connection.ops.quote_name(str(pk.column))}"
        self._sql: dict[int, str] = {}

    def insert(self, objs: Sequence[Model]) -> None:
        """Insert `objs` in one statement; each gets its id (if the database makes it) and is
        marked saved, as after `bulk_create`."""
        if not objs:
            return
        if self.auto_pk and not connection.features.can_return_rows_from_bulk_insert:
            self.model._default_manager.bulk_create(objs)  # an SQLite older than 3.35
            return
        sql = self._sql.get(len(objs))
        if sql is None:
            sql = self._sql[len(objs)] = (
                self._head
                + ", ".join([self._row] * len(objs))
                + (self._returning if self.auto_pk else "")
            )
        params = [
            field.get_db_prep_save(field.pre_save(obj, add=True), connection)
            for obj in objs
            for field in self.fields
        ]
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            if self.auto_pk:  # rows come back in VALUES order (bulk_create relies on it too)
                for obj, (pk,) in zip(objs, cursor.fetchall(), strict=True):
                    obj.pk = pk
        for obj in objs:
            obj._state.adding, obj._state.db = False, connection.alias
