"""The rule builder: a form field and widget that edit a rule's or a stage's condition as rows of
field, operator and value (docs/architecture.md "Policies without JSON").

The stored value is the JSON condition `routing` evaluates; this only changes how a manager
writes it. Each row is `<name>_f<i>` (a payload path), `<name>_o<i>` (an operator) and
`<name>_v<i>` (the value as text), joined by `<name>_join` (all / any); empty rows are ignored
and one empty row is always offered, so a condition can be added without JavaScript. A
non-empty `<name>` (the "Edit as JSON" box, or a plain JSON POST) wins over the rows: that is
how `not` and nested conditions, which the rows cannot show, stay editable.
static/approvals/rulebuilder.js only narrows each row's operators to the chosen field's type.
"""

from __future__ import annotations

import json
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.template.loader import render_to_string
from django.utils.safestring import SafeString, mark_safe

from approvals import routing, rulebuilder

MAX_ROWS = 12


class ConditionWidget(forms.Widget):
    template_name = "admin/approvals/widgets/condition.html"

    class Media:
        js = ["approvals/rulebuilder.js"]
        css = {"all": ["approvals/rulebuilder.css"]}

    def __init__(self, attrs: dict[str, Any] | None = None, *, stage: bool = False) -> None:
        super().__init__(attrs)
        self.stage = stage
        self.fields: list[rulebuilder.SchemaField] = []

    def render(
        self, name: str, value: Any, attrs: dict[str, Any] | None = None, renderer: Any = None
    ) -> SafeString:
        # The project's template engine (templates/ lives outside any app, where Django's
        # default form renderer does not look).
        return mark_safe(render_to_string(self.template_name, self.get_context(name, value, attrs)))

    def value_from_datadict(self, data: Any, files: Any, name: str) -> Any:
        text = data.get(name)
        if text is not None and str(text).strip():
            return ("json", str(text))
        rows = []
        for i in range(MAX_ROWS):
            path = data.get(f"{name}_f{i}")
            if path is None:
                break
            rows.append(
                (str(path), str(data.get(f"{name}_o{i}", "")), str(data.get(f"{name}_v{i}", "")))
            )
        if not rows and text is None:
            return None
        join = data.get(f"{name}_join", "all")
        return ("rows", join if join in ("all", "any") else "all", rows)

    def value_omitted_from_data(self, data: Any, files: Any, name: str) -> bool:
        return name not in data and f"{name}_f0" not in data

    def get_context(self, name: str, value: Any, attrs: dict[str, Any] | None) -> dict[str, Any]:
        context = super().get_context(name, value, attrs)
        mode, join, rows, text = "rows", "all", [], ""
        if isinstance(value, tuple) and value[0] == "json":
            mode, text = "json", value[1]
        elif isinstance(value, tuple):
            _, join, rows = value
            rows = [r for r in rows if r[0].strip()]
        else:
            condition = value
            if isinstance(value, str):
                try:
                    condition = json.loads(value) if value.strip() else None
                except ValueError:
                    mode, text = "json", value
            if mode == "rows":
                shown = rulebuilder.leaves_of(condition)
                if shown is None:
                    mode, text = "json", json.dumps(condition, indent=2, ensure_ascii=False)
                else:
                    join, leaves = shown
                    rows = [
                        (
                            routing._strip_prefix(str(leaf.get("field", ""))),
                            str(leaf.get("op", "")),
                            ""
                            if leaf.get("op") == "exists"
                            else rulebuilder.value_text(leaf.get("value")),
                        )
                        for leaf in leaves
                    ]
        known = {f.path for f in self.fields}
        shown_rows = [
            {
                "i": i,
                "field": path,
                "op": op,
                "value": raw,
                # A path the schema lacks (typed in JSON, or a schema that changed) stays shown.
                "unknown": bool(self.fields) and bool(path) and path not in known,
            }
            for i, (path, op, raw) in enumerate([*rows, ("", "", "")][:MAX_ROWS])
        ]
        context["builder"] = {
            "mode": mode,
            "text": text,
            "join": join,
            "rows": shown_rows,
            "fields": [
                {"path": f.path, "label": f.label, "ops": " ".join(rulebuilder.OPS_BY_TYPE[f.type])}
                for f in self.fields
            ],
            "ops": rulebuilder.OP_CHOICES,
            "stage": self.stage,
        }
        return context


class ConditionField(forms.Field):
    """Cleans the widget's rows (or JSON) into a condition checked by routing and the schema."""

    widget = ConditionWidget

    def __init__(self, *, stage: bool = False, **kwargs: Any) -> None:
        kwargs.setdefault("required", not stage)
        kwargs.setdefault("widget", ConditionWidget(stage=stage))
        super().__init__(**kwargs)
        self.stage = stage
        self.schema: Any = None

    def set_schema(self, schema: Any) -> None:
        self.schema = schema
        assert isinstance(self.widget, ConditionWidget)
        self.widget.fields = rulebuilder.schema_fields(schema)

    def prepare_value(self, value: Any) -> Any:
        if isinstance(value, tuple | str):
            return value
        return None if value is None else json.dumps(value, ensure_ascii=False)

    def to_python(self, value: Any) -> Any:
        if value is None:
            return None
        if isinstance(value, str):  # an initial value rendered by prepare_value
            value = ("json", value)
        if value[0] == "json":
            try:
                condition = json.loads(value[1])
            except ValueError as exc:
                raise ValidationError(f"Not valid JSON: {exc}.") from None
        else:
            condition = self._from_rows(value[1], value[2])
        if condition in (None, {}):
            return None
        problem = routing.condition_problem(condition)
        if problem:
            raise ValidationError(problem)
        problems = rulebuilder.condition_schema_problems(condition, self.schema)
        if problems:
            raise ValidationError(problems)
        return condition

    def _from_rows(self, join: str, rows: list[tuple[str, str, str]]) -> Any:
        fields = {f.path: f for f in rulebuilder.schema_fields(self.schema)}
        leaves, errors = [], []
        for path, op, raw in rows:
            path = path.strip()
            if not path:
                continue
            if op not in rulebuilder.OP_WORDS:
                errors.append(f"Choose an operator for {path}.")
                continue
            field = fields.get(path)
            if fields and field is None:
                errors.append(
                    f"Unknown field {path!r}: the payload schema has {', '.join(sorted(fields))}."
                )
                continue
            kind = field.type if field else "any"
            if op not in rulebuilder.OPS_BY_TYPE[kind]:
                allowed = ", ".join(rulebuilder.OP_WORDS[o] for o in rulebuilder.OPS_BY_TYPE[kind])
                errors.append(
                    f"'{rulebuilder.OP_WORDS[op]}' does not suit {path} ({kind}); use {allowed}."
                )
                continue
            try:
                value = rulebuilder.parse_value(raw, kind=_guess(kind, raw, op), op=op, path=path)
            except rulebuilder.BuilderError as exc:
                errors.append(str(exc))
                continue
            leaves.append({"field": path, "op": op, "value": value})
        if errors:
            raise ValidationError(errors)
        if not leaves:
            return None
        return leaves[0] if len(leaves) == 1 else {join: leaves}

    def clean(self, value: Any) -> Any:
        condition = self.to_python(value)
        if condition is None and self.required:
            raise ValidationError(
                "Add at least one condition: choose a field, an operator and a value."
            )
        return condition

    def has_changed(self, initial: Any, data: Any) -> bool:
        try:
            return self.to_python(data) != (initial if initial not in ({},) else None)
        except ValidationError:
            return True


def _guess(kind: str, raw: str, op: str) -> str:
    """Without a schema, "50" is the number 50 for an ordering operator; otherwise text."""
    if kind != "any":
        return kind
    first = raw.split(",")[0].strip() if op in ("in", "not_in") else raw.strip()
    try:
        float(first)
    except ValueError:
        return "boolean" if first.lower() in ("true", "false") else "string"
    return "number"
