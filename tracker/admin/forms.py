from govuk_frontend_wtf.wtforms_widgets import (
    GovCheckboxInput,
    GovPasswordInput,
    GovRadioInput,
    GovSelect,
    GovTextArea,
    GovTextInput,
)
from wtforms import (
    BooleanField,
    EmailField,
    PasswordField,
    RadioField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Email, InputRequired, Length, NumberRange, Optional

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
        validators=[
            InputRequired("Select the person's agency"),
            NumberRange(min=1, message="Select the person's agency"),
        ],
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


class IdentityProviderForm(BaseForm):
    """An agency's OpenID Connect provider. The secret is write-only: never shown again."""

    agency_id = SelectField(
        "Agency",
        widget=GovSelect(),
        coerce=int,
        description="Its people sign in with this provider; it never signs in anyone else's.",
        invalid_choice_message="Select an agency from the list",
        invalid_value_message="Select an agency from the list",
        validators=[
            InputRequired("Select the agency"),
            NumberRange(min=1, message="Select the agency"),
        ],
    )
    name = StringField(
        "Name on the sign-in button",
        widget=GovTextInput(),
        description='People see "Sign in with" and this name, like "Northshire Council account".',
        validators=[
            DataRequired("Enter the name for the sign-in button"),
            Length(max=120, message="Name must be 120 characters or fewer"),
            no_control_characters,
        ],
    )
    issuer = StringField(
        "Issuer URL",
        widget=GovTextInput(),
        description="As the provider's discovery document names it, like "
        "https://login.microsoftonline.com/<tenant id>/v2.0",
        validators=[
            DataRequired("Enter the issuer URL"),
            Length(max=500, message="Issuer URL must be 500 characters or fewer"),
            no_control_characters,
        ],
    )
    client_id = StringField(
        "Client ID",
        widget=GovTextInput(),
        description="The application (client) ID the provider gave the tracker.",
        validators=[
            DataRequired("Enter the client ID"),
            Length(max=255, message="Client ID must be 255 characters or fewer"),
            no_control_characters,
        ],
    )
    client_secret = PasswordField(
        "Client secret",
        widget=GovPasswordInput(),
        description="Stored and never shown again.",
        validators=[
            Length(max=500, message="Client secret must be 500 characters or fewer"),
            no_control_characters,
        ],
    )
    email_domains = TextAreaField(
        "Email domains",
        widget=GovTextArea(),
        description="One a line, like northshire.gov.uk. Only people whose work email is in one "
        "of these domains sign in with this provider.",
        validators=[
            DataRequired("Enter at least one email domain"),
            Length(max=5000, message="Email domains must be 5000 characters or fewer"),
            no_control_characters,
        ],
    )
    mfa_satisfies = BooleanField(
        "The provider's multi-factor sign-in counts as the tracker's two-factor sign-in",
        widget=GovCheckboxInput(),
        description="When ticked, a sign-in whose ID token says multi-factor was used (amr "
        'contains "mfa", or acr is one of the levels below) does not ask for the tracker\'s '
        "security code.",
    )
    mfa_acr_values = StringField(
        "acr levels that mean multi-factor (optional)",
        widget=GovTextInput(),
        description="Separated by spaces, as the provider sends them in acr, like AAL2 AAL3.",
        validators=[
            Length(max=500, message="acr levels must be 500 characters or fewer"),
            no_control_characters,
        ],
    )
    active = BooleanField("People can sign in with this provider", widget=GovCheckboxInput())


class ApprovalForm(BaseForm):
    decision = RadioField(
        "Decision",
        choices=choices([("approve", "Approve"), ("refuse", "Refuse")]),
        validators=[InputRequired("Choose approve or refuse")],
    )
