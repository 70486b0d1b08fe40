from __future__ import annotations

from govuk_frontend_wtf.wtforms_widgets import GovRadioInput, GovTextArea, GovTextInput
from wtforms import HiddenField, RadioField, StringField, TextAreaField
from wtforms.validators import InputRequired, Length, Optional

from tracker.cases.forms import choices
from tracker.forms import BaseForm, GovDateField, no_control_characters, required_text
from tracker.models import EXEMPTION_LABELS, ITEM_DECISION_LABELS, ItemDecision
from tracker.services.subject_access import NAME_MAX, REASON_MAX


def _name_field(label: str, missing: str | None, description: str = "") -> StringField:
    required = [InputRequired(missing)] if missing else [Optional()]
    return StringField(
        label,
        widget=GovTextInput(),
        description=description,
        validators=[
            *required,
            Length(max=NAME_MAX, message=f"{label} must be {NAME_MAX} characters or fewer"),
            no_control_characters,
        ],
    )


class RequestForm(BaseForm):
    requester_name = _name_field("Who made the request", "Enter who made the request")
    requester_relationship = _name_field(
        "Who they are",
        "Enter who they are (the child, a parent, someone acting for them)",
        "For example: the child, a parent with parental responsibility, a solicitor for the child",
    )
    case_reference = _name_field(
        "Case reference", None, "The child's case, if the request is about a child with a case"
    )
    person_named = _name_field(
        "Or the name of the person it is about",
        None,
        "Records naming this person are gathered from every case (leave blank if you gave a case)",
    )
    received_on = GovDateField(
        "Date received",
        description="For example, 27 3 2026. The request is due one calendar month later.",
        validators=[InputRequired("Enter the date the request was received")],
    )


class ExtendForm(BaseForm):
    months = RadioField(
        "How many further months?",
        widget=GovRadioInput(),
        choices=choices([("1", "One further month"), ("2", "Two further months")]),
        invalid_choice_message="Choose one or two further months",
        validators=[InputRequired("Choose one or two further months")],
    )
    reason = required_text(
        "Why the request is complex or numerous",
        "Enter why the request is complex or numerous",
        REASON_MAX,
        description="The requester must be told of the extension and why within the first month",
    )


class ReviewForm(BaseForm):
    decision = RadioField(
        "Decision",
        widget=GovRadioInput(),
        choices=choices(
            (d.value, ITEM_DECISION_LABELS[d])
            for d in (ItemDecision.RELEASED, ItemDecision.REDACTED, ItemDecision.WITHHELD)
        ),
        invalid_choice_message="Choose release, redact or withhold",
        validators=[InputRequired("Choose release, redact or withhold")],
    )
    exemption = RadioField(
        "Exemption (to redact or withhold)",
        widget=GovRadioInput(),
        choices=choices(EXEMPTION_LABELS.items()),
        invalid_choice_message="Choose the exemption that applies",
        validators=[Optional()],
    )
    passages = TextAreaField(
        "Passages to redact",
        widget=GovTextArea(),
        description="Copy each passage exactly from the item above, one a line",
        validators=[
            Length(max=10000, message="Passages must be 10000 characters or fewer"),
            no_control_characters,
        ],
    )


class ConfirmForm(BaseForm):
    """The request page's buttons (gather the records, produce the pack): nothing to fill in.
    The fields are never shown; they name where a refusal points (the button's id)."""

    assemble = HiddenField()
    complete = HiddenField()
