"""The Django admin: the managers' home (docs/architecture.md).

Policies and groups are edited here; requests, decisions and the audit trail are read here and
never changed (every state change goes through `approvals.services`). Every changelist sets its
joins and annotated counts so its query count stays flat however many rows a page shows.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import models
from django.db.models import Count, Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.utils.html import format_html
from simple_history.admin import SimpleHistoryAdmin

from approvals import routing
from approvals.admin.delivery import OutboxEventInline
from approvals.admin.readonly import ReadOnlyAdminMixin, ReadOnlyInline
from approvals.admin.request_actions import action_context, request_action_view
from approvals.admin.tokens import create_token_view
from approvals.models import (
    ApiToken,
    ApprovalRequest,
    AuditEntry,
    Decision,
    DecisionOption,
    Membership,
    Policy,
    PolicyRule,
    PolicyStage,
    ReviewerGroup,
    ReviewerProfile,
)
from approvals.payload_schema import PayloadSchemaError, check_schema
from approvals.services.policies import policy_save_edits
from approvals.services.reviewers import reviewer_clear_fatigue
from approvals.services.tokens import api_token_revoke
from approvals.slack.admin import SlackMessageInline


def pretty_json(value: Any) -> str:
    return format_html(
        '<pre class="checkpoint-json">{}</pre>', json.dumps(value, indent=2, ensure_ascii=False)
    )


def count_column(annotation: str, description: str) -> Callable[[Any, Any], int]:
    """A sortable changelist column showing a count its admin's `get_queryset` annotated."""

    @admin.display(description=description, ordering=annotation)
    def column(model_admin: Any, obj: Any) -> int:
        return int(getattr(obj, annotation))

    return column


# --- Policies -----------------------------------------------------------------------------------


def _check_condition(value: Any) -> Any:
    problem = routing.condition_problem(value)
    if problem:
        raise ValidationError(problem)
    return value


class PolicyRuleForm(forms.ModelForm):
    class Meta:
        model = PolicyRule
        fields = ["position", "name", "condition", "action"]

    def clean_condition(self) -> Any:
        return _check_condition(self.cleaned_data["condition"])


class PolicyStageForm(forms.ModelForm):
    class Meta:
        model = PolicyStage
        fields = ["position", "name", "group", "quorum", "quorum_count", "condition"]

    def clean_condition(self) -> Any:
        condition = self.cleaned_data["condition"]
        return None if condition in (None, {}) else _check_condition(condition)


class PolicyForm(forms.ModelForm):
    """A manager's typo in the payload schema is refused here, not discovered at intake.

    No field list of its own: `PolicyAdmin.fieldsets` is the one list of what a manager edits.
    """

    def clean_payload_schema(self) -> Any:
        schema = self.cleaned_data["payload_schema"]
        try:
            check_schema(schema)
        except PayloadSchemaError as exc:
            raise ValidationError(str(exc)) from None
        return schema


class PolicyRuleInline(admin.TabularInline):
    model = PolicyRule
    form = PolicyRuleForm
    extra = 0
    ordering = ("position", "id")


class PolicyStageInline(admin.TabularInline):
    model = PolicyStage
    form = PolicyStageForm
    extra = 0
    ordering = ("position", "id")

    def get_queryset(self, request: HttpRequest) -> QuerySet[PolicyStage]:
        return super().get_queryset(request).select_related("group")


class DecisionOptionInline(admin.TabularInline):
    model = DecisionOption
    extra = 0
    ordering = ("position", "id")
    fields = [
        "position",
        "key",
        "label",
        "outcome",
        "needs_comment",
        "needs_value",
        "may_edit_payload",
        "remember",
        "remember_fields",
    ]


@admin.register(Policy)
class PolicyAdmin(SimpleHistoryAdmin):
    form = PolicyForm
    list_display = [
        "name",
        "slug",
        "version",
        "is_active",
        "sla_minutes",
        "rule_count",
        "stage_count",
        "open_count",
        "updated_at",
    ]
    list_filter = ["is_active", "expiry_action"]
    search_fields = ["name", "slug", "summary"]
    readonly_fields = ["version", "created_at", "updated_at"]
    prepopulated_fields = {"slug": ["name"]}
    inlines = [PolicyRuleInline, PolicyStageInline, DecisionOptionInline]
    # Callback URLs are https in production; a scheme-less entry should not become http.
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}
    fieldsets = [
        (None, {"fields": ["name", "slug", "version", "is_active", "summary"]}),
        (
            "Payload",
            {"fields": ["payload_schema", "visible_fields", "editable_fields", "requester_field"]},
        ),
        (
            "SLA",
            {"fields": ["sla_minutes", "reminder_points", "expire_after_minutes", "expiry_action"]},
        ),
        ("Callbacks", {"fields": ["callback_url"]}),
        ("Record", {"fields": ["created_at", "updated_at"], "classes": ["collapse"]}),
    ]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Policy]:
        # Subquery-free counts; distinct because the three joins multiply each other's rows.
        return (
            super()
            .get_queryset(request)
            .annotate(
                rule_total=Count("rules", distinct=True),
                stage_total=Count("stages", distinct=True),
                open_total=Count(
                    "requests",
                    filter=Q(requests__status=ApprovalRequest.Status.PENDING),
                    distinct=True,
                ),
            )
        )

    rule_count = count_column("rule_total", "rules")
    stage_count = count_column("stage_total", "stages")
    open_count = count_column("open_total", "open")

    def save_model(self, request: HttpRequest, obj: Policy, form: Any, change: bool) -> None:
        obj._history_user = request.user  # type: ignore[attr-defined]
        if not change:
            # A new policy needs its primary key before the inlines can point at it.
            policy_save_edits(policy=obj, changed=True)
        # An edit is saved in save_related, after the inlines, as one new version.

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        super().save_related(request, form, formsets, change)
        if change:
            changed = form.has_changed() or any(formset.has_changed() for formset in formsets)
            policy_save_edits(policy=form.instance, changed=changed)


# --- Groups and reviewers -----------------------------------------------------------------------


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    fields = ["user", "away", "wip_cap", "last_assigned_at"]
    readonly_fields = ["last_assigned_at"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Membership]:
        return super().get_queryset(request).select_related("user", "group")


@admin.register(ReviewerGroup)
class ReviewerGroupAdmin(SimpleHistoryAdmin):
    list_display = [
        "name",
        "slug",
        "strategy",
        "default_wip_cap",
        "member_count",
        "away_count",
        "overflow_group",
        "escalation_group",
    ]
    list_filter = ["strategy"]
    list_select_related = ["overflow_group", "escalation_group"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}
    inlines = [MembershipInline]
    fieldsets = [
        (None, {"fields": ["name", "slug", "strategy", "default_wip_cap"]}),
        ("Overflow and escalation", {"fields": ["overflow_group", "escalation_group"]}),
        ("Slack", {"fields": ["slack_channel"]}),
        ("Business hours", {"fields": ["work_start", "work_end", "work_days", "time_zone"]}),
    ]

    def get_queryset(self, request: HttpRequest) -> QuerySet[ReviewerGroup]:
        return (
            super()
            .get_queryset(request)
            .annotate(
                member_total=Count("memberships", distinct=True),
                away_total=Count("memberships", filter=Q(memberships__away=True), distinct=True),
            )
        )

    member_count = count_column("member_total", "members")
    away_count = count_column("away_total", "away")


@admin.register(ReviewerProfile)
class ReviewerProfileAdmin(SimpleHistoryAdmin):
    list_display = [
        "user",
        "away_from",
        "away_until",
        "delegate",
        "daily_digest",
        "fatigue_flagged_at",
        "fatigue_reason",
    ]
    list_filter = ["daily_digest", ("fatigue_flagged_at", admin.EmptyFieldListFilter)]
    list_select_related = ["user", "delegate"]
    search_fields = ["user__username", "user__email"]
    raw_id_fields = ["user", "delegate"]
    # The flag is set by the fatigue check and cleared only by this action, so the
    # clearing is audited and the old decisions stop counting.
    readonly_fields = [
        "fatigue_flagged_at",
        "fatigue_reason",
        "fatigue_cleared_at",
        "slack_user_id",
        "slack_lookup_email",
        "slack_looked_up_at",
    ]
    actions = ["clear_fatigue_flag"]

    @admin.action(description="Clear the fatigue flag", permissions=["change"])
    def clear_fatigue_flag(self, request: HttpRequest, queryset: QuerySet[ReviewerProfile]) -> None:

        cleared = 0
        for profile in queryset.filter(fatigue_flagged_at__isnull=False).select_related("user"):
            cleared += reviewer_clear_fatigue(user=profile.user, actor=request.user.get_username())
        self.message_user(request, f"Cleared {cleared} fatigue flag(s).", messages.SUCCESS)


# --- Requests and decisions (read-only) ---------------------------------------------------------


class OverdueFilter(admin.SimpleListFilter):
    title = "overdue"
    parameter_name = "overdue"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("yes", "Overdue"), ("no", "On time")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        overdue = Q(status=ApprovalRequest.Status.PENDING, due_at__lte=timezone.now())
        if self.value() == "yes":
            return queryset.filter(overdue)
        if self.value() == "no":
            return queryset.exclude(overdue)
        return queryset


DECISION_INLINE_FIELDS: tuple[str, ...] = (
    "stage",
    "outcome",
    "option_label",
    "value",
    "comment",
    "decided_by_name",
    "channel",
    "decided_at",
    "is_final",
)


class DecisionInline(ReadOnlyInline):
    model = Decision
    fields = DECISION_INLINE_FIELDS
    readonly_fields = DECISION_INLINE_FIELDS
    ordering = ("decided_at", "id")


@admin.register(ApprovalRequest)
class ApprovalRequestAdmin(ReadOnlyAdminMixin, SimpleHistoryAdmin):
    list_display = [
        "title",
        "policy",
        "status",
        "route",
        "stage",
        "assigned_group",
        "assignee",
        "due_at",
        "overdue",
        "escalated",
        "decision_count",
        "created_at",
    ]
    list_filter = [
        "status",
        "route",
        "policy",
        "assigned_group",
        "escalated",
        OverdueFilter,
    ]
    list_select_related = ["policy", "assigned_group", "assignee"]
    search_fields = ["title", "external_id", "id"]
    date_hierarchy = "created_at"
    show_full_result_count = False  # a second COUNT(*) over the whole table on every page
    inlines = [DecisionInline, OutboxEventInline, SlackMessageInline]
    fieldsets = [
        (
            None,
            {
                "fields": [
                    "id",
                    "title",
                    "summary",
                    "policy",
                    "policy_version",
                    "external_id",
                    "caller",
                    "requested_by",
                    "requester",
                    "requester_email",
                    "previous",
                ]
            },
        ),
        (
            "State",
            {
                "fields": [
                    "status",
                    "route",
                    "route_reason",
                    "matched_rule",
                    "stage",
                    "assigned_group",
                    "assignee",
                    "assigned_at",
                    "due_at",
                    "expires_at",
                    "escalated",
                    "escalated_at",
                    "decided_at",
                ]
            },
        ),
        (
            "Payload",
            {"fields": ["payload_pretty", "submitted_payload_pretty", "stage_plan_pretty"]},
        ),
        ("Callback", {"fields": ["callback_url", "created_at", "updated_at"]}),
    ]
    readonly_fields = ["payload_pretty", "submitted_payload_pretty", "stage_plan_pretty"]
    change_form_template = "admin/approvals/approvalrequest/change_form.html"

    def get_urls(self) -> list[URLPattern]:
        act = path(
            "<path:object_id>/act/",
            self.admin_site.admin_view(request_action_view),
            name="approvals_approvalrequest_act",
        )
        return [act, *super().get_urls()]

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        extra = action_context(object_id, request.user)
        return super().change_view(request, object_id, form_url, {**(extra_context or {}), **extra})

    def get_queryset(self, request: HttpRequest) -> QuerySet[ApprovalRequest]:
        return super().get_queryset(request).annotate(decision_total=Count("decisions"))

    decision_count = count_column("decision_total", "decisions")

    @admin.display(boolean=True, description="overdue")
    def overdue(self, obj: ApprovalRequest) -> bool:
        return obj.is_overdue

    @admin.display(description="payload")
    def payload_pretty(self, obj: ApprovalRequest) -> str:
        return pretty_json(obj.payload)

    @admin.display(description="payload as submitted")
    def submitted_payload_pretty(self, obj: ApprovalRequest) -> str:
        return pretty_json(obj.submitted_payload)

    @admin.display(description="stage plan")
    def stage_plan_pretty(self, obj: ApprovalRequest) -> str:
        return pretty_json(obj.stage_plan)


@admin.register(Decision)
class DecisionAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = [
        "decided_at",
        "approval_link",
        "policy_name",
        "stage",
        "outcome",
        "option_label",
        "decided_by_name",
        "channel",
        "is_final",
    ]
    list_filter = ["channel", "outcome", "approval__policy", "is_final"]
    list_select_related = ["approval", "approval__policy"]
    search_fields = ["approval__title", "approval__external_id", "decided_by_name", "comment"]
    date_hierarchy = "decided_at"
    show_full_result_count = False

    @admin.display(description="request", ordering="approval__title")
    def approval_link(self, obj: Decision) -> str:
        url = reverse("admin:approvals_approvalrequest_change", args=[obj.approval_id])
        return format_html('<a href="{}">{}</a>', url, obj.approval.title)

    @admin.display(description="policy", ordering="approval__policy__name")
    def policy_name(self, obj: Decision) -> str:
        return obj.approval.policy.name


# --- API tokens -------------------------------------------------------------------------------


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    # token_hash is never listed or shown: it is the credential's only stored form.
    list_display = [
        "name",
        "caller",
        "prefix",
        "scope_list",
        "expires_at",
        "last_used_at",
        "revoked_at",
        "active",
    ]
    list_filter = [("revoked_at", admin.EmptyFieldListFilter), "caller"]
    search_fields = ["name", "prefix", "caller"]
    fields = (
        "name",
        "caller",
        "prefix",
        "scopes",
        "policy_ids",
        "user",
        "expires_at",
        "created_at",
        "last_used_at",
        "revoked_at",
    )
    readonly_fields = fields
    actions = ["revoke"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("approvals.add_apitoken")

    def add_view(
        self, request: HttpRequest, form_url: str = "", extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        """A name in, the raw token out, shown on this one response only (approvals/admin/tokens.py)."""
        if not self.has_add_permission(request):
            raise PermissionDenied
        return create_token_view(request, self)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_revoke_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("approvals.change_apitoken")

    @admin.display(boolean=True, description="active")
    def active(self, obj: ApiToken) -> bool:
        return obj.is_active

    @admin.display(description="scopes")
    def scope_list(self, obj: ApiToken) -> str:
        return ", ".join(obj.scopes)

    @admin.action(description="Revoke selected tokens", permissions=["revoke"])
    def revoke(self, request: HttpRequest, queryset: QuerySet[ApiToken]) -> None:
        revoked = 0
        for token in queryset.filter(revoked_at__isnull=True):
            api_token_revoke(token=token)
            revoked += 1
        self.message_user(request, f"Revoked {revoked} token(s).", messages.SUCCESS)


# --- Audit trail (read-only) -----------------------------------------------------------------


@admin.register(AuditEntry)
class AuditEntryAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["seq", "at", "action", "actor", "approval_link", "short_hash"]
    list_filter = ["action"]
    list_select_related = ["approval"]
    search_fields = ["actor", "action", "entry_hash"]
    date_hierarchy = "at"
    show_full_result_count = False
    fields = [
        "seq",
        "at",
        "action",
        "actor",
        "approval",
        "decision",
        "data_pretty",
        "prev_hash",
        "entry_hash",
    ]
    readonly_fields = ["data_pretty"]

    @admin.display(description="request", ordering="approval__title")
    def approval_link(self, obj: AuditEntry) -> str:
        if obj.approval_id is None:
            return "-"
        url = reverse("admin:approvals_approvalrequest_change", args=[obj.approval_id])
        return format_html('<a href="{}">{}</a>', url, obj.approval.title)  # type: ignore[union-attr]

    @admin.display(description="hash")
    def short_hash(self, obj: AuditEntry) -> str:
        return obj.entry_hash[:12]

    @admin.display(description="data")
    def data_pretty(self, obj: AuditEntry) -> str:
        return pretty_json(obj.data)
