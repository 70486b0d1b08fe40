from govuk_frontend_wtf.wtforms_widgets import (
    GovCheckboxesInput,
    GovCheckboxInput,
    GovRadioInput,
    GovSelect,
    GovTextArea,
    GovTextInput,
)
from wtforms import (
    BooleanField,
    RadioField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import (
    DataRequired,
    InputRequired,
    Length,
    NumberRange,
    Optional,
    ValidationError,
)

from tracker.forms import BaseForm, GovDateField, no_control_characters
from tracker.services import cases, identifiers


def choices(pairs) -> list[SelectChoice]:
    return [SelectChoice(str(value), label) for value, label in pairs]


def choose_first(
    options: list[SelectChoice], prompt: str = "Select an agency"
) -> list[SelectChoice]:
    """The options after a prompt (0) that chooses nothing: without it a select box arrives
    with its first option chosen, and pressing the button would take it. The field refuses 0
    (NumberRange(min=1))."""
    return [*choices([(0, prompt)]), *options]


class CaseSearchForm(BaseForm):
    class Meta:
        csrf = False  # a GET search changes nothing

    q = StringField(
        "Search by reference or child's name",
        widget=GovTextInput(),
        validators=[Optional(), Length(max=120, message="Search must be 120 characters or fewer")],
    )


def checked_identifier(normalise):
    """A form validator from the one home of the check-character rules (services.identifiers)."""

    def check(form, field) -> None:
        try:
            normalise(field.data, field.name)
        except identifiers.IdentifierError as error:
            raise ValidationError(str(error)) from None

    return check


class NewCaseForm(BaseForm):
    child_name = StringField(
        "Child's full name",
        widget=GovTextInput(),
        validators=[
            DataRequired("Enter the child's full name"),
            Length(max=120, message="Child's name must be 120 characters or fewer"),
            no_control_characters,
        ],
    )
    date_of_birth = GovDateField(
        "Date of birth",
        description="For example, 27 3 2019",
        validators=[InputRequired("Enter the child's date of birth")],
    )
    lead_agency_id = SelectField(
        "Lead agency",
        widget=GovSelect(),
        coerce=int,
        invalid_choice_message="Select an agency from the list",
        invalid_value_message="Select an agency from the list",
        validators=[InputRequired("Select the lead agency")],
    )
    lead_professional_id = SelectField(
        "Lead professional (optional)",
        widget=GovSelect(),
        coerce=int,
        invalid_choice_message="Select a person from the list",
        invalid_value_message="Select a person from the list",
        description="Must work for the lead agency",
        validators=[Optional()],
    )
    other_agency_ids = SelectMultipleField(
        "Other agencies involved",
        widget=GovCheckboxesInput(),
        coerce=int,
        invalid_choice_message="Select agencies from the list",
        invalid_value_message="Select agencies from the list",
        description="Your agency and the lead agency are always included",
        validators=[Optional()],
    )
    nhs_number = StringField(
        "NHS number (optional)",
        widget=GovTextInput(),
        description="The child's consistent identifier: 10 digits, for example 943 476 5919",
        validators=[Optional(), checked_identifier(identifiers.normalise_nhs_number)],
    )
    upn = StringField(
        "Unique pupil number (optional)",
        widget=GovTextInput(),
        description="13 characters from the child's school, for example B801200005001",
        validators=[Optional(), checked_identifier(identifiers.normalise_upn)],
    )
    confirm_not_a_match = BooleanField(
        "This is a different child: open a new case anyway", widget=GovCheckboxInput()
    )

    def cross_field_problems(self):
        return cases.new_case_problems(
            self.date_of_birth.data, self.lead_agency_id.data, self.lead_professional_id.data
        )


class AddAgencyForm(BaseForm):
    agency_id = SelectField(
        "Agency",
        widget=GovSelect(),
        coerce=int,
        invalid_choice_message="Select an agency from the list",
        invalid_value_message="Select an agency from the list",
        # The first choice is "Select an agency" (0): nothing is added until one is chosen.
        validators=[
            InputRequired("Select an agency to add"),
            NumberRange(min=1, message="Select an agency to add"),
        ],
    )


class RemoveAgencyForm(BaseForm):
    reason = TextAreaField(
        "Why is this agency no longer involved?",
        widget=GovTextArea(),
        validators=[
            DataRequired("Enter why the agency is no longer involved"),
            Length(max=1000, message="Reason must be 1000 characters or fewer"),
            no_control_characters,
        ],
    )


class LinkSiblingForm(BaseForm):
    reference = StringField(
        "Sibling's case reference",
        widget=GovTextInput(),
        description="For example, SSCP-2026-00042",
        validators=[
            DataRequired("Enter the sibling's case reference"),
            Length(max=32, message="Reference must be 32 characters or fewer"),
            no_control_characters,  # PostgreSQL refuses a NUL in a query: a 500 before this
        ],
    )


class CaseStatusForm(BaseForm):
    status = RadioField(
        "Case status",
        widget=GovRadioInput(),
        choices=choices([("open", "Open"), ("closed", "Closed")]),
        invalid_choice_message="Select open or closed",
        validators=[InputRequired("Select open or closed")],
    )
    reason = TextAreaField(
        "Reason",
        widget=GovTextArea(),
        validators=[
            DataRequired("Enter why the case is being closed or reopened"),
            Length(max=1000, message="Reason must be 1000 characters or fewer"),
            no_control_characters,
        ],
    )
