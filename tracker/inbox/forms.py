from flask_wtf import FlaskForm
from wtforms import SubmitField


class AlertForm(FlaskForm):
    """One unread alert's link: opening it marks it read on the way (a POST, so another site
    cannot mark someone's alerts read by linking to them)."""

    open = SubmitField("Open")
    read = SubmitField("Mark as read")


class ReadAllForm(FlaskForm):
    """Mark every unread alert read."""
