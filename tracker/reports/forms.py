from wtforms.validators import Optional, ValidationError

from tracker.forms import BaseForm, GovDateField
from tracker.services import workdays


class PeriodForm(BaseForm):
    class Meta:
        csrf = False  # a GET filter changes nothing

    from_date = GovDateField("From", description="For example, 1 9 2026", validators=[Optional()])
    to_date = GovDateField("To", validators=[Optional()])

    def validate_from_date(self, field) -> None:
        # With no 'to' date the period ends today: a later start would end before it began.
        if field.data and not self.to_date.data and field.data > workdays.today():
            raise ValidationError("The 'from' date must be today or in the past")

    def validate_to_date(self, field) -> None:
        if field.data and self.from_date.data and field.data < self.from_date.data:
            raise ValidationError("The 'to' date must be the same as or after the 'from' date")
