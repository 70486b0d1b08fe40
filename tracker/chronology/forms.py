from __future__ import annotations

from govuk_frontend_wtf.wtforms_widgets import GovSelect
from wtforms import SelectField
from wtforms.validators import Optional

from tracker.cases.forms import choices
from tracker.forms import BaseForm
from tracker.models import THEME_LABELS


class ChronologyFilterForm(BaseForm):
    class Meta:
        csrf = False  # a GET filter changes nothing

    agency = SelectField(
        "Agency",
        widget=GovSelect(),
        coerce=int,
        default=0,
        validators=[Optional()],
        validate_choice=False,
        invalid_value_message="Select an agency from the list",
    )
    theme = SelectField(
        "Learning theme",
        widget=GovSelect(),
        choices=choices([("", "All themes"), *((t.value, lbl) for t, lbl in THEME_LABELS.items())]),
        validators=[Optional()],
        validate_choice=False,
    )
    kind = SelectField(
        "Kind of entry", widget=GovSelect(), validators=[Optional()], validate_choice=False
    )
