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


def is_live(value: str) -> bool:
    """True when a spreadsheet could read `value` (or a part of it) as a formula."""
    return _FORMULA.search(value) is not None


def inert(value: str) -> str:
    """The cell as text a spreadsheet will not evaluate; otherwise exactly the value.

    NUL cannot be stored in PostgreSQL text and breaks many CSV readers, so it is removed first.
    """
    value = value.replace("\x00", "")
    return "'" + value if is_live(value) else value


def inert_sql(expression: str, param: str = "formula") -> str:
    """`inert` in SQL, for a text expression without NUL; binds FORMULA_PATTERN as `param`."""
    return f"CASE WHEN {expression} ~ %({param})s THEN '''' || {expression} ELSE {expression} END"
