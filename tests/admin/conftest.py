from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any
from unittest import mock

import pytest
from django.contrib.auth.models import Permission
from django.test import Client
from django.utils import timezone

from tests.factories import UserFactory, enrol_totp


@contextmanager
def at(moment: datetime) -> Iterator[None]:
    """Run services as if it were `moment` (they all read django.utils.timezone.now)."""
    with mock.patch("django.utils.timezone.now", return_value=moment):
        yield


@pytest.fixture
def ago() -> Callable[..., datetime]:
    now = timezone.now()

    def _ago(**delta: Any) -> datetime:
        return now - timedelta(**delta)

    return _ago


@pytest.fixture
def manager_client(client: Client, manager: Any, sign_in: Callable[..., Client]) -> Client:
    return sign_in(client, manager)


@pytest.fixture
def bare_staff(db: Any) -> Any:
    """Staff, so the admin lets them in, but without the managers' permissions."""
    user = UserFactory.create(username="sam", is_staff=True)
    user.totp_secret = enrol_totp(user)  # type: ignore[attr-defined]
    return user


@pytest.fixture
def staff_viewer(db: Any) -> Any:
    """Staff who may view policies and requests but not change policies."""
    user = UserFactory.create(username="vic", is_staff=True)
    user.totp_secret = enrol_totp(user)  # type: ignore[attr-defined]
    user.user_permissions.add(
        *Permission.objects.filter(codename__in=["view_policy", "view_approvalrequest"])
    )
    return user
