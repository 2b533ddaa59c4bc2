"""The CSV injection rule (approvals/audit/inert.py, docs/security.md "Secrets at rest and inputs"):
every OWASP case is neutralised, everything else is left exactly as it is, the row check in
front of the SQL form lets through every row with a live cell, and the SQL form of the rule (the
COPY path, row check included) agrees with the Python form on any text."""

from __future__ import annotations

import re

import pytest
from django.db import connection
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from approvals.audit.inert import (
    FORMULA_PATTERN,
    FORMULA_STARTS,
    ROW_PATTERN,
    SEPARATORS,
    WHITESPACE,
    inert,
    inert_sql,
    is_live,
    row_may_be_live_sql,
)
from tests.conftest import requires_postgres

LIVE = [
    "=1+1",
    "+1",
    "-2+3",
    "@SUM(A1)",
    "\tx",
    "\rx",
    "\nx",
    " =1+1",  # leading whitespace, then a formula
    "   @SUM(A1)",
    "\u00a0=1",  # no-break space
    "\u3000=1",  # ideographic space
    "\x0b+1",
    "\uff1d1+1",  # full-width forms
    "\uff0b1",
    "\uff0d1",
    "\uff20SUM(A1)",
    " \uff1d1",
    "Refund;=1+1",  # a separator, then a formula
    "Refund,=1+1",
    "Refund\t=1+1",
    "Refund; =1+1",
    "Refund;\u3000\uff1d1",
    "line one\n=1+1",
    "line one\r@A1",
    "a,b;c,-1",
]
PLAIN = [
    "",
    "naïve café",
    "2-3",
    "a=b",
    "x+y@z",
    " leading space only",
    "plain, with a comma",
    "semi; colon",
    "line one\nline two",
    "e-mail: me@example.com",
    "'already quoted",
]


@pytest.mark.parametrize("value", LIVE)
def test_every_formula_case_is_neutralised(value: str) -> None:
    assert is_live(value)
    assert inert(value) == "'" + value


@pytest.mark.parametrize("value", PLAIN)
def test_everything_else_is_left_as_it_is(value: str) -> None:
    assert not is_live(value)
    assert inert(value) == value


def test_nul_is_removed_before_the_rule() -> None:
    assert inert("\x00=1") == "'=1"
    assert inert("a\x00b") == "ab"


def test_the_whitespace_class_is_exactly_pythons() -> None:
    assert {c for c in map(chr, range(0x110000)) if c.isspace()} == set(WHITESPACE)


def test_the_pattern_uses_no_escapes_or_nested_brackets() -> None:
    # What keeps Python's re and PostgreSQL's regex reading it alike.
    assert "\\" not in FORMULA_PATTERN and FORMULA_PATTERN.count("[") == 4
    assert "\\" not in ROW_PATTERN and ROW_PATTERN.count("[") == 4
    assert FORMULA_STARTS.endswith("-") and "-" not in FORMULA_STARTS[:-1]


def row_may_be_live(cells: list[str]) -> bool:
    """`row_may_be_live_sql` in Python: the cells joined by commas, a comma in front."""
    return re.search(ROW_PATTERN, "," + ",".join(cells)) is not None


@pytest.mark.parametrize("value", LIVE)
def test_a_live_cell_anywhere_in_a_row_lets_the_row_through(value: str) -> None:
    for cells in ([value], ["ab", value], [value, "ab"], ["", value, "Refund for order #1"]):
        assert row_may_be_live(cells), cells


def test_a_row_of_plain_cells_is_skipped() -> None:
    assert not row_may_be_live(PLAIN)
    assert not row_may_be_live(["bench-decided-1", "refund-approval", "Refund for order #1"])
    assert not row_may_be_live(["", "", "ok", ""])  # empty cells do not make a row suspect


def _sql_inert(value: str) -> str:
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {inert_sql('%(value)s::text')}",
            {"value": value, "formula": FORMULA_PATTERN},
        )
        return str(cursor.fetchone()[0])


@requires_postgres
@pytest.mark.django_db
@pytest.mark.parametrize("value", LIVE + PLAIN)
def test_postgresql_reads_the_rule_the_same_way(value: str) -> None:
    assert _sql_inert(value) == inert(value)


# Mostly the characters the rule is about, with any other text (no NUL, no lone surrogates,
# which PostgreSQL text cannot hold) mixed in.
_INTERESTING = st.sampled_from(list(FORMULA_STARTS + SEPARATORS + WHITESPACE + "ab1'\"="))
_ANY = st.characters(exclude_categories=["Cs"], exclude_characters="\x00")
TEXT = st.text(alphabet=st.one_of(_INTERESTING, _ANY), max_size=16)


@requires_postgres
@pytest.mark.django_db
@settings(
    max_examples=400,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(value=TEXT)
def test_python_and_sql_agree_on_any_text(value: str) -> None:
    assert _sql_inert(value) == inert(value)


@settings(max_examples=1000, deadline=None)
@given(cells=st.lists(TEXT, max_size=5))
def test_every_row_with_a_live_cell_is_let_through(cells: list[str]) -> None:
    if any(is_live(cell) for cell in cells):
        assert row_may_be_live(cells)


def _sql_inert_row(cells: list[str]) -> list[str]:
    """The COPY path's shape: the row check once over the row's cells, then the rule per cell."""
    columns = [f"c{index}" for index in range(len(cells))]
    values = ", ".join(f"%(v{index})s::text AS c{index}" for index in range(len(cells)))
    check = row_may_be_live_sql([f"%(v{index})s::text" for index in range(len(cells))])
    outer = ", ".join(inert_sql(column, row_may_be_live="may_be_live") for column in columns)
    params = {f"v{index}": cell for index, cell in enumerate(cells)}
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {outer} FROM (SELECT {values}, {check} AS may_be_live) AS row",
            {**params, "formula": FORMULA_PATTERN, "row_formula": ROW_PATTERN},
        )
        return [str(cell) for cell in cursor.fetchone()]


@requires_postgres
@pytest.mark.django_db
@pytest.mark.parametrize("value", LIVE + PLAIN)
def test_postgresql_reads_the_row_check_the_same_way(value: str) -> None:
    cells = ["Refund for order #1", value, "ok"]
    assert _sql_inert_row(cells) == [inert(cell) for cell in cells]


@requires_postgres
@pytest.mark.django_db
@settings(
    max_examples=400,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(cells=st.lists(TEXT, min_size=1, max_size=4))
def test_python_and_sql_agree_on_any_row(cells: list[str]) -> None:
    assert _sql_inert_row(cells) == [inert(cell) for cell in cells]
