from govuk_frontend_wtf.wtforms_widgets import GovTextInput
from wtforms import HiddenField, StringField
from wtforms.validators import DataRequired, InputRequired, Length

from tracker.forms import BaseForm, GovDateField, no_control_characters
from tracker.services.api_tokens import NAME_MAX


class TokenForm(BaseForm):
    name = StringField(
        "Name",
        widget=GovTextInput(),
        description="Say which system will use it, for example: Children's social care case system",
        validators=[
            DataRequired("Enter a name for the token, such as the system that will use it"),
            Length(max=NAME_MAX, message=f"Name must be {NAME_MAX} characters or fewer"),
            no_control_characters,
        ],
    )
    expires_on = GovDateField(
        "Expires on",
        description="The token stops working at the end of this day. For example, 31 3 2027.",
        validators=[InputRequired("Enter the date the token expires")],
    )


class RevokeForm(BaseForm):
    revoke = HiddenField(default="1")
