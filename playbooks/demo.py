"""The demo of `make demo`: reviewers for every playbook group, a manager, and a few hundred
requests submitted and partly decided through the same services the API and inbox use.

Idempotent: users are created once (their passwords are not reset), requests carry stable
external ids and are only submitted when missing.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from allauth.account.models import EmailAddress
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser, Group
from django.contrib.auth.password_validation import validate_password
from django.db import transaction
from django.utils import timezone

from approvals.exceptions import ApprovalError
from approvals.models import ApprovalRequest, Membership, Policy, ReviewerGroup, StandingApproval
from approvals.services import approval_decide, approval_submit
from approvals.services.standing import approval_decide_and_remember
from playbooks.installer import install_all

DEMO_PASSWORD = "demo-pass-123"
DEMO_EMAIL_DOMAIN = "example.com"
MANAGER_USERNAME = "manager"
REQUESTED_BY = "seed_demo"
DEMO_POLICIES = [
    "agent-tool-use",
    "ai-outbound-review",
    "contract-clause-review",
    "data-sync-conflict",
    "deal-discount",
    "refund-approval",
]

# group slug -> reviewers; every playbook group has several, so pull and round robin show.
DEMO_REVIEWERS: dict[str, list[str]] = {
    "support-leads": ["alice", "bob", "carol"],
    "marketing-reviewers": ["dave", "erin", "frank"],
    "revops": ["grace", "heidi"],
    "sales-managers": ["ivan", "judy", "mallory"],
    "finance": ["niaj", "olivia"],
    "legal": ["peggy", "rupert"],
    "agent-supervisors": ["sybil", "trent"],
}


@dataclass
class SeedSummary:
    users_created: int = 0
    requests_created: int = 0
    decisions_made: int = 0


def demo_logins() -> str:
    """The login table printed by `seed_demo` and by the demo supervisor."""
    lines = [f" Logins (password for all: {DEMO_PASSWORD}):"]
    lines.append(f"   {MANAGER_USERNAME}@{DEMO_EMAIL_DOMAIN:<22} manager: /admin/")
    for group, names in DEMO_REVIEWERS.items():
        emails = ", ".join(f"{name}@{DEMO_EMAIL_DOMAIN}" for name in names)
        lines.append(f"   {group:<20} {emails}")
    return "\n".join(lines) + "\n"


@transaction.atomic
def reviewer_add(
    *, username: str, group: ReviewerGroup, email: str = "", password: str = ""
) -> tuple[AbstractBaseUser, bool]:
    """Create the user if needed (no usable password unless one is given) and add it to the
    group. Raises ValidationError for a password the validators refuse."""
    User = get_user_model()
    user, created = User.objects.get_or_create(username=username)
    if email:
        user.email = email
    if password:
        validate_password(password, user)
        user.set_password(password)
    elif created:
        user.set_unusable_password()
    user.save()
    if email:
        # allauth logs in by email through its EmailAddress table.
        EmailAddress.objects.filter(user=user).exclude(email__iexact=email).update(primary=False)
        EmailAddress.objects.update_or_create(
            user=user, email=email, defaults={"verified": True, "primary": True}
        )
    Membership.objects.get_or_create(group=group, user=user)
    return user, created


def _ensure_users() -> int:
    User = get_user_model()
    created_count = 0
    for slug, names in DEMO_REVIEWERS.items():
        group = ReviewerGroup.objects.get(slug=slug)
        for name in names:
            exists = User.objects.filter(username=name).exists()
            reviewer_add(
                username=name,
                group=group,
                email=f"{name}@{DEMO_EMAIL_DOMAIN}",
                password="" if exists else DEMO_PASSWORD,
            )
            created_count += not exists
    manager, created = User.objects.get_or_create(
        username=MANAGER_USERNAME,
        defaults={"email": f"{MANAGER_USERNAME}@{DEMO_EMAIL_DOMAIN}", "is_staff": True},
    )
    if created:
        manager.set_password(DEMO_PASSWORD)
        manager.save()
        EmailAddress.objects.get_or_create(
            user=manager, email=manager.email, defaults={"verified": True, "primary": True}
        )
        created_count += 1
    manager.groups.add(Group.objects.get(name="Managers"))
    return created_count


# --- sample payloads ---------------------------------------------------------------------------

CUSTOMERS = ["acme", "globex", "initech", "umbrella", "hooli", "stark", "wayne", "wonka"]
CLAUSES = [
    "Unlimited liability",
    "Net-90 payment terms",
    "Most-favoured-nation pricing",
    "Termination for convenience with 7 days' notice",
    "Source code escrow",
    "Exclusive territory",
]


AGENT_CALLS: list[tuple[str, dict[str, Any]]] = [
    ("Read", {"file_path": "src/billing/invoice.py"}),
    ("Grep", {"pattern": "TODO", "path": "src/"}),
    ("Bash", {"command": "make test"}),
    ("Bash", {"command": "git push origin feature/refunds"}),
    ("Write", {"file_path": "src/billing/invoice.py", "content": "…"}),
    ("WebFetch", {"url": "https://docs.example.com/api"}),
]


def _sample(slug: str, n: int, rng: random.Random) -> tuple[str, dict[str, Any]]:
    customer = rng.choice(CUSTOMERS)
    if slug == "agent-tool-use":
        tool, tool_input = rng.choice(AGENT_CALLS)
        call: dict[str, Any] = {"tool_name": tool, "input": tool_input, "agent": "claude-code"}
        return f"{tool}: {next(iter(tool_input.values()))}", call
    if slug == "refund-approval":
        amount = round(rng.choice([rng.uniform(5, 49), rng.uniform(50, 900)]), 2)
        payload = {
            "amount": amount,
            "currency": "USD",
            "customer": customer,
            "order_id": f"ORD-{4000 + n}",
            "reason": rng.choice(
                ["Damaged item", "Late delivery", "Wrong size", "Duplicate charge"]
            ),
        }
        return f"Refund {amount:.2f} USD for order #{4000 + n}", payload
    if slug == "ai-outbound-review":
        payload = {
            "recipient": f"buyer@{customer}.example",
            "channel": "email",
            "subject": f"Following up on your trial, {customer.title()}",
            "draft": (
                f"Hi there,\n\nThanks for trying Checkpoint at {customer.title()}. "
                f"Teams like yours cut approval time by {rng.randint(20, 70)}%. "
                "Would a 20-minute call next week help?\n\nBest,\nSam"
            ),
            "model": "gpt-outreach-v3",
        }
        return f"Outbound email to {customer.title()}", payload
    if slug == "data-sync-conflict":
        field = rng.choice(["billing_email", "phone", "vat_id", "address_line1"])
        payload = {
            "record": f"account:{customer.upper()}-{100 + n}",
            "field": field,
            "crm_value": f"{field}-crm-{n}",
            "erp_value": f"{field}-erp-{n}",
            "crm_updated_at": "2026-11-20T09:00:00Z",
            "erp_updated_at": "2026-11-21T15:30:00Z",
        }
        return f"{field} differs for {customer.title()}", payload
    if slug == "deal-discount":
        discount = rng.choice([5, 8, 10, 12, 15, 18, 22, 25, 30, 35])
        payload = {
            "deal": f"{customer.title()} renewal {2026 + n % 2}",
            "account": customer,
            "amount": rng.randint(10, 400) * 1000,
            "discount_percent": discount,
            "term_months": rng.choice([12, 24, 36]),
            "strategic": rng.random() < 0.2,
        }
        return f"{discount}% discount for {customer.title()}", payload
    clauses = [] if rng.random() < 0.3 else rng.sample(CLAUSES, rng.randint(1, 3))
    payload = {
        "counterparty": customer.title(),
        "contract_type": rng.choice(["MSA", "DPA", "Order form"]),
        "value": rng.randint(5, 500) * 1000,
        "nonstandard_clauses": clauses,
    }
    return f"{payload['contract_type']} with {customer.title()}", payload


def _decide_some(approval: ApprovalRequest, rng: random.Random) -> bool:
    """Decide a human-routed request the way a reviewer of its group would."""
    reviewer = (
        approval.assignee
        or Membership.objects.filter(group_id=approval.assigned_group_id)
        .select_related("user")
        .order_by("?")
        .first()
        .user  # type: ignore[union-attr]
    )
    # "Approve and remember" needs the reviewer's choice of fields: the demo leaves it out
    # here and makes one standing approval in _remember_one.
    options = [option for option in approval.policy.options.all() if not option.remember]
    roll = rng.random()
    option = options[0] if roll < 0.7 else options[1 if roll < 0.85 else -1]
    try:
        approval_decide(
            approval=approval,
            reviewer=reviewer,
            option=option.key,
            comment="Checked against the policy." if option.needs_comment or roll > 0.5 else "",
            value="corrected-by-revops" if option.needs_value else "",
        )
    except ApprovalError:
        return False
    return True


def seed_demo(*, requests: int = 300, seed: int = 42) -> SeedSummary:
    """Steps: install every playbook; create reviewers and the manager; submit the missing
    sample requests (about one in six overdue); decide about a third of the human ones."""
    summary = SeedSummary()
    install_all()
    summary.users_created = _ensure_users()
    rng = random.Random(seed)
    # A second stream for the decision delays, so adding them does not change the samples.
    delays = random.Random(seed + 1)
    policies = list(Policy.objects.filter(slug__in=DEMO_POLICIES).order_by("slug"))
    existing = set(
        ApprovalRequest.objects.filter(requested_by=REQUESTED_BY).values_list(
            "external_id", flat=True
        )
    )
    now = timezone.now()
    for n in range(requests):
        policy = policies[n % len(policies)]
        external_id = f"demo-{policy.slug}-{n:04d}"
        # Draw every sample even when it exists, so request n is the same on every run.
        title, payload = _sample(policy.slug, n, rng)
        overdue = rng.random() < 0.17
        decide = rng.random() < 0.33
        if external_id in existing:
            continue
        approval = approval_submit(
            policy=policy,
            title=title,
            payload=payload,
            summary="Sample request created by seed_demo.",
            external_id=external_id,
            requested_by=REQUESTED_BY,
            due_at=now - timedelta(hours=rng.randint(1, 48)) if overdue else None,
            actor=REQUESTED_BY,
        )
        summary.requests_created += 1
        if approval.status == ApprovalRequest.Status.PENDING and (overdue or not decide):
            # Demo data only, as below: work still open arrived some time ago. An overdue one
            # was created a full SLA before its due time (so the dashboard never shows it as
            # "< 1 h old"); the rest within the first half of their SLA (so none is late).
            sla = timedelta(minutes=policy.sla_minutes or 240)
            if overdue and approval.due_at is not None:
                created = approval.due_at - sla
            else:
                created = approval.created_at - sla * delays.uniform(0, 0.5)
            ApprovalRequest.objects.filter(pk=approval.pk).update(created_at=created)
        if approval.status == ApprovalRequest.Status.PENDING and decide and not overdue:
            decided = _decide_some(approval, rng)
            summary.decisions_made += decided
            if decided:
                # Demo data only: the sample was decided the instant it was made, which would
                # put "0s" on every dashboard figure. Moving its creation back by a reviewer's
                # usual delay gives realistic times to decision. created_at is not on the
                # audit chain (its entries keep their own times), so verify_audit still holds.
                ApprovalRequest.objects.filter(pk=approval.pk).update(
                    created_at=approval.created_at
                    - timedelta(minutes=delays.choice([4, 9, 15, 25, 40, 75, 120, 240, 480]))
                )
    _remember_one()
    return summary


def _remember_one() -> None:
    """One standing approval for the admin to show: a supervisor remembers `Bash` for 7 days."""
    if StandingApproval.objects.exists():
        return
    call = approval_submit(
        policy=Policy.objects.get(slug="agent-tool-use"),
        title="Bash: make lint",
        payload={"tool_name": "Bash", "input": {"command": "make lint"}, "agent": "claude-code"},
        summary="Sample request created by seed_demo.",
        external_id="demo-agent-remembered",
        requested_by=REQUESTED_BY,
        actor=REQUESTED_BY,
    )
    if call.status != ApprovalRequest.Status.PENDING:
        return
    supervisor = get_user_model().objects.get(username=DEMO_REVIEWERS["agent-supervisors"][0])
    approval_decide_and_remember(
        approval=call,
        reviewer=supervisor,
        option="approve-remember",
        fields=["tool_name"],
        duration="7d",
        comment="Tests and lint are fine to run.",
    )
