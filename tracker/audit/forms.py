from govuk_frontend_wtf.wtforms_widgets import GovSelect, GovTextInput
from wtforms import SelectField, StringField
from wtforms.validators import Length, Optional, ValidationError

from tracker.forms import BaseForm, GovDateField


class TrailSearchForm(BaseForm):
    class Meta:
        csrf = False  # a GET search changes nothing

    reference = StringField(
        "Case reference",
        widget=GovTextInput(),
        validators=[
            Optional(),
            Length(max=32, message="Case reference must be 32 characters or fewer"),
        ],
    )
    person_id = SelectField(
        "Person",
        widget=GovSelect(),
        coerce=int,
        default=0,
        invalid_choice_message="Select a person from the list",
        invalid_value_message="Select a person from the list",
        validators=[Optional()],
    )
    agency_id = SelectField(
        "Agency",
        widget=GovSelect(),
        coerce=int,
        default=0,
        invalid_choice_message="Select an agency from the list",
        invalid_value_message="Select an agency from the list",
        validators=[Optional()],
    )
    action = SelectField(
        "Action",
        widget=GovSelect(),
        default="",
        invalid_choice_message="Select an action from the list",
        validators=[Optional()],
    )
    from_date = GovDateField("From", description="For example, 1 12 2026", validators=[Optional()])
    to_date = GovDateField("To", validators=[Optional()])

    def validate_to_date(self, field) -> None:
        if field.data and self.from_date.data and field.data < self.from_date.data:
            raise ValidationError("The 'to' date must be the same as or after the 'from' date")
