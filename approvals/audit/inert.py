"""CSV injection: the one rule that makes a cell inert (docs/security.md "Secrets at rest and inputs").

Follows the OWASP CSV injection guidance. A spreadsheet may evaluate a cell as a formula when:

- it starts with = + - @ (or their full-width forms U+FF1D, U+FF0B, U+FF0D, U+FF20, which some
  spreadsheets fold to ASCII), or with TAB, CR or LF;
- it starts with whitespace followed by one of those (spreadsheets trim the whitespace);
- it holds a separator (`,` `;` TAB, or a line break) followed, after optional whitespace, by
  one of those: opened with another separator than the one it was written with (`;` in many
  locales), `Refund;=1+1` becomes two cells, the second a formula.

Such a cell gets a leading single quote, which makes it plain text; every other cell is written
exactly as it is. The rule is one regular expression, `FORMULA_PATTERN`, that Python's `re` and
PostgreSQL's `~` read the same way: `inert` applies it in Python, `inert_sql` in SQL (the COPY
path of approvals/audit/csv_export.py). tests/audit/test_inert.py checks both agree.

A regular expression costs PostgreSQL far more per call than the few bytes of a cell, so the
COPY path asks once per row whether any of its text cells could be live (`row_may_be_live_sql`:
a second expression, `ROW_PATTERN`, over the row's text cells joined by commas) and tries
`FORMULA_PATTERN` on each cell only in the rows where the answer is yes. That check only saves
work: it is true for every row that holds a live cell (see `ROW_PATTERN`), so the output is the
same as with the rule applied to every cell; the tests check that on random text too.
"""

from __future__ import annotations

import re

# What starts a formula.
FORMULA_STARTS = "+=@\uff1d\uff0b\uff20\uff0d-"  # "-" last: a literal inside [...]
# Control characters a cell must not start with at all (OWASP: TAB and CR; LF alike).
LINE_STARTS = "\t\r\n"
# What splits one cell into two when the file is read with another separator or line end.
SEPARATORS = ",;\t\r\n"
# Every character Python's str.isspace() accepts (tests/audit/test_inert.py checks the list),
# written out so the same class works in PostgreSQL.
WHITESPACE = (
    "\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005"
    "\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
)

# The characters a cell may start with and be neutralised for that alone (the tests lead a cell
# with each).
FORMULA_TRIGGERS: tuple[str, ...] = tuple(FORMULA_STARTS + LINE_STARTS)

# Literal characters only (no backslash escapes, no "[" or "]", "-" last in each class), so
# Python and PostgreSQL (an ARE; "^" anchors at the start of the text) parse it alike.
FORMULA_PATTERN = f"^[{LINE_STARTS}]|(^|[{SEPARATORS}])[{WHITESPACE}]*[{FORMULA_STARTS}]"
_FORMULA = re.compile(FORMULA_PATTERN)

# Cells joined by commas with a comma in front (`row_may_be_live_sql`) match this whenever one
# of them matches FORMULA_PATTERN: a cell that starts with TAB, CR or LF, or with whitespace and
# then a formula start, follows a comma, a separator; a cell that holds a separator followed by
# whitespace and a formula start holds a match itself. A comma, not a line feed: an empty cell
# would put two line feeds (a separator, then a line start) in every row that has one. Not the
# other way round ("a\n\tb" is not live, ",a\n\tb" matches): it only tells which rows need
# FORMULA_PATTERN. Written under the same constraints as FORMULA_PATTERN.
ROW_PATTERN = f"[{SEPARATORS}]([{LINE_STARTS}]|[{WHITESPACE}]*[{FORMULA_STARTS}])"


def is_live(value: str) -> bool:
    """True when a spreadsheet could read `value` (or a part of it) as a formula."""
    return _FORMULA.search(value) is not None


def inert(value: str) -> str:
    """The cell as text a spreadsheet will not evaluate; otherwise exactly the value.

    NUL cannot be stored in PostgreSQL text and breaks many CSV readers, so it is removed first.
    """
    value = value.replace("\x00", "")
    return "'" + value if is_live(value) else value


def inert_sql(expression: str, param: str = "formula", *, row_may_be_live: str = "") -> str:
    """`inert` in SQL, for a text expression without NUL; binds FORMULA_PATTERN as `param`.

    `row_may_be_live` is a boolean SQL expression, the row's `row_may_be_live_sql` computed once
    per row: where it is false, FORMULA_PATTERN is not tried (no cell of the row is live).
    """
    live = f"{expression} ~ %({param})s"
    if row_may_be_live:
        live = f"{row_may_be_live} AND {live}"
    return f"CASE WHEN {live} THEN '''' || {expression} ELSE {expression} END"


def row_may_be_live_sql(expressions: list[str], param: str = "row_formula") -> str:
    """True in SQL when one of these text expressions may be live; binds ROW_PATTERN as `param`.

    concat_ws puts the comma in front (after the empty first value) and between the values, skips
    NULLs (NULL is written as an empty cell, never live) and is never NULL itself.
    """
    return f"concat_ws(',', '', {', '.join(expressions)}) ~ %({param})s"
