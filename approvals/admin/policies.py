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

from approvals.admin.delivery import OutboxEventInline
from approvals.admin.readonly import ReadOnlyAdminMixin, ReadOnlyInline
from approvals.admin.request_actions import action_context, request_action_view
from approvals.admin.rule_widgets import ConditionField
from approvals.admin.tokens import create_token_view
from approvals.callbacks.netguard import UnsafeCallbackURL, check_callback_url
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
from approvals.rulebuilder import describe_rule, describe_stage
from approvals.security.reauth import reauthenticate_if_stale
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


class PolicyRuleForm(forms.ModelForm):
    """A rule: its condition edited as rows of field, operator and value (the rule builder)."""

    payload_schema: Any = None  # the policy's, set per request by PolicyRuleInline.get_formset
    condition = ConditionField()

    class Meta:
        model = PolicyRule
        fields = ["position", "name", "condition", "action"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        condition = self.fields["condition"]
        assert isinstance(condition, ConditionField)
        condition.set_schema(self.payload_schema)


class PolicyStageForm(forms.ModelForm):
    payload_schema: Any = None
    condition = ConditionField(stage=True)

    class Meta:
        model = PolicyStage
        fields = ["position", "name", "group", "quorum", "quorum_count", "condition"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        condition = self.fields["condition"]
        assert isinstance(condition, ConditionField)
        condition.set_schema(self.payload_schema)


class PolicyForm(forms.ModelForm):
    """A manager's typo in the payload schema, or a callback URL the network guard refuses, is
    refused here, not discovered at intake or at send time.

    No field list of its own: `PolicyAdmin.fieldsets` is the one list of what a manager edits.
    """

    def clean_callback_url(self) -> str:
        """The network guard of the API's intake, so the admin never saves a URL the sender
        will refuse (docs/security.md "Secrets at rest and inputs")."""
        url = str(self.cleaned_data.get("callback_url") or "")
        if url:
            try:
                check_callback_url(url)
            except UnsafeCallbackURL as exc:
                raise ValidationError(exc.message) from None
        return url

    def clean_payload_schema(self) -> Any:
        schema = self.cleaned_data["payload_schema"]
        try:
            check_schema(schema)
        except PayloadSchemaError as exc:
            raise ValidationError(str(exc)) from None
        return schema


# Narrow inputs in the policy page's inline tables, so the page fits 1440 px (docs/operations.md).
COMPACT_TEXT: dict[type[models.Field[Any, Any]], dict[str, Any]] = {
    models.CharField: {"widget": forms.TextInput(attrs={"size": 14})}
}


class SchemaAwareInline:
    """Hands the policy's payload schema to each form, so the builder offers its fields."""

    form: Any

    def get_formset(self, request: HttpRequest, obj: Any = None, **kwargs: Any) -> Any:
        base = kwargs.get("form", self.form)
        schema = obj.payload_schema if obj is not None else None
        kwargs["form"] = type(base.__name__, (base,), {"payload_schema": schema})
        return super().get_formset(request, obj, **kwargs)  # type: ignore[misc]


class PolicyRuleInline(SchemaAwareInline, admin.TabularInline):
    formfield_overrides = COMPACT_TEXT
    model = PolicyRule
    form = PolicyRuleForm
    extra = 0
    ordering = ("position", "id")
    fields = ["position", "name", "condition", "action", "sentence"]
    readonly_fields = ["sentence"]

    @admin.display(description="what it does")
    def sentence(self, obj: PolicyRule) -> str:
        if obj.pk is None:
            return ""
        return format_html(
            '<span class="cp-sentence">{}</span>', describe_rule(obj.action, obj.condition)
        )


class PolicyStageInline(SchemaAwareInline, admin.StackedInline):
    formfield_overrides = COMPACT_TEXT
    # Stacked: a stage has a group, a quorum and a condition, too many columns for a table.
    model = PolicyStage
    form = PolicyStageForm
    extra = 0
    ordering = ("position", "id")
    fields = ["position", "name", "group", "quorum", "quorum_count", "condition", "sentence"]
    readonly_fields = ["sentence"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[PolicyStage]:
        return super().get_queryset(request).select_related("group")

    @admin.display(description="when it runs")
    def sentence(self, obj: PolicyStage) -> str:
        if obj.pk is None:
            return ""
        return format_html('<span class="cp-sentence">{}</span>', describe_stage(obj.condition))


class DecisionOptionInline(admin.TabularInline):
    model = DecisionOption
    extra = 0
    formfield_overrides = {
        **COMPACT_TEXT,
        models.SlugField: {"widget": forms.TextInput(attrs={"size": 14})},
        models.JSONField: {"widget": forms.Textarea(attrs={"rows": 1, "cols": 18})},
    }
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
        "summary_state",
        "updated_at",
    ]
    list_filter = ["is_active", "expiry_action"]
    search_fields = ["name", "slug", "summary"]
    readonly_fields = ["version", "summary_status", "created_at", "updated_at"]
    prepopulated_fields = {"slug": ["name"]}
    inlines = [PolicyRuleInline, PolicyStageInline, DecisionOptionInline]
    # Callback URLs are https in production; a scheme-less entry should not become http. A plain
    # input: the admin's URL widget would show a refused URL as "Currently:" and as a link.
    formfield_overrides = {
        models.URLField: {
            "assume_scheme": "https",
            "widget": forms.URLInput(attrs={"class": "vURLField"}),
        }
    }
    fieldsets = [
        (None, {"fields": ["name", "slug", "version", "is_active", "summary", "summary_status"]}),
        (
            "Payload",
            {"fields": ["payload_schema", "visible_fields", "editable_fields", "requester_field"]},
        ),
        (
            "SLA",
            {"fields": ["sla_minutes", "reminder_points", "expire_after_minutes", "expiry_action"]},
        ),
        ("Callbacks", {"fields": ["callback_url"]}),
        ("Email links", {"fields": ["email_decisions_need_sign_in"]}),
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

    @admin.display(description="summary status")
    def summary_status(self, obj: Policy) -> str:
        if obj.pk is None:
            return ""
        if obj.summary_is_stale:
            return format_html(
                '<strong class="cp-stale">Possibly out of date:</strong> the rules or stages '
                "changed on {} UTC, after the summary was last written. Reviewers read it "
                "beside every decision; check it and save.",
                f"{obj.rules_updated_at:%Y-%m-%d %H:%M}",
            )
        return "Up to date with the rules."

    @admin.display(description="summary")
    def summary_state(self, obj: Policy) -> str:
        if obj.summary_is_stale:
            return format_html('<span class="cp-stale">{}</span>', "Possibly out of date")
        return "Up to date"

    rule_count = count_column("rule_total", "rules")
    stage_count = count_column("stage_total", "stages")
    open_count = count_column("open_total", "open")

    def changeform_view(
        self,
        request: HttpRequest,
        object_id: str | None = None,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        # Saving (add or change) asks a stale sign-in to re-authenticate first; the POST is
        # kept and replayed afterwards (approvals/security/reauth.py).
        view = reauthenticate_if_stale(super().changeform_view)
        return view(request, object_id, form_url, extra_context)  # type: ignore[no-any-return]

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
            rules_changed = any(
                formset.has_changed()
                for formset in formsets
                if formset.model in (PolicyRule, PolicyStage)
            )
            summary_changed = "summary" in form.changed_data
            policy = policy_save_edits(
                policy=form.instance,
                changed=changed,
                rules_changed=rules_changed,
                summary_changed=summary_changed,
            )
            if rules_changed and not summary_changed and policy.summary_is_stale:
                messages.warning(
                    request,
                    "The rules changed but the summary did not: check that it still says "
                    "what the policy does.",
                )


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
