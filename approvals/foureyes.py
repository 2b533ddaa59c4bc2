"""Four-eyes by identity (docs/security.md "Four-eyes"): who asked for a request, and whether a
reviewer is that person.

A request's requester is, all at once (any match counts; a match only ever takes work or an
approval away from someone, so more ways to match cannot weaken the rule):

- `requester`: the user the API token acts for (`ApiToken.user`), fixed at intake;
- `requester_email`: the email at the policy's `requester_field` in the submitted payload,
  fixed at intake, compared with each reviewer's `User.email` (set by managers: sign-up is
  closed) and their allauth addresses marked verified;
- `requested_by`, the caller's free text, compared the same way and with usernames (what the
  rule relied on before; kept, never relied on alone).

Comparisons ignore case. Everything here reads the request row only, except where a query is
named; the assignment statement, the decide query and a notice's recipients query
(approvals/notifications/email.py `RECIPIENTS_SQL`) embed the same tests in SQL.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from allauth.account.models import EmailAddress
from django.contrib.auth import get_user_model
from django.db import connection
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.db.models.functions import Lower

from approvals.routing import resolve_path


@dataclass(frozen=True)
class Requester:
    user_id: int | None = None
    emails: tuple[str, ...] = ()
    names: tuple[str, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.user_id or self.emails or self.names)


def requester_email_from(payload: Any, field: str) -> str:
    """The policy's requester field in the payload, lower-cased; "" when absent or not an email."""
    if not field:
        return ""
    value = resolve_path(payload, field)
    if not isinstance(value, str) or "@" not in value:
        return ""
    return value.strip().lower()[:254]


def requester_of(approval: Any) -> Requester:
    """The request's requester as values (no query)."""
    said = (approval.requested_by or "").strip().lower()
    emails = {e for e in (approval.requester_email, said) if e and "@" in e}
    return Requester(
        user_id=approval.requester_id,
        emails=tuple(sorted(emails)),
        names=(said,) if said else (),
    )


def requester_users(identity: Requester) -> QuerySet[Any]:
    """Ids of the users who are the requester (a subquery; one query if evaluated)."""
    users = get_user_model().objects.all()
    match: Any = Q(pk__in=[])
    if identity.user_id:
        match |= Q(pk=identity.user_id)
    if identity.names:
        users = users.annotate(_name=Lower("username"))
        match |= Q(_name__in=identity.names)
    if identity.emails:
        verified = EmailAddress.objects.annotate(_email=Lower("email")).filter(
            user_id=OuterRef("pk"), verified=True, _email__in=identity.emails
        )
        users = users.annotate(_mail=Lower("email"))
        match |= Q(_mail__in=identity.emails) | Exists(verified)
    return users.filter(match).values("pk")


def verified_email_sql(user_id: str, emails: str) -> str:
    """Four-eyes' verified-address test as SQL, for a query that already runs (a decision's
    standing, a notice's recipients, assignment): does the user whose id is the SQL `user_id`
    hold a verified address among `emails` (placeholders for the requester's, lower-cased)?"""
    # Table name from the model; the caller passes column references and placeholders only.
    return (
        f"EXISTS (SELECT 1 FROM {EmailAddress._meta.db_table} ea"  # noqa: S608
        f" WHERE ea.user_id = {user_id} AND ea.verified AND LOWER(ea.email) IN ({emails}))"
    )


def is_requester(approval: Any, reviewer: Any, *, verified_match: bool | None = None) -> bool:
    """Is `reviewer` the requester of `approval`? The requester may reject or ask for changes,
    never approve. `verified_match` is the answer of `verified_email_sql` when the caller
    already has it; otherwise that costs one query (only when there is an email to compare)."""
    identity = requester_of(approval)
    if not identity:
        return False
    if identity.user_id is not None and identity.user_id == reviewer.pk:
        return True
    if reviewer.get_username().lower() in identity.names:
        return True
    if (reviewer.email or "").strip().lower() in identity.emails:
        return True
    if verified_match is None and identity.emails:
        verified_match = (
            EmailAddress.objects.annotate(_email=Lower("email"))
            .filter(user_id=reviewer.pk, verified=True, _email__in=identity.emails)
            .exists()
        )
    return bool(verified_match)


def requester_sql(identity: Requester, *, user: str, params: dict[str, Any]) -> str:
    """The same test as SQL for the assignment statement: `AND NOT (…)` over the user row
    aliased `user`; adds its parameters to `params`. "" when there is no requester."""
    match = requester_match_sql(identity, user=user, params=params)
    return f"AND NOT {match}" if match else ""


def requester_match_sql(identity: Requester, *, user: str, params: dict[str, Any]) -> str:
    """`(…)`: whether the user row aliased `user` is the requester, as `requester_users` tests
    it; adds its parameters to `params`. "" when there is no requester."""
    if not identity:
        return ""
    tests = []
    if identity.user_id:
        params["rq_user"] = identity.user_id
        tests.append(f"{user}.id = %(rq_user)s")
    if identity.names:
        names = _placeholders("rq_n", identity.names, params)
        tests.append(f"LOWER({user}.username) IN ({names})")
    if identity.emails:
        emails = _placeholders("rq_e", identity.emails, params)
        tests.append(f"LOWER({user}.email) IN ({emails})")
        tests.append(verified_email_sql(f"{user}.id", emails))
    return "(" + " OR ".join(tests) + ")"


def requester_matches(identity: Requester, *, limit: int = 5) -> list[tuple[Any, str]]:
    """(id, username) of the first `limit` users who are the requester, in id order: the test
    of `requester_users` as one plain SQL statement (the detail pane shows who asked)."""
    params: dict[str, Any] = {"limit": limit}
    match = requester_match_sql(identity, user="u", params=params)
    if not match:
        return []
    meta = get_user_model()._meta
    username_field: Any = meta.get_field(get_user_model().USERNAME_FIELD)
    username = username_field.column
    sql = (
        # Table and column names come from the model, every value is a parameter.
        f"SELECT u.id, u.{username} FROM {meta.db_table} u WHERE {match}"  # noqa: S608
        " ORDER BY u.id LIMIT %(limit)s"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return [(pk, name) for pk, name in cursor.fetchall()]


def _placeholders(prefix: str, values: tuple[str, ...], params: dict[str, Any]) -> str:
    names = []
    for index, value in enumerate(values):
        params[f"{prefix}{index}"] = value
        names.append(f"%({prefix}{index})s")
    return ", ".join(names)


def requester_user(approval: Any) -> Any:
    """The user who asked, when the request names one we know (one query), else None: the
    inbox shows a `requested_by` that matches nobody as unverified."""
    identity = requester_of(approval)
    if not identity:
        return None
    return get_user_model().objects.filter(pk__in=requester_users(identity)).order_by("pk").first()
