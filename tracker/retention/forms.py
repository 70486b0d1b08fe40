from govuk_frontend_wtf.wtforms_widgets import GovRadioInput
from wtforms import RadioField
from wtforms.validators import InputRequired, Optional

from tracker.cases.forms import choices
from tracker.forms import BaseForm, GovDateField, required_text
from tracker.services import retention

NO_PERSONAL_CONTENT = (
    "Say why, without naming the child or anyone else: this stays after the records are gone"
)


class DecisionForm(BaseForm):
    decision = RadioField(
        "Decision",
        widget=GovRadioInput(),
        choices=choices(
            [
                (retention.DISPOSE, "Dispose of the personal content now"),
                (retention.DEFER, "Defer: keep the records and review them again later"),
            ]
        ),
        invalid_choice_message="Select dispose of or defer",
        validators=[InputRequired("Select dispose of or defer")],
    )
    deferred_until = GovDateField(
        "Review again on (if deferring)",
        description="For example, 1 12 2031",
        validators=[Optional()],
    )
    reason = required_text(
        "Reason", "Enter the reason for your decision", 1000, description=NO_PERSONAL_CONTENT
    )


class HoldForm(BaseForm):
    reason = required_text(
        "Why the records must be kept",
        "Enter why the records must be kept",
        1000,
        description="For example, the inquiry, claim or review that needs them",
    )


class LiftHoldForm(BaseForm):
    reason = required_text("Why the hold is lifted", "Enter why the hold is lifted", 1000)


class LookedAfterForm(BaseForm):
    looked_after = RadioField(
        "Is the child looked after?",
        widget=GovRadioInput(),
        choices=choices([("yes", "Yes"), ("no", "No")]),
        invalid_choice_message="Select yes or no",
        validators=[InputRequired("Select yes or no")],
        description="The partnership's retention schedule keeps a looked-after child's records longer",
    )
    reason = required_text("Reason", "Enter why this is changing", 1000)
