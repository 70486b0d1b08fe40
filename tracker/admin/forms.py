from govuk_frontend_wtf.wtforms_widgets import (
    GovCheckboxInput,
    GovRadioInput,
    GovSelect,
    GovTextInput,
)
from wtforms import BooleanField, EmailField, RadioField, SelectField, StringField
from wtforms.validators import DataRequired, Email, InputRequired, Length

from tracker.cases.forms import choices
from tracker.forms import BaseForm, no_control_characters
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
    active = BooleanField("Active", widget=GovCheckboxInput(), default=True)


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


class ApprovalForm(BaseForm):
    decision = RadioField(
        "Decision",
        choices=choices([("approve", "Approve"), ("refuse", "Refuse")]),
        validators=[InputRequired("Choose approve or refuse")],
    )
