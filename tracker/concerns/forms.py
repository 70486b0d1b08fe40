from __future__ import annotations

from govuk_frontend_wtf.wtforms_widgets import GovSelect
from wtforms import SelectField
from wtforms.validators import Optional

from tracker.cases.forms import choices
from tracker.forms import BaseForm
from tracker.models import PRIORITY_LABELS


class UnansweredFilterForm(BaseForm):
    class Meta:
        csrf = False

    agency = SelectField(
        "Agency",
        widget=GovSelect(),
        coerce=int,
        default=0,
        validators=[Optional()],
        validate_choice=False,
        invalid_value_message="Select an agency from the list",
    )
    min_days = SelectField(
        "Working days overdue",
        widget=GovSelect(),
        coerce=int,
        default=0,
        choices=choices(
            [(0, "Any"), (1, "1 or more"), (3, "3 or more"), (5, "5 or more"), (10, "10 or more")]
        ),
        validators=[Optional()],
        # Only the listed numbers: 10,000,000 working days back is minutes of counting.
        invalid_choice_message="Select how many working days overdue from the list",
        invalid_value_message="Select how many working days overdue from the list",
    )
    priority = SelectField(
        "Priority",
        widget=GovSelect(),
        choices=choices([("", "Any"), *PRIORITY_LABELS.items()]),
        validators=[Optional()],
        invalid_choice_message="Select a priority from the list",
    )
