from __future__ import annotations

from govuk_frontend_wtf.wtforms_widgets import GovRadioInput
from wtforms import RadioField
from wtforms.validators import InputRequired

from tracker.cases.forms import choices
from tracker.forms import AmendForm, BaseForm, GovDateField, required_text
from tracker.services import notes
from tracker.services.notes import NOTE_KIND_LABELS
from tracker.shares.forms import ShareDetailsForm


class NoteForm(BaseForm):
    kind = RadioField(
        "Kind of note",
        widget=GovRadioInput(),
        choices=choices(NOTE_KIND_LABELS.items()),
        invalid_choice_message="Select the kind of note",
        validators=[InputRequired("Select the kind of note")],
    )
    occurred_on = GovDateField(
        "Date",
        description="When it happened or when the child said it, for example 27 3 2026",
        validators=[InputRequired("Enter the date")],
    )
    text = required_text(
        "Note",
        "Enter the note",
        description="For the child's lived experience, use the child's own words where you can: "
        "what they said and what their days are like.",
    )
    themes = ShareDetailsForm.themes

    def cross_field_problems(self):
        return notes.note_problems(self.occurred_on.data, self.text.data, self.themes.data or [])


class AmendNoteForm(NoteForm, AmendForm):
    kind = None  # the kind of a note does not change
    reason = required_text(
        "Why are you amending this note?", "Enter why you are amending this note", 2000
    )
