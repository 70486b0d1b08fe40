from govuk_frontend_wtf.wtforms_widgets import (
    GovCheckboxInput,
    GovRadioInput,
    GovSelect,
    GovTextInput,
)
from wtforms import BooleanField, EmailField, RadioField, SelectField, StringField
from wtforms.validators import DataRequired, Email, InputRequired, Length, Optional

from tracker.cases.forms import choices
from tracker.forms import BaseForm, GovDateField, no_control_characters
from tracker.models import AGENCY_KIND_LABELS, Role

ROLE_CHOICES = [(r.value, r.label) for r in Role]


class AgencyForm(BaseForm):
    name = StringField(
        "Agency name",
        widget=GovTextInput(),
        validators=[
            DataRequired("Enter the agency's name"),
            Length(max=120, message="Agency name must be 120 characters or fewer"),
            no_control_characters,
        ],
    )
    kind = SelectField(
        "Kind of agency",
        widget=GovSelect(),
        choices=choices((k.value, label) for k, label in AGENCY_KIND_LABELS.items()),
        invalid_choice_message="Select a kind of agency from the list",
        validators=[InputRequired("Select the kind of agency")],
    )
    secure_mailbox = EmailField(
        "Secure contact mailbox",
        widget=GovTextInput(),
        description="The agency's secure email address for safeguarding contact",
        validators=[
            DataRequired("Enter the agency's secure contact mailbox"),
            Email("Enter an email address in the correct format, like name@example.org"),
            Length(max=254, message="Email address must be 254 characters or fewer"),
        ],
    )
    public_authority = RadioField(
        "Is it a public authority acting in its statutory functions?",
        widget=GovRadioInput(),
        choices=choices([("yes", "Yes"), ("no", "No")]),
        description="A public authority cannot rely on legitimate interests (UK GDPR Article "
        "6(1)(f) or (ea)) for its tasks. Left blank: yes, except for the voluntary sector and "
        "other kinds",
        invalid_choice_message="Select yes or no",
        validators=[Optional()],
    )
    active = BooleanField("Active", widget=GovCheckboxInput(), default=True)


class ClosureDayForm(BaseForm):
    day = GovDateField(
        "Date the partnership is closed",
        description="For example, 27 12 2026. Today or later.",
        validators=[InputRequired("Enter the date the partnership is closed")],
    )
    reason = StringField(
        "Reason",
        widget=GovTextInput(),
        validators=[
            DataRequired("Enter why the partnership is closed that day"),
            Length(max=500, message="Reason must be 500 characters or fewer"),
            no_control_characters,
        ],
    )


class InviteForm(BaseForm):
    name = StringField(
        "Full name",
        widget=GovTextInput(),
        validators=[
            DataRequired("Enter the person's full name"),
            Length(max=120, message="Name must be 120 characters or fewer"),
            no_control_characters,
        ],
    )
    email = EmailField(
        "Work email address",
        widget=GovTextInput(),
        validators=[
            DataRequired("Enter the person's work email address"),
            Email("Enter an email address in the correct format, like name@example.org"),
            Length(max=254, message="Email address must be 254 characters or fewer"),
        ],
    )
    agency_id = SelectField(
        "Agency",
        widget=GovSelect(),
        coerce=int,
        invalid_choice_message="Select an agency from the list",
        invalid_value_message="Select an agency from the list",
        validators=[InputRequired("Select the person's agency")],
    )
    role = RadioField(
        "Role",
        widget=GovRadioInput(),
        choices=choices(ROLE_CHOICES),
        invalid_choice_message="Select a role from the list",
        validators=[InputRequired("Select a role")],
    )


class PersonForm(BaseForm):
    role = RadioField(
        "Role",
        widget=GovRadioInput(),
        choices=choices(ROLE_CHOICES),
        invalid_choice_message="Select a role from the list",
        validators=[InputRequired("Select a role")],
    )
    active = BooleanField("Can sign in (active)", widget=GovCheckboxInput())
    away = BooleanField(
        "Away: alerts for this person go to their deputy", widget=GovCheckboxInput()
    )
