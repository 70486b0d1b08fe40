from govuk_frontend_wtf.wtforms_widgets import GovSelect
from wtforms import SelectField
from wtforms.validators import InputRequired

from tracker.forms import BaseForm


class NamedLeadForm(BaseForm):
    lead_id = SelectField(
        "Lead",
        widget=GovSelect(),
        coerce=int,
        invalid_choice_message="Select a person from the list",
        invalid_value_message="Select a person from the list",
        validators=[InputRequired("Select a lead, or nobody")],
    )
    deputy_id = SelectField(
        "Deputy (receives the alerts while the lead is away)",
        widget=GovSelect(),
        coerce=int,
        invalid_choice_message="Select a person from the list",
        invalid_value_message="Select a person from the list",
        validators=[InputRequired("Select a deputy, or nobody")],
    )
