from __future__ import annotations

from govuk_frontend_wtf.wtforms_widgets import GovTextArea, GovTextInput
from wtforms import StringField, TextAreaField
from wtforms.validators import DataRequired, Length

from tracker.forms import BaseForm, no_control_characters, required_text
from tracker.services.protected_sources import NAME_MAX, REASON_MAX


class ProtectedSourceForm(BaseForm):
    name = StringField(
        "Name of the person to protect",
        widget=GovTextInput(),
        validators=[
            DataRequired("Enter the name of the person to protect"),
            Length(max=NAME_MAX, message=f"Name must be {NAME_MAX} characters or fewer"),
            no_control_characters,
        ],
        description="Exactly as the record gives it. It is hidden wherever it appears in this case.",
    )
    passages = TextAreaField(
        "Passages that would identify them (optional)",
        widget=GovTextArea(),
        validators=[
            Length(max=5000, message="Passages must be 5000 characters or fewer"),
            no_control_characters,
        ],
        description="Copy each passage exactly from the record, one a line.",
    )
    reason = required_text(
        "Why this person needs protecting", "Enter why this person needs protecting", REASON_MAX
    )
