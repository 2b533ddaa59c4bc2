"""factory-boy factories for the fixed cast and the domain."""

from __future__ import annotations

from typing import Any

import factory
from django.contrib.auth import get_user_model
from django.contrib.auth.models import User

from approvals.models import (
    DecisionOption,
    Membership,
    Outcome,
    Policy,
    PolicyRule,
    PolicyStage,
    ReviewerGroup,
)

PASSWORD = "correct-horse-battery-staple"


def enrol_totp(user: Any) -> str:
    """Give `user` an authenticator app (allauth's TOTP) and return its secret.

    Staff need one to use the admin (docs/security.md), so the cast's staff have one.
    """
    from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret

    secret = generate_totp_secret()
    TOTP.activate(user, secret)
    return secret


def totp_code(secret: str) -> str:
    """The code an authenticator app shows for `secret` right now. Within two seconds of the
    period's end it waits for the next period, as a person would: a code read just before the
    change is refused by the time it is posted (allauth allows no tolerance by default)."""
    import time

    from allauth.mfa import app_settings
    from allauth.mfa.totp.internal.auth import format_hotp_value, hotp_value

    left = app_settings.TOTP_PERIOD - time.time() % app_settings.TOTP_PERIOD
    if left < 2:
        time.sleep(left + 0.05)
    return format_hotp_value(hotp_value(secret, int(time.time()) // app_settings.TOTP_PERIOD))


class UserFactory(factory.django.DjangoModelFactory[User]):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.com")
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def _save(obj: Any, create: bool, extracted: Any, **kwargs: Any) -> None:
        if create:
            obj.save()


class GroupFactory(factory.django.DjangoModelFactory[ReviewerGroup]):
    class Meta:
        model = ReviewerGroup
        django_get_or_create = ("slug",)

    slug = factory.Sequence(lambda n: f"group-{n}")
    name = factory.LazyAttribute(lambda g: g.slug.replace("-", " ").title())
    strategy = ReviewerGroup.Strategy.PULL


class MembershipFactory(factory.django.DjangoModelFactory[Membership]):
    class Meta:
        model = Membership

    group = factory.SubFactory(GroupFactory)
    user = factory.SubFactory(UserFactory)


class PolicyFactory(factory.django.DjangoModelFactory[Policy]):
    class Meta:
        model = Policy
        django_get_or_create = ("slug",)

    slug = factory.Sequence(lambda n: f"policy-{n}")
    name = factory.LazyAttribute(lambda p: p.slug.replace("-", " ").title())
    summary = "Check the amount against the order before approving."
    sla_minutes = 240
    reminder_points = [0.5, 0.9]


class RuleFactory(factory.django.DjangoModelFactory[PolicyRule]):
    class Meta:
        model = PolicyRule

    policy = factory.SubFactory(PolicyFactory)
    position = factory.Sequence(lambda n: n)
    name = "small amounts"
    condition = {"field": "amount", "op": "lt", "value": 50}
    action = PolicyRule.Action.APPROVE


class StageFactory(factory.django.DjangoModelFactory[PolicyStage]):
    class Meta:
        model = PolicyStage

    policy = factory.SubFactory(PolicyFactory)
    position = factory.Sequence(lambda n: n)
    group = factory.SubFactory(GroupFactory)


DEFAULT_OPTIONS = [
    ("approve", "Approve", Outcome.APPROVE, False),
    ("reject", "Reject", Outcome.REJECT, False),
    ("request_changes", "Request changes", Outcome.REQUEST_CHANGES, True),
]


def add_default_options(policy: Policy) -> None:
    for position, (key, label, outcome, needs_comment) in enumerate(DEFAULT_OPTIONS):
        DecisionOption.objects.get_or_create(
            policy=policy,
            key=key,
            defaults={
                "label": label,
                "outcome": outcome,
                "needs_comment": needs_comment,
                "position": position,
            },
        )


def make_policy(
    *,
    slug: str = "refund-approval",
    group: ReviewerGroup,
    threshold: float | None = 50,
    **kwargs: Any,
) -> Policy:
    """A policy with one auto-approve rule (amount < threshold), one stage, default options."""
    policy = PolicyFactory.create(slug=slug, **kwargs)
    if threshold is not None:
        RuleFactory.create(
            policy=policy,
            position=1,
            condition={"field": "amount", "op": "lt", "value": threshold},
        )
    StageFactory.create(policy=policy, position=1, group=group)
    add_default_options(policy)
    return policy
