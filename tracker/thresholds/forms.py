from __future__ import annotations

from govuk_frontend_wtf.wtforms_widgets import GovRadioInput
from wtforms import RadioField
from wtforms.validators import InputRequired

from tracker.forms import BaseForm, required_text


class ThresholdForm(BaseForm):
    level = RadioField(
        "Your agency's view of the level of need",
        widget=GovRadioInput(),
        invalid_choice_message="Select a level of need from the list",
        validators=[InputRequired("Select a level of need")],
    )
    reason = required_text("Reason for your view", "Enter the reason for your agency's view", 2000)
