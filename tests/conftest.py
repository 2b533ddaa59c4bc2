"""The fixed cast and the switches between SQLite and the real services.

requester   -- the automation's human counterpart; `requested_by` on requests; in no group
reviewer    -- member of `support` (the group of `policy`)
other_reviewer -- also in `support`
outsider    -- a reviewer of another group (`finance`): sees none of `support`'s work
manager     -- staff, in the Managers group (export, admin), with an authenticator app
               (`manager.totp_secret`; staff need a second factor, docs/security.md)
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.contrib.auth.models import Group

from approvals.models import ApprovalRequest, Policy, ReviewerGroup
from approvals.services import approval_submit
from tests.factories import (
    PASSWORD,
    GroupFactory,
    MembershipFactory,
    UserFactory,
    enrol_totp,
    make_policy,
    totp_code,
)

# Shared real-part fixtures (browser, SMTP server, webhook receiver, Celery worker) live in
# tests/fixtures/, one module each; every module there is loaded as a plugin.
pytest_plugins = sorted(
    f"tests.fixtures.{path.stem}"
    for path in (Path(__file__).parent / "fixtures").glob("*.py")
    if path.stem != "__init__"
)

IS_POSTGRES: bool = settings.IS_POSTGRES
REAL_BROKER: bool = not settings.CELERY_BROKER_URL.startswith(("filesystem://", "memory://"))

requires_postgres = pytest.mark.skipif(
    not IS_POSTGRES,
    reason="needs PostgreSQL (row locks, SKIP LOCKED, real concurrency): set DATABASE_URL",
)
requires_broker = pytest.mark.skipif(
    not (IS_POSTGRES and REAL_BROKER),
    reason="needs PostgreSQL and a real broker: set DATABASE_URL and CELERY_BROKER_URL=redis://…",
)


@pytest.fixture(autouse=True)
def _fresh_cache() -> None:
    """Rate limits and lockouts live in the shared cache; no test inherits another's counts."""
    from django.core.cache import cache

    cache.clear()


@pytest.fixture(autouse=True)
def _notices_right_away(settings: Any) -> None:
    """Every notice is its own email unless a test turns batching on (tests/notifications)."""
    settings.NOTIFY_BATCH_MINUTES = 0


@pytest.fixture
def password() -> str:
    return PASSWORD


@pytest.fixture
def support(db: Any) -> ReviewerGroup:
    return GroupFactory.create(slug="support-leads", name="Support leads")


@pytest.fixture
def finance(db: Any) -> ReviewerGroup:
    return GroupFactory.create(slug="finance", name="Finance")


@pytest.fixture
def requester(db: Any) -> Any:
    return UserFactory.create(username="rita", email="rita@example.com")


@pytest.fixture
def reviewer(support: ReviewerGroup) -> Any:
    user = UserFactory.create(username="alice", email="alice@example.com")
    MembershipFactory.create(group=support, user=user)
    return user


@pytest.fixture
def other_reviewer(support: ReviewerGroup) -> Any:
    user = UserFactory.create(username="bob", email="bob@example.com")
    MembershipFactory.create(group=support, user=user)
    return user


@pytest.fixture
def outsider(finance: ReviewerGroup) -> Any:
    user = UserFactory.create(username="olga", email="olga@example.com")
    MembershipFactory.create(group=finance, user=user)
    return user


@pytest.fixture
def manager(db: Any) -> Any:
    user = UserFactory.create(username="maria", email="maria@example.com", is_staff=True)
    managers, _ = Group.objects.get_or_create(name="Managers")
    user.groups.add(managers)
    user.totp_secret = enrol_totp(user)  # type: ignore[attr-defined]
    return user


@pytest.fixture
def sign_in() -> Callable[..., Any]:
    """sign_in(client, user): through allauth's pages (password, then the authenticator code
    when the user has one), as a person does. Unlike force_login, the session then carries
    the sign-in record that policy edits check (docs/security.md)."""

    def _sign_in(client: Any, user: Any) -> Any:
        response = client.post("/accounts/login/", {"login": user.username, "password": PASSWORD})
        assert response.status_code == 302, response.content.decode()[:500]
        if response["Location"].startswith("/accounts/2fa/authenticate/"):
            response = client.post(response["Location"], {"code": totp_code(user.totp_secret)})
            assert response.status_code == 302, response.content.decode()[:500]
        assert client.session.get("_auth_user_id") == str(user.pk)
        return client

    return _sign_in


@pytest.fixture
def admin_user(admin_user: Any) -> Any:
    """pytest-django's superuser, with the authenticator app staff need for the admin."""
    admin_user.totp_secret = enrol_totp(admin_user)
    return admin_user


@pytest.fixture
def policy(support: ReviewerGroup) -> Policy:
    """refund-like: amount < 50 auto-approves, else `support` decides."""
    return make_policy(slug="refund-approval", group=support)


@pytest.fixture
def submit(policy: Policy) -> Callable[..., ApprovalRequest]:
    """Submit a request through the service (human route by default: amount 120)."""

    counter = iter(range(1, 1_000_000))

    def _submit(**kwargs: Any) -> ApprovalRequest:
        n = next(counter)
        kwargs.setdefault("policy", policy)
        kwargs.setdefault("title", f"Refund for order #{4400 + n}")
        kwargs.setdefault("payload", {"amount": 120.0, "currency": "USD", "customer": "acme"})
        kwargs.setdefault("external_id", f"ticket-{4400 + n}")
        kwargs.setdefault("requested_by", "rita@example.com")
        return approval_submit(**kwargs)

    return _submit


@pytest.fixture
def pending(
    submit: Callable[..., ApprovalRequest], reviewer: Any, other_reviewer: Any
) -> ApprovalRequest:
    return submit()


def pytest_report_header(config: Any) -> list[str]:
    engine = settings.DATABASES["default"]["ENGINE"].rsplit(".", 1)[-1]
    return [
        f"checkpoint: database={engine} broker={settings.CELERY_BROKER_URL.split('://')[0]} "
        f"eager={settings.CELERY_TASK_ALWAYS_EAGER} ci={os.environ.get('CI', '')}"
    ]


def pytest_sessionfinish(session: Any, exitstatus: int) -> None:
    """Remove this run's own file cache folder (config/settings.py gives each run one)."""
    import shutil

    from django.conf import settings

    location = settings.CACHES["default"].get("LOCATION", "")
    if settings.CACHE_URL.startswith("filecache://") and f"test-{os.getpid()}" in str(location):
        shutil.rmtree(location, ignore_errors=True)
