from wtforms.validators import Optional, ValidationError

from tracker.forms import BaseForm, GovDateField


class PeriodForm(BaseForm):
    class Meta:
        csrf = False  # a GET filter changes nothing

    from_date = GovDateField("From", description="For example, 1 9 2026", validators=[Optional()])
    to_date = GovDateField("To", validators=[Optional()])

    def validate_to_date(self, field) -> None:
        if field.data and self.from_date.data and field.data < self.from_date.data:
            raise ValidationError("The 'to' date must be the same as or after the 'from' date")
