"""The Checkpoint domain (docs/architecture.md).

Models hold data and values of their own row only. Every change of status, assignment or audit
goes through `approvals.services`: nothing here has business rules in `save()`.
"""

from __future__ import annotations

import base64
import secrets
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone

from approvals.fields import EncryptedTextField
from approvals.history import history_records
from approvals.ids import uuid7


def new_signing_secret() -> str:
    # Standard Webhooks secrets are *standard* base64 (not URL-safe): receivers in any language
    # decode the part after `whsec_` with a strict decoder to get the HMAC key.
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode("ascii")


# --- Reviewer groups ------------------------------------------------------------------------


class ReviewerGroup(models.Model):
    class Strategy(models.TextChoices):
        PULL = "pull", "Pull (anyone in the group claims)"
        ROUND_ROBIN = "round_robin", "Round robin"
        LEAST_LOADED = "least_loaded", "Least loaded"

    slug = models.SlugField(max_length=64, unique=True)
    name = models.CharField(max_length=120)
    strategy = models.CharField(max_length=20, choices=Strategy.choices, default=Strategy.PULL)
    default_wip_cap = models.PositiveIntegerField(
        default=0, help_text="Open requests a member may hold at once; 0 means no cap."
    )
    overflow_group = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="Takes new work when every member is away or at the cap.",
    )
    escalation_group = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="Receives requests that pass their due time.",
    )
    # Business hours: when both are set, SLAs count only working time.
    work_start = models.TimeField(null=True, blank=True)
    work_end = models.TimeField(null=True, blank=True)
    work_days = models.JSONField(
        default=list,
        blank=True,
        help_text="ISO weekdays (1 = Monday … 7 = Sunday); empty = every day.",
    )
    time_zone = models.CharField(max_length=64, default="UTC")
    slack_channel = models.CharField(
        max_length=32,
        blank=True,
        validators=[
            RegexValidator(
                r"^[CG][A-Z0-9]{2,30}$",
                "A Slack channel id looks like C0123ABCD (channel details → About, at the bottom).",
            )
        ],
        help_text="Slack channel id (e.g. C0123ABC) where every request entering this queue is "
        "posted; empty posts nowhere. Invite the Checkpoint app to the channel.",
    )
    members = models.ManyToManyField(
        settings.AUTH_USER_MODEL, through="Membership", related_name="reviewer_groups"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    history = history_records()

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def has_business_hours(self) -> bool:
        return self.work_start is not None and self.work_end is not None


class Membership(models.Model):
    group = models.ForeignKey(ReviewerGroup, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    away = models.BooleanField(default=False, help_text="Away members get no new work.")
    wip_cap = models.PositiveIntegerField(
        null=True, blank=True, help_text="Overrides the group's cap; 0 means no cap."
    )
    last_assigned_at = models.DateTimeField(null=True, blank=True)
    joined_at = models.DateTimeField(auto_now_add=True)
    history = history_records()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["group", "user"], name="membership_unique_user")
        ]
        ordering = ["group", "user"]

    def __str__(self) -> str:
        return f"{self.user} in {self.group}"

    @property
    def effective_wip_cap(self) -> int:
        return self.wip_cap if self.wip_cap is not None else self.group.default_wip_cap


class NotifyMode(models.TextChoices):
    IMMEDIATE = "immediate", "Right away"
    BATCHED = "batched", "Batched"
    OFF = "off", "Off"


class ReviewerProfile(models.Model):
    """What a reviewer sets for themselves (out of office, digest) and what managers see (fatigue)."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="reviewer_profile"
    )
    away_from = models.DateTimeField(null=True, blank=True)
    away_until = models.DateTimeField(null=True, blank=True)
    delegate = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    daily_digest = models.BooleanField(default=False)
    # How each kind of notice reaches this reviewer (docs/notifications.md): now, collected into
    # one email per NOTIFY_BATCH_MINUTES, or not at all.
    notify_queue = models.CharField(
        max_length=10, choices=NotifyMode.choices, default=NotifyMode.BATCHED
    )
    notify_assigned = models.CharField(
        max_length=10, choices=NotifyMode.choices, default=NotifyMode.IMMEDIATE
    )
    notify_reminders = models.CharField(
        max_length=10, choices=NotifyMode.choices, default=NotifyMode.IMMEDIATE
    )
    fatigue_flagged_at = models.DateTimeField(null=True, blank=True)
    fatigue_reason = models.CharField(max_length=300, blank=True)
    # Decisions before this moment no longer count towards a new fatigue flag.
    fatigue_cleared_at = models.DateTimeField(null=True, blank=True)
    # Slack (docs/api.md "Slack"): the reviewer's Slack user id, found with users.lookupByEmail
    # from `slack_lookup_email`; a changed email is looked up again.
    slack_enabled = models.BooleanField(
        default=True, help_text="Send this reviewer their requests in Slack."
    )
    slack_user_id = models.CharField(max_length=32, blank=True, db_index=True)
    slack_lookup_email = models.EmailField(blank=True)
    slack_looked_up_at = models.DateTimeField(null=True, blank=True)
    history = history_records()

    def __str__(self) -> str:
        return f"Profile of {self.user}"

    def is_out_of_office(self, at: Any = None) -> bool:
        at = at or timezone.now()
        if self.away_from is None:
            return False
        return self.away_from <= at and (self.away_until is None or at < self.away_until)


# --- Policies -----------------------------------------------------------------------------------


class Policy(models.Model):
    class ExpiryAction(models.TextChoices):
        EXPIRE = "expire", "Expire"
        REJECT = "reject", "Reject"
        APPROVE = "approve", "Approve"
        ESCALATE = "escalate", "Escalate once more"

    slug = models.SlugField(max_length=64, unique=True)
    name = models.CharField(max_length=120)
    summary = models.TextField(blank=True, help_text="Shown beside every decision.")
    # When the summary and the rules or stages last changed: a summary older than the rules is
    # flagged as possibly out of date (approvals/admin/policies.py, the what-if's Apply).
    summary_updated_at = models.DateTimeField(null=True, blank=True, editable=False)
    rules_updated_at = models.DateTimeField(null=True, blank=True, editable=False)
    version = models.PositiveIntegerField(default=1, editable=False)
    is_active = models.BooleanField(default=True)
    payload_schema = models.JSONField(
        null=True, blank=True, help_text="JSON Schema the payload must satisfy at intake."
    )
    visible_fields = models.JSONField(
        default=list, blank=True, help_text="Payload paths reviewers see; empty shows every field."
    )
    editable_fields = models.JSONField(
        default=list, blank=True, help_text="Payload paths a reviewer may edit when approving."
    )
    sla_minutes = models.PositiveIntegerField(
        null=True, blank=True, help_text="Time to decide; empty means no SLA."
    )
    reminder_points = models.JSONField(
        default=list,
        blank=True,
        help_text="Fractions of the SLA at which to remind, e.g. [0.5, 0.9].",
    )
    expire_after_minutes = models.PositiveIntegerField(
        null=True,
        blank=True,
        help_text="Minutes after the due time at which the expiry action runs.",
    )
    expiry_action = models.CharField(
        max_length=20, choices=ExpiryAction.choices, default=ExpiryAction.EXPIRE
    )
    callback_url = models.URLField(max_length=2000, blank=True)
    requester_field = models.CharField(
        max_length=200,
        blank=True,
        help_text="Dotted path into the payload holding the requester's email, e.g. "
        "requested_by_email. Four-eyes: the reviewer with that verified email never gets, "
        "and cannot approve, the request (docs/security.md).",
    )
    email_decisions_need_sign_in = models.BooleanField(
        "email decisions need sign-in",
        default=False,
        help_text=(
            "An email link then only shows the request; deciding needs the reviewer signed in "
            "(with their second factor when they have one). For high-stakes policies."
        ),
    )
    # Encrypted at rest and kept out of the history (docs/security.md "Secrets at rest and inputs").
    signing_secret = EncryptedTextField(default=new_signing_secret, editable=False)
    previous_signing_secret = EncryptedTextField(blank=True, editable=False)
    previous_secret_expires_at = models.DateTimeField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    history = history_records(excluded_fields=["signing_secret", "previous_signing_secret"])

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "policies"

    def __str__(self) -> str:
        return self.name

    @property
    def summary_is_stale(self) -> bool:
        """The rules or stages changed after the summary was last written."""
        if self.rules_updated_at is None:
            return False
        return self.summary_updated_at is None or self.summary_updated_at < self.rules_updated_at

    def signing_secrets(self, at: Any = None) -> list[str]:
        """The current secret, plus the previous one while a rotation's grace period lasts."""
        at = at or timezone.now()
        found = [self.signing_secret]
        if (
            self.previous_signing_secret
            and self.previous_secret_expires_at
            and at < self.previous_secret_expires_at
        ):
            found.append(self.previous_signing_secret)
        return found


class Route(models.TextChoices):
    AUTO = "auto", "Auto"
    HUMAN = "human", "Human"


class Outcome(models.TextChoices):
    APPROVE = "approve", "Approve"
    REJECT = "reject", "Reject"
    REQUEST_CHANGES = "request_changes", "Request changes"


class PolicyRule(models.Model):
    class Action(models.TextChoices):
        APPROVE = "approve", "Auto-approve"
        REJECT = "reject", "Auto-reject"
        HUMAN = "human", "Send to a human"

    policy = models.ForeignKey(Policy, on_delete=models.CASCADE, related_name="rules")
    position = models.PositiveIntegerField(default=0)
    name = models.CharField(max_length=120)
    condition = models.JSONField(
        help_text='e.g. {"field": "amount", "op": "lt", "value": 50} or {"all": [...]} / {"any": [...]}'
    )
    action = models.CharField(max_length=10, choices=Action.choices)
    history = history_records()

    class Meta:
        ordering = ["policy", "position", "id"]

    def __str__(self) -> str:
        return self.name


class PolicyStage(models.Model):
    class Quorum(models.TextChoices):
        ONE = "one", "One approval"
        ALL = "all", "Every member"
        COUNT = "count", "N approvals"

    policy = models.ForeignKey(Policy, on_delete=models.CASCADE, related_name="stages")
    position = models.PositiveIntegerField(default=0)
    name = models.CharField(max_length=120, blank=True)
    group = models.ForeignKey(ReviewerGroup, on_delete=models.PROTECT, related_name="stages")
    quorum = models.CharField(max_length=10, choices=Quorum.choices, default=Quorum.ONE)
    quorum_count = models.PositiveIntegerField(default=1)
    condition = models.JSONField(
        null=True,
        blank=True,
        help_text="Run this stage only when the payload matches (empty: always).",
    )
    history = history_records()

    class Meta:
        ordering = ["policy", "position", "id"]

    def __str__(self) -> str:
        return self.name or f"Stage {self.position}"


class DecisionOption(models.Model):
    policy = models.ForeignKey(Policy, on_delete=models.CASCADE, related_name="options")
    position = models.PositiveIntegerField(default=0)
    key = models.SlugField(max_length=64)
    label = models.CharField(max_length=60)
    outcome = models.CharField(max_length=20, choices=Outcome.choices)
    needs_comment = models.BooleanField(default=False)
    needs_value = models.BooleanField(default=False)
    may_edit_payload = models.BooleanField(default=False)
    # "Approve and remember" (docs/agents.md): approving also creates a StandingApproval.
    remember = models.BooleanField(default=False)
    remember_fields = models.JSONField(
        default=list,
        blank=True,
        help_text="Visible fields ticked by default when remembering; empty ticks every one.",
    )
    history = history_records()

    class Meta:
        ordering = ["policy", "position", "id"]
        constraints = [models.UniqueConstraint(fields=["policy", "key"], name="option_unique_key")]

    def __str__(self) -> str:
        return self.label


# --- Requests -----------------------------------------------------------------------------------


class ApprovalRequest(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        APPROVED = "approved", "Approved"
        REJECTED = "rejected", "Rejected"
        CHANGES_REQUESTED = "changes_requested", "Changes requested"
        EXPIRED = "expired", "Expired"
        CANCELLED = "cancelled", "Cancelled"

    # Status moves the services may make. Final statuses go nowhere.
    TRANSITIONS: dict[str, frozenset[str]] = {
        Status.PENDING: frozenset(
            {
                Status.APPROVED,
                Status.REJECTED,
                Status.CHANGES_REQUESTED,
                Status.EXPIRED,
                Status.CANCELLED,
            }
        ),
        Status.APPROVED: frozenset(),
        Status.REJECTED: frozenset(),
        Status.CHANGES_REQUESTED: frozenset(),
        Status.EXPIRED: frozenset(),
        Status.CANCELLED: frozenset(),
    }

    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    # The foreign keys that lead a composite index (policy: req_policy_external; group:
    # req_group_due; assignee: req_assignee_due) get no index of their own: it would only be
    # one more to write on every intake and decision (docs/performance.md "Indexes").
    policy = models.ForeignKey(
        Policy, on_delete=models.PROTECT, related_name="requests", db_index=False
    )
    policy_version = models.PositiveIntegerField()
    external_id = models.CharField(max_length=255, blank=True)
    title = models.CharField(max_length=300)
    summary = models.TextField(blank=True)
    payload = models.JSONField(help_text="The payload as it stands, reviewers' edits applied.")
    submitted_payload = models.JSONField(help_text="The payload exactly as the caller sent it.")
    callback_url = models.URLField(max_length=2000, blank=True)
    requested_by = models.CharField(max_length=255, blank=True)
    # Who asked, by verified identity (docs/security.md "Four-eyes"): the user the API token acts
    # for, and the email at the policy's requester field, both fixed at intake.
    requester = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="requested_approvals",
    )
    requester_email = models.CharField(max_length=254, blank=True)
    # The API caller that owns it (docs/api.md "Tokens and callers"); "" for requests that did
    # not come through a token (inbound sources, the demo seed).
    caller = models.CharField(max_length=120, blank=True, default="")
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PENDING)
    route = models.CharField(max_length=10, choices=Route.choices)
    route_reason = models.CharField(max_length=500, blank=True)
    matched_rule = models.CharField(max_length=120, blank=True)
    # The stages chosen at routing time, frozen so that later policy edits don't move the ground:
    # [{"position": 1, "group_id": 3, "group": "finance", "quorum": "one", "quorum_count": 1}, …]
    stage_plan = models.JSONField(default=list)
    stage = models.PositiveIntegerField(default=0, help_text="1-based; 0 when decided by policy.")
    assigned_group = models.ForeignKey(
        ReviewerGroup,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="requests",
        db_index=False,
    )
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="assigned_requests",
        db_index=False,
    )
    assigned_at = models.DateTimeField(null=True, blank=True)
    due_at = models.DateTimeField(null=True, blank=True)
    due_at_overridden = models.BooleanField(default=False)
    expires_at = models.DateTimeField(null=True, blank=True)
    escalated = models.BooleanField(default=False)
    escalated_at = models.DateTimeField(null=True, blank=True)
    escalation_count = models.PositiveIntegerField(default=0)
    # When the SLA sweep should next look at this row (reminder, escalation or expiry); null when
    # nothing is scheduled. One indexed column keeps the sweep's cost proportional to work due.
    next_sla_check_at = models.DateTimeField(null=True, blank=True)
    previous = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="revisions"
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    # What the inbox's search reads (approvals.formats.search_text): written with the row by
    # the services; a trigram index on PostgreSQL (migration 0016) finds any substring.
    search_text = models.TextField(blank=True, editable=False, db_default="")
    # The history is read by request (its `id`) and by date; its copies of the foreign keys
    # need no index.
    history = history_records(
        excluded_fields=["updated_at", "search_text"],
        no_db_index=["policy", "assigned_group", "assignee", "requester", "previous"],
    )

    class Meta:
        ordering = ["-created_at"]
        permissions = [("export_audit", "Can export the audit CSV")]
        constraints = [
            # docs/api.md "The API": one open request per policy + external_id, per caller
            # (external ids are the caller's own: docs/api.md "Tokens and callers").
            models.UniqueConstraint(
                fields=["policy", "caller", "external_id"],
                condition=Q(status="pending") & ~Q(external_id=""),
                name="request_one_open_per_external_id",
            ),
        ]
        indexes = [
            # Inbox "assigned to me", ordered by due time.
            models.Index(fields=["assignee", "status", "due_at"], name="req_assignee_due"),
            # Inbox group queue (unassigned work of my groups) and least-loaded counts.
            models.Index(fields=["assigned_group", "status", "due_at"], name="req_group_due"),
            # The group queue itself, page and counter: only the unassigned open rows, in due
            # order, so a group whose work is nearly all assigned is not read row by row.
            models.Index(
                fields=["assigned_group", "due_at", "id"],
                condition=Q(status="pending") & Q(assignee__isnull=True),
                name="req_queue_due",
            ),
            # sweep_slas: pending rows whose next check is due.
            models.Index(
                fields=["next_sla_check_at"],
                condition=Q(status="pending") & Q(next_sla_check_at__isnull=False),
                name="req_sla_check_due",
            ),
            # Inbox sorted by age (oldest first): my open work, and each group's queue.
            models.Index(
                fields=["assignee", "created_at", "id"],
                condition=Q(status="pending"),
                name="req_assignee_age",
            ),
            models.Index(
                fields=["assigned_group", "created_at", "id"],
                condition=Q(status="pending") & Q(assignee__isnull=True),
                name="req_queue_age",
            ),
            # API list (newest first, keyset) and the external_id filter.
            models.Index(fields=["-created_at", "-id"], name="req_created"),
            # API list of one caller (docs/api.md "Tokens and callers").
            models.Index(fields=["caller", "-created_at", "-id"], name="req_caller_created"),
            models.Index(fields=["policy", "external_id"], name="req_policy_external"),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def is_final(self) -> bool:
        return not self.TRANSITIONS[self.status]

    def can_move_to(self, status: str) -> bool:
        return status in self.TRANSITIONS[self.status]

    @property
    def is_overdue(self) -> bool:
        return (
            self.status == self.Status.PENDING
            and self.due_at is not None
            and self.due_at <= timezone.now()
        )

    @property
    def current_stage(self) -> dict[str, Any] | None:
        if 1 <= self.stage <= len(self.stage_plan):
            return self.stage_plan[self.stage - 1]
        return None


class Decision(models.Model):
    """Append-only: one row per vote or outcome. Never updated, never deleted."""

    class Channel(models.TextChoices):
        WEB = "web", "Web"
        EMAIL = "email", "Email"
        SLACK = "slack", "Slack"
        AUTO = "auto", "Policy"
        TIMEOUT = "timeout", "Timeout"

    approval = models.ForeignKey(
        ApprovalRequest, on_delete=models.PROTECT, related_name="decisions"
    )
    stage = models.PositiveIntegerField()
    outcome = models.CharField(max_length=20, choices=Outcome.choices)
    option = models.CharField(max_length=64, blank=True, help_text="The option's key.")
    option_label = models.CharField(max_length=60, blank=True)
    value = models.TextField(blank=True, help_text="The value an option asked for (e.g. Custom).")
    comment = models.TextField(blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="decisions",
    )
    decided_by_name = models.CharField(max_length=255, help_text='Username, "policy" or "system".')
    channel = models.CharField(max_length=10, choices=Channel.choices)
    decided_at = models.DateTimeField(default=timezone.now)
    payload_changes = models.JSONField(default=dict, blank=True)
    policy_version = models.PositiveIntegerField()
    rule = models.CharField(
        max_length=120, blank=True, help_text="The rule behind an auto decision."
    )
    is_final = models.BooleanField(default=False, help_text="This decision ended the request.")
    entry_hash = models.CharField(max_length=64, blank=True)

    class Meta:
        ordering = ["decided_at", "id"]
        constraints = [
            # A reviewer votes once per request.
            models.UniqueConstraint(
                fields=["approval", "decided_by"],
                condition=Q(decided_by__isnull=False),
                name="decision_one_vote_per_reviewer",
            ),
        ]
        indexes = [models.Index(fields=["decided_at", "id"], name="decision_time")]

    def __str__(self) -> str:
        return f"{self.get_outcome_display()} by {self.decided_by_name}"


# --- Audit trail ------------------------------------------------------------------------------


class AuditChainHead(models.Model):
    """The sealed end of the chain: moved only by the sealer (docs/architecture.md "The audit
    chain: sealed after commit")."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    seq = models.PositiveBigIntegerField(default=0)
    last_hash = models.CharField(max_length=64, default="0" * 64)

    def __str__(self) -> str:
        return f"audit chain head at #{self.seq}"


class AuditEntry(models.Model):
    """Append-only and hash-chained. Services insert entries unsealed (`seq` null, hashes empty);
    the sealer fills `seq`, `prev_hash` and `entry_hash` once. On PostgreSQL a trigger refuses
    every other UPDATE and every DELETE (migration 0006)."""

    seq = models.PositiveBigIntegerField(unique=True, null=True, blank=True)
    at = models.DateTimeField(default=timezone.now)
    approval = models.ForeignKey(
        ApprovalRequest,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="audit_entries",
        db_index=False,  # audit_approval_seq leads with it
    )
    decision = models.OneToOneField(
        Decision, null=True, blank=True, on_delete=models.PROTECT, related_name="audit_entry"
    )
    action = models.CharField(max_length=40)
    actor = models.CharField(max_length=255)
    data = models.JSONField(default=dict, blank=True)
    prev_hash = models.CharField(max_length=64, blank=True)
    entry_hash = models.CharField(max_length=64, blank=True)

    class Meta:
        ordering = ["seq"]
        verbose_name_plural = "audit entries"
        indexes = [
            models.Index(fields=["approval", "seq"], name="audit_approval_seq"),
            # The sealer's queue: unsealed entries in insertion order.
            models.Index(fields=["id"], condition=Q(seq__isnull=True), name="audit_unsealed"),
        ]

    def __str__(self) -> str:
        return f"#{self.seq} {self.action}"


# --- Callbacks outbox ----------------------------------------------------------------------------


class OutboxEvent(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        DELIVERED = "delivered", "Delivered"
        DEAD = "dead", "Dead"
        NO_TARGET = "no_target", "No callback URL"

    class Kind(models.TextChoices):
        WEBHOOK = "webhook", "Signed callback"
        HUBSPOT_COMPLETE = "hubspot_complete", "HubSpot workflow completion"

    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    approval = models.ForeignKey(ApprovalRequest, on_delete=models.CASCADE, related_name="events")
    event_type = models.CharField(max_length=40)
    # A HubSpot completion goes to HubSpot's API with the source's token instead of a signature.
    kind = models.CharField(max_length=20, choices=Kind.choices, default=Kind.WEBHOOK)
    inbound_source = models.ForeignKey(
        "InboundSource", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    body = models.JSONField(help_text="The JSON posted, exactly.")
    target_url = models.URLField(max_length=2000, blank=True)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    # A worker's claim on the row; an expired lease means the worker died mid-delivery.
    leased_until = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at"]
        indexes = [
            # deliver_webhooks: pending events whose attempt is due.
            models.Index(
                fields=["next_attempt_at"],
                condition=Q(status="pending"),
                name="outbox_due",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.event_type} for {self.approval_id}"

    @property
    def webhook_id(self) -> str:
        return f"msg_{self.id.hex}"


class DeliveryAttempt(models.Model):
    event = models.ForeignKey(
        OutboxEvent, on_delete=models.CASCADE, related_name="delivery_attempts"
    )
    number = models.PositiveIntegerField()
    at = models.DateTimeField(default=timezone.now)
    status_code = models.PositiveIntegerField(null=True, blank=True)
    error = models.TextField(blank=True)
    duration_ms = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["event", "number"]

    def __str__(self) -> str:
        return f"attempt {self.number} of {self.event_id}"


# --- Notifications (email, reminders) ----------------------------------------------------------


class Notification(models.Model):
    """One row per message that must go out at most once (unique `key`)."""

    class Kind(models.TextChoices):
        ASSIGNED = "assigned", "Assigned"
        REMINDER = "reminder", "Reminder"
        ESCALATED = "escalated", "Escalated"
        DIGEST = "digest", "Daily digest"
        FATIGUE = "fatigue", "Fatigue flag"
        BATCH = "batch", "Batched summary"

    key = models.CharField(max_length=200, unique=True)
    kind = models.CharField(max_length=20, choices=Kind.choices)
    approval = models.ForeignKey(
        ApprovalRequest,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="notifications",
    )
    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    stage = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)
    error = models.TextField(blank=True)
    # Non-empty: this notice waits to go out in its recipient's batch of that name
    # ("group:<id>" for new work in a group's queue, "personal" for the rest).
    batch = models.CharField(max_length=40, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(
                fields=["sent_at"], condition=Q(sent_at__isnull=True), name="notif_unsent"
            ),
            models.Index(
                fields=["recipient", "batch", "created_at"],
                condition=Q(sent_at__isnull=True) & ~Q(batch=""),
                name="notif_batch_waiting",
            ),
        ]

    def __str__(self) -> str:
        return self.key


class QueuedNotice(models.Model):
    """A notice email still to be worked out and sent: written in the transaction of the change
    that calls for it (an assignment, a reminder, an escalation), taken and deleted in batches
    by the worker (approvals/notifications/email.py `send_queued`; docs/notifications.md
    "How a notice reaches the worker"). A commit that rolls back queues nothing; a broker
    outage only delays it until the next run.
    """

    # No foreign-key constraint or index: a row lives a second or so, and a request that is
    # gone by then is simply not notified (`notify` finds nothing).
    approval = models.ForeignKey(
        ApprovalRequest,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        db_index=False,
        related_name="+",
    )
    kind = models.CharField(max_length=20, choices=Notification.Kind.choices)
    stage = models.PositiveIntegerField()
    # Tells repeated notices of one stage apart (a reminder's point), as in `notify`.
    tag = models.CharField(max_length=40, blank=True)
    # The request's escalations when queued: an escalation since makes the notice stale (the
    # escalation's own notice tells the people it now waits on).
    escalation_count = models.PositiveIntegerField(default=0)
    queued_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"{self.kind} notice for {self.approval_id}"


# --- API ------------------------------------------------------------------------------------------


class DeepLink(models.Model):
    """One decision link minted for one reviewer, request, stage and option (docs/security.md
    "Email links"). The signed token names this row; the row makes the link single-use
    (`used_at`, set by the POST that decides) and revocable (`revoked_at`, from the admin).
    A link of a request that was decided, moved on or handed to someone else is refused by
    comparing it with the request, so deciding writes nothing here."""

    approval = models.ForeignKey(
        ApprovalRequest,
        on_delete=models.CASCADE,
        related_name="deep_links",
        db_index=False,  # deeplink_approval_reviewer leads with it
    )
    reviewer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+"
    )
    stage = models.PositiveIntegerField()
    option_key = models.CharField(max_length=64)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["approval", "reviewer"], name="deeplink_approval_reviewer")]

    def __str__(self) -> str:
        return f"link #{self.pk} for {self.option_key}"

    @property
    def state(self) -> str:
        if self.revoked_at:
            return "revoked"
        if self.used_at:
            return "used"
        if self.expires_at <= timezone.now():
            return "expired"
        return "live"


class ApiToken(models.Model):
    """An intake credential (docs/api.md "Tokens and callers"): one caller's, limited to some
    policies and scopes, possibly expiring, possibly acting for a user (four-eyes)."""

    SCOPE_CREATE = "create"
    SCOPE_READ = "read"
    SCOPE_CANCEL = "cancel"
    SCOPES = (SCOPE_CREATE, SCOPE_READ, SCOPE_CANCEL)
    # Requests made before tokens had callers belong to this one (migration 0012).
    LEGACY_CALLER = "legacy"

    name = models.CharField(max_length=120, unique=True)
    caller = models.CharField(
        max_length=120,
        help_text="The owner namespace: tokens of one caller see the same requests.",
    )
    prefix = models.CharField(max_length=12, help_text="The first characters, to recognise it.")
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    scopes = models.JSONField(default=list, help_text="Some of create, read, cancel.")
    # Policy ids it may submit to and list; empty: every policy. Ids, not a many-to-many, so
    # that checking them costs the intake no query.
    policy_ids = models.JSONField(default=list, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="api_tokens",
        help_text="The person this token acts for: never assigned, and never approves, "
        "its requests.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["name"]
        verbose_name = "API token"

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None and not self.is_expired

    @property
    def is_expired(self) -> bool:
        return self.expires_at is not None and self.expires_at <= timezone.now()

    def allows(self, scope: str) -> bool:
        return scope in self.scopes

    def allows_policy(self, policy_id: int) -> bool:
        return not self.policy_ids or policy_id in self.policy_ids


class IdempotencyRecord(models.Model):
    IDEMPOTENCY_WINDOW = timedelta(hours=24)

    token = models.ForeignKey(ApiToken, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=255)
    body_hash = models.CharField(max_length=64)
    response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    response_body = models.BinaryField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["token", "key"], name="idempotency_unique_key")
        ]
        indexes = [models.Index(fields=["created_at"], name="idempotency_created")]

    def __str__(self) -> str:
        return self.key


# --- Inbound sources (docs/api.md "Inbound sources") -------------------------------------------


class InboundSource(models.Model):
    """A CRM or ticketing tool allowed to start requests at /api/v1/inbound/<slug>.

    `secret` and `api_token` are credentials: read and written only through
    approvals/inbound/secrets.py, never shown after saving, kept out of the history and
    encrypted at rest (approvals/fields.py).
    """

    class Verification(models.TextChoices):
        HUBSPOT = "hubspot", "HubSpot signature (v2 or v3)"
        STANDARD_WEBHOOKS = "standard-webhooks", "Standard Webhooks (whsec_ secret)"
        HMAC_SHA256 = "hmac-sha256", "X-Signature: sha256=<hex HMAC-SHA256>"
        SHARED_SECRET = "shared-secret", "X-Checkpoint-Secret header (Dynamics 365, Salesforce)"

    slug = models.SlugField(max_length=64, unique=True)
    policy = models.ForeignKey(Policy, on_delete=models.PROTECT, related_name="inbound_sources")
    verification = models.CharField(max_length=20, choices=Verification.choices)
    is_active = models.BooleanField(default=True)
    secret = EncryptedTextField(editable=False)
    api_token = EncryptedTextField(
        blank=True, editable=False, help_text="HubSpot private-app token."
    )
    title_template = models.CharField(
        max_length=300, help_text='e.g. "Discount for {properties.dealname}"'
    )
    external_id_path = models.CharField(max_length=200, blank=True)
    event_id_path = models.CharField(
        max_length=200,
        blank=True,
        help_text="The body's event id, when the sender has no webhook-id or callbackId.",
    )
    payload_fields = models.JSONField(
        default=dict, blank=True, help_text='{"amount": "properties.amount", …}'
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    history = history_records(excluded_fields=["secret", "api_token", "updated_at"])

    class Meta:
        ordering = ["slug"]

    def __str__(self) -> str:
        return self.slug

    def clean(self) -> None:
        # The mapping is checked whenever a form or the command saves it (full_clean).
        from approvals.inbound.sources import mapping_errors

        if errors := mapping_errors(self):
            raise ValidationError(errors)


class InboundEvent(models.Model):
    """One accepted event of a source, by its event id: the redelivery guard, the first
    answer to replay, and (for HubSpot workflow actions) the callbackId to complete."""

    source = models.ForeignKey(InboundSource, on_delete=models.CASCADE, related_name="events")
    event_id = models.CharField(max_length=255)
    callback_id = models.CharField(max_length=255, blank=True)
    approval = models.ForeignKey(
        ApprovalRequest,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="inbound_events",
    )
    response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    response_body = models.BinaryField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["source", "event_id"], name="inbound_event_unique")
        ]

    def __str__(self) -> str:
        return f"{self.source_id}:{self.event_id}"


# --- Slack ------------------------------------------------------------------------------------


class SlackMessage(models.Model):
    """One Slack message about a request: posted once (unique `key`), then kept up to date.

    Written and sent by `approvals.slack.delivery`; `next_attempt_at` is set while the row has
    work to do (post, update after a decision, retry after an error) and cleared when it is done.
    """

    class Kind(models.TextChoices):
        CHANNEL = "channel", "Group channel"
        DIRECT = "direct", "Direct message"
        REPLY = "reply", "Thread reply"

    class State(models.TextChoices):
        PENDING = "pending", "Not sent yet"
        SENT = "sent", "Sent"
        SKIPPED = "skipped", "Not sent (request decided first)"
        FAILED = "failed", "Failed"

    key = models.CharField(max_length=200, unique=True)
    approval = models.ForeignKey(
        ApprovalRequest, on_delete=models.CASCADE, related_name="slack_messages"
    )
    kind = models.CharField(max_length=10, choices=Kind.choices)
    stage = models.PositiveIntegerField(default=0)
    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.CASCADE, related_name="replies"
    )
    text = models.CharField(max_length=500, blank=True, help_text="A thread reply's text.")
    target = models.CharField(max_length=32, help_text="Where it was posted: channel or user id.")
    channel = models.CharField(max_length=32, blank=True, help_text="The channel Slack put it in.")
    ts = models.CharField(max_length=32, blank=True)
    state = models.CharField(max_length=10, choices=State.choices, default=State.PENDING)
    shown = models.CharField(max_length=40, blank=True, help_text="What the message shows now.")
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    leased_until = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [
            # slack_deliver_due: rows with work whose attempt is due.
            models.Index(
                fields=["next_attempt_at"],
                condition=Q(next_attempt_at__isnull=False),
                name="slack_due",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} to {self.target}"


# --- Standing approvals ("approve and remember", docs/agents.md) ------------------------------


class StandingApproval(models.Model):
    """A reviewer's "approve and remember": while active, a request of the policy that the rules
    send to a person and whose payload equals `conditions` on every named field is approved at
    once (approvals/routing.py). Created, used and revoked only through
    approvals/services/standing.py, each on the audit trail."""

    DURATIONS: dict[str, timedelta] = {
        "1h": timedelta(hours=1),
        "1d": timedelta(days=1),
        "7d": timedelta(days=7),
    }

    policy = models.ForeignKey(Policy, on_delete=models.PROTECT, related_name="standing_approvals")
    source_request = models.ForeignKey(
        ApprovalRequest, on_delete=models.PROTECT, related_name="standing_approvals"
    )
    conditions = models.JSONField(
        help_text='Equality on payload fields, e.g. {"tool_name": "Bash"}.'
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="standing_approvals"
    )
    created_at = models.DateTimeField(default=timezone.now)
    ends_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            # Intake: the active standing approvals of one policy (services/standing.py).
            models.Index(
                fields=["policy", "ends_at"],
                condition=Q(revoked_at__isnull=True),
                name="standing_active",
            ),
        ]

    def __str__(self) -> str:
        shown = ", ".join(f"{k} = {v!r}" for k, v in sorted(self.conditions.items()))
        return f"Standing approval #{self.pk} ({shown})"

    def is_active(self, at: Any = None) -> bool:
        return self.revoked_at is None and (at or timezone.now()) < self.ends_at
