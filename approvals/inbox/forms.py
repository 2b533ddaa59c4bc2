"""Forms of the reviewers' inbox: the view/filter/search bar and the decision form."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from django import forms

from approvals.inbox.selectors import VIEWS, BadCursor, Cursor, Sort
from approvals.models import ApprovalRequest, DecisionOption, Policy, ReviewerGroup

EDIT_PREFIX = "edit:"


class InboxFilterForm(forms.Form):
    """GET parameters of /inbox/: which view, which policy and group, what to search."""

    view = forms.ChoiceField(choices=list(VIEWS.items()), required=False)
    q = forms.CharField(label="Search", max_length=200, required=False, strip=True)
    policy = forms.ChoiceField(label="Policy", required=False)
    group = forms.ChoiceField(label="Group", required=False)
    sort = forms.ChoiceField(label="Sort", required=False)
    fields: dict[str, Any]  # django-stubs types them as plain Field; these are ChoiceFields
    after = forms.CharField(max_length=120, required=False)

    def __init__(
        self,
        data: Any,
        *,
        policies: list[Policy],
        groups: list[ReviewerGroup],
    ) -> None:
        super().__init__(data)
        self._policies = {policy.slug: policy for policy in policies}
        self._groups = {group.slug: group for group in groups}
        self.fields["policy"].choices = [("", "All policies")] + [
            (policy.slug, policy.name) for policy in policies
        ]
        self.fields["group"].choices = [("", "All groups")] + [
            (group.slug, group.name) for group in groups
        ]
        self.fields["sort"].choices = [("", "Due soonest"), ("age", "Oldest first")] + [
            (f"field:{name}", f"Largest {name.replace('_', ' ')}")
            for name in numeric_visible_fields(policies)
        ]

    def menus(self) -> list[dict[str, Any]]:
        """The policy, group and sort menus of the filter bar as plain values: each option as
        (value, label, selected), selected when it is the submitted value."""
        menus = []
        for name in ("policy", "group", "sort"):
            field = self[name]
            chosen = field.value()
            menus.append(
                {
                    "name": name,
                    "label": field.label,
                    "options": [
                        (value, label, value == chosen)
                        for value, label in self.fields[name].choices
                    ],
                }
            )
        return menus

    @property
    def is_filtered(self) -> bool:
        """A search, a policy or a group narrows the list (the sort does not)."""
        data = self.cleaned_data if self.is_valid() else {}
        return any(data.get(name) for name in ("q", "policy", "group"))

    def clean_view(self) -> str:
        return self.cleaned_data["view"] or "todo"

    def clean_after(self) -> Cursor | None:
        raw = self.cleaned_data["after"]
        if not raw:
            return None
        try:
            return Cursor.decode(raw)
        except BadCursor as exc:
            raise forms.ValidationError(str(exc)) from None

    def selection(self) -> dict[str, Any]:
        """Keyword arguments for `inbox_for_reviewer`."""
        data = self.cleaned_data
        return {
            "view": data["view"],
            "q": data["q"],
            "policy": self._policies.get(data["policy"]),
            "group": self._groups.get(data["group"]),
            "sort": Sort(data["sort"] or "due"),
            "after": data["after"],
        }

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        after, sort = cleaned.get("after"), cleaned.get("sort") or "due"
        # A page link carries a value of its own sort: a time for due and age, a number (or
        # nothing) for a field.
        if after is not None and after.at is not None:
            numeric = not isinstance(after.at, datetime)
            if numeric != sort.startswith("field:"):
                self.add_error("after", "This page link is not valid; start from the first page.")
        return cleaned


def numeric_visible_fields(policies: list[Policy]) -> list[str]:
    """Top-level payload fields that the policies' schemas type as numbers and that reviewers
    see: what the list can be sorted by."""
    names: dict[str, None] = {}
    for policy in policies:
        schema = policy.payload_schema if isinstance(policy.payload_schema, dict) else {}
        properties = schema.get("properties")
        if not isinstance(properties, dict):
            continue
        visible = policy.visible_fields or list(properties)
        for name, spec in properties.items():
            kind = spec.get("type") if isinstance(spec, dict) else None
            if name in visible and kind in ("number", "integer"):
                names[name] = None
    return sorted(names)


def _coerce(original: Any, raw: str) -> Any:
    """A reviewer's text for a payload field, as the field's own JSON type."""
    if original is None or isinstance(original, str):
        return raw
    if isinstance(original, bool):
        if raw.strip().lower() in ("true", "false"):
            return raw.strip().lower() == "true"
        raise forms.ValidationError("Enter true or false.")
    try:
        value = json.loads(raw)
    except ValueError:
        raise forms.ValidationError("Enter a valid value (a number, or JSON).") from None
    if isinstance(original, int | float) and not isinstance(value, int | float):
        raise forms.ValidationError("Enter a number.")
    return value


def edit_text(value: Any) -> str:
    """How a payload value is shown in an edit box (the inverse of `_coerce`)."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False)


class DecideForm(forms.Form):
    """One decision: the option (the clicked button), a comment, a value, payload edits.

    Only the shape is checked here; what an option needs (a comment, a value, who may use
    it) is the service's to decide, so the rules live in one place.
    """

    option = forms.ChoiceField()
    comment = forms.CharField(label="Comment", max_length=10_000, required=False)
    value = forms.CharField(label="Value", max_length=2_000, required=False)
    view = forms.ChoiceField(choices=list(VIEWS.items()), required=False)
    fields: dict[str, Any]

    def __init__(
        self, data: Any, *, approval: ApprovalRequest, options: list[DecisionOption]
    ) -> None:
        super().__init__(data)
        self.approval = approval
        self.options = {option.key: option for option in options}
        self.fields["option"].choices = [(option.key, option.label) for option in options]
        self.fields["option"].error_messages["required"] = "Choose one of the decision buttons."
        for name in approval.policy.editable_fields:
            self.fields[EDIT_PREFIX + name] = forms.CharField(
                label=name, required=False, max_length=100_000, strip=False
            )

    @property
    def chosen(self) -> DecisionOption:
        return self.options[self.cleaned_data["option"]]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        edits: dict[str, Any] = {}
        option = self.options.get(cleaned.get("option") or "")
        # Edits travel only with an option that may edit; a reviewer who edits and then
        # rejects has not approved anything, so there is nothing to record.
        if option is not None and option.may_edit_payload:
            for name in self.approval.policy.editable_fields:
                raw = self.data.get(EDIT_PREFIX + name)
                if raw is None:
                    continue
                original = self.approval.payload.get(name)
                try:
                    value = _coerce(original, raw)
                except forms.ValidationError as exc:
                    self.add_error(EDIT_PREFIX + name, exc)
                    continue
                if value != original:
                    edits[name] = value
        cleaned["payload_edits"] = edits
        return cleaned
