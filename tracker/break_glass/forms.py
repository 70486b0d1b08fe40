from govuk_frontend_wtf.wtforms_widgets import GovRadioInput, GovTextArea, GovTextInput
from wtforms import RadioField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length

from tracker.forms import BaseForm, no_control_characters
from tracker.models import REVIEW_STATUS_LABELS, GrantReview
from tracker.services.break_glass import REASON_MAX


def _reason(label: str, required: str, hint: str) -> TextAreaField:
    return TextAreaField(
        label,
        widget=GovTextArea(),
        description=hint,
        validators=[
            DataRequired(required),
            Length(max=REASON_MAX, message=f"Reason must be {REASON_MAX} characters or fewer"),
            no_control_characters,
        ],
    )


class RequestForm(BaseForm):
    case = StringField(
        "Case reference or the child's NHS number",
        widget=GovTextInput(),
        description="For example SSCP-2026-00042, or 943 476 5919",
        validators=[
            DataRequired("Enter the case reference or the child's NHS number"),
            Length(max=40, message="Case reference must be 40 characters or fewer"),
            no_control_characters,
        ],
    )
    reason = _reason(
        "Why do you need to see this case now?",
        "Enter why you need to see this case now",
        "The case's agencies are told at once, and an auditor reviews every emergency access",
    )


class ReviewForm(BaseForm):
    decision = RadioField(
        "Was this emergency access appropriate?",
        widget=GovRadioInput(),
        choices=[
            SelectChoice(s.value, REVIEW_STATUS_LABELS[s])
            for s in (GrantReview.APPROPRIATE, GrantReview.REFERRED)
        ],
        invalid_choice_message="Select whether the access was appropriate",
        validators=[InputRequired("Select whether the access was appropriate")],
    )
    reason = _reason(
        "Reason",
        "Enter the reason for your decision",
        "A referral is sent to the leads of the person's agency",
    )
