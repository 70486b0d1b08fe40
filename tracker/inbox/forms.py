from flask_wtf import FlaskForm
from wtforms import SubmitField


class AlertForm(FlaskForm):
    """One alert's buttons: open it (marking it read on the way) or just mark it read."""

    open = SubmitField("Open")
    read = SubmitField("Mark as read")
