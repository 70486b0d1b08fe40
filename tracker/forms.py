"""Form pieces shared by every feature: GOV.UK widgets with the validation all forms need."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import date
from typing import Protocol

from flask_wtf import FlaskForm
from govuk_frontend_wtf.wtforms_widgets import GovDateInput, GovTextArea
from werkzeug.datastructures import MultiDict
from wtforms import DateField, HiddenField, TextAreaField
from wtforms.validators import DataRequired, Length, ValidationError

from tracker import inputs


class GovDateField(DateField):
    """A GOV.UK three-box date (day, month, year) that never crashes on a missing or odd value."""

    widget = GovDateInput()

    def __init__(self, label=None, validators=None, **kwargs):
        super().__init__(label, validators, format="%d %m %Y", **kwargs)

    def process_formdata(self, valuelist):
        # GovDateInput posts three boxes under one name, and its template unpacks exactly three:
        # pad or cut what arrived so a missing or tampered field re-renders instead of crashing.
        parts = [(v or "").strip() for v in valuelist[:3]]
        parts += [""] * (3 - len(parts))
        self.raw_data = parts
        if not parts or not any(parts):
            self.data = None
            return
        if not all(p.isascii() and p.isdigit() and len(p) <= 4 for p in parts):
            self.data = None
            raise ValueError("Enter a real date, using numbers for the day, month and year")
        day, month, year = (int(p) for p in parts)
        try:
            self.data = date(year, month, day)
        except ValueError:
            self.data = None
            raise ValueError("Enter a real date") from None
        problem = inputs.date_problem(self.data)
        if problem:
            self.data = None
            raise ValueError(problem)


def no_control_characters(form, field) -> None:
    """Refuse control characters other than newlines and tabs (they corrupt exports and print)."""
    value = field.data or ""
    if any(ord(c) < 32 and c not in "\r\n\t" for c in value) or "\x7f" in value:
        raise ValidationError(f"{field.label.text} must not contain control characters")


class FieldProblem(Protocol):
    """A refusal naming the form field it is about: every service's input error (ShareError,
    ChallengeError, ...) has this shape, so a form shows it against that field."""

    field: str


Check = Callable[[], Iterable[FieldProblem]]


class BaseForm(FlaskForm):
    """CSRF-protected; strips surrounding whitespace from every text field, and takes text that
    shows nothing (only whitespace and zero-width or other invisible characters) as empty, so a
    required one asks for it; whole numbers in select boxes bounded (tracker.inputs); text that
    cannot be stored (a lone surrogate, a NUL) refused, field by field, and shown again without
    the characters refused, so the rest of what was typed is not lost; every problem in one round.

    One round: a submitted form runs its field validators, its own cross-field rules
    (`cross_field_problems`) and any checks the view passes (the service's rules, which need the
    case or the person), and shows all their problems together. A rule about a field that is
    already wrong waits until that field is fixed, so the summary never contradicts itself.
    """

    class Meta:
        def bind_field(self, form, unbound_field, options):
            filters = unbound_field.kwargs.get("filters", [])
            if unbound_field.field_class.__name__ == "TextAreaField":
                # Browsers send a textarea's line breaks as CR LF: count (and keep) each as the
                # one character the person typed, so a length limit means what it says.
                filters = [
                    lambda v: (
                        v.replace("\r\n", "\n").replace("\r", "\n") if isinstance(v, str) else v
                    ),
                    *filters,
                ]
            if unbound_field.field_class.__name__ in {"StringField", "TextAreaField", "EmailField"}:
                filters = [*filters, lambda v: inputs.visible_text(v) if isinstance(v, str) else v]
            if unbound_field.kwargs.get("coerce") is int:
                # An id of 2**63 would reach the database as an overflow: out of range is invalid.
                unbound_field.kwargs["coerce"] = inputs.whole_number
            return unbound_field.bind(form=form, filters=filters, **options)

        def wrap_formdata(self, form, formdata):
            formdata = super().wrap_formdata(form, formdata)
            form.invalid_text_fields = {}
            if formdata is None:
                return None
            pairs = []
            for key, value in formdata.items(multi=True):
                problem = inputs.text_problem(value) if isinstance(value, str) else None
                if problem:
                    form.invalid_text_fields[key] = problem
                    # Shown again without what is refused (the rest of what was typed is kept);
                    # the field gets an error, so the form is never taken and nothing is saved.
                    value = inputs.storable_text(value)
                pairs.append((key, value))
            if not form.invalid_text_fields:
                return formdata
            return MultiDict(pairs)

    def cross_field_problems(self) -> Iterable[FieldProblem]:
        """Rules across this form's fields; a form with such rules overrides this."""
        return ()

    def validate(self, extra_validators=None) -> bool:
        super().validate(extra_validators)
        for name, problem in sorted(getattr(self, "invalid_text_fields", {}).items()):
            field = self._fields.get(name)
            if field is not None:  # the one thing wrong with it (not also "enter ...")
                field.errors = [f"{field.label.text} {problem}"]
        self.add_problems(self.cross_field_problems())
        return not self.errors

    def validate_on_submit(self, *checks: Check) -> bool:
        """Validate a submitted form, then run the view's checks too (every problem in one round)."""
        if not self.is_submitted():
            return False
        self.validate()
        for check in checks:
            self.add_problems(check())
        return not self.errors

    def add_problems(self, problems: Iterable[FieldProblem]) -> None:
        for problem in problems:
            self.refused(problem)

    def refused(self, problem: FieldProblem, fallback: str | None = None) -> None:
        """Show a problem against its field (or the fallback field, or the first, when this form
        has no such field), unless that field already says what is wrong with it."""
        field = (
            self._fields.get(problem.field) or self._fields.get(fallback or "") or next(iter(self))
        )
        message = str(problem)
        if field is self._fields.get(problem.field) and field.errors:
            return
        if message not in field.errors:
            field.errors = [*field.errors, message]


def hidden_number(field: HiddenField) -> int | None:
    """The whole number a page carried back in a hidden field; None if it did not (or not one,
    however strange: "²" is a digit to str.isdigit, not to int)."""
    try:
        return inputs.whole_number(field.data or "")
    except ValueError:
        return None


class AmendForm(BaseForm):
    """An amendment carries the version the page was opened at, so that saving over a newer
    version someone else saved meanwhile is refused, not a silent undoing of their change."""

    version = HiddenField()

    def seen_version(self) -> int | None:
        """The version the page showed; None when it carried none back (a page opened before
        pages carried it, or a client posting the form itself): then the services compare with
        the record as this request read it, under its lock, as for the API."""
        return hidden_number(self.version)


class Problem(ValueError):
    """A cross-field rule a form checks itself (the field it is shown against, and why)."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field


def required_text(label: str, missing: str, max_length: int = 5000, **kwargs) -> TextAreaField:
    """A required free-text answer: the GOV.UK textarea, a length limit, no control characters."""
    return TextAreaField(
        label,
        widget=GovTextArea(),
        validators=[
            DataRequired(missing),
            Length(max=max_length, message=f"{label} must be {max_length} characters or fewer"),
            no_control_characters,
        ],
        **kwargs,
    )
