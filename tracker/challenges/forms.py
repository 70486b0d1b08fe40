from govuk_frontend_wtf.wtforms_widgets import (
    GovCheckboxesInput,
    GovRadioInput,
    GovTextArea,
    GovTextInput,
)
from wtforms import (
    HiddenField,
    RadioField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import InputRequired, Length, Optional

from tracker.cases.forms import choices
from tracker.forms import (
    BaseForm,
    GovDateField,
    Problem,
    hidden_number,
    no_control_characters,
    required_text,
)
from tracker.models import CHALLENGE_KIND_LABELS, THEME_LABELS
from tracker.services import challenges

YES_NO = choices([("yes", "Yes"), ("no", "No")])


class RiskForm(BaseForm):
    immediate_risk = RadioField(
        "Could the child be at immediate risk of harm?",
        widget=GovRadioInput(),
        choices=YES_NO,
        invalid_choice_message="Select yes if the child may be at immediate risk of harm",
        validators=[InputRequired("Select yes if the child may be at immediate risk of harm")],
    )


class DetailsForm(BaseForm):
    about_agency_id = RadioField(
        "Which agency is the challenge about?",
        widget=GovRadioInput(),
        coerce=int,
        invalid_choice_message="Select an agency involved in this case",
        invalid_value_message="Select an agency involved in this case",
        validators=[InputRequired("Select which agency the challenge is about")],
    )
    kind = RadioField(
        "What is it about?",
        widget=GovRadioInput(),
        choices=choices((k.value, label) for k, label in CHALLENGE_KIND_LABELS.items()),
        invalid_choice_message="Select what the challenge is about",
        validators=[InputRequired("Select what the challenge is about")],
    )
    what_happened = required_text(
        "What happened",
        "Enter what happened",
        description="Facts, not opinion: the decision, action or silence you disagree with",
    )
    outcome_wanted = required_text("What outcome do you want?", "Enter the outcome you want")
    share_ids = SelectMultipleField(
        "Shares on this case (optional)",
        widget=GovCheckboxesInput(),
        coerce=int,
        invalid_choice_message="Select shares recorded on this case",
        invalid_value_message="Select shares recorded on this case",
        validators=[Optional()],
    )
    note_ids = SelectMultipleField(
        "Case notes (optional)",
        widget=GovCheckboxesInput(),
        coerce=int,
        invalid_choice_message="Select notes recorded on this case",
        invalid_value_message="Select notes recorded on this case",
        validators=[Optional()],
    )
    urgent = RadioField(
        "Is it urgent?",
        widget=GovRadioInput(),
        choices=choices([("no", "No, standard timescales"), ("yes", "Yes, urgent timescales")]),
        invalid_choice_message="Select whether the challenge is urgent",
        validators=[InputRequired("Select whether the challenge is urgent")],
    )


class StageForm(BaseForm):
    """Every form acting on a stage carries the stage it was opened at (a stale page is refused)."""

    stage = HiddenField()

    def expected_stage(self) -> int | None:
        return hidden_number(self.stage)


class DiscussionForm(StageForm):
    text = required_text("What was discussed", "Enter what was discussed")


class EscalateForm(StageForm):
    why = required_text(
        "Why does it need to go to the next stage?",
        "Enter why it needs to go to the next stage",
    )


class WithdrawForm(BaseForm):
    why = required_text(
        "Why are you withdrawing the challenge?", "Enter why you are withdrawing it"
    )


ACTION_SLOTS = 3
# An action row's parts, when one is missing: what, who, and by when.
ROW_WORDS = ("Enter the action", "Enter who owns the action", "Enter the date the action is due by")


class ResolveForm(StageForm):
    agreed = required_text("What was agreed", "Enter what was agreed")
    themes = SelectMultipleField(
        "Learning themes (optional)",
        widget=GovCheckboxesInput(),
        choices=choices((t.value, label) for t, label in THEME_LABELS.items()),
        invalid_choice_message="Select learning themes from the list",
        validators=[Optional()],
    )
    practice_issue = RadioField(
        "Did it show a practice issue for the partnership?",
        widget=GovRadioInput(),
        choices=YES_NO,
        invalid_choice_message="Select yes if it showed a practice issue for the partnership",
        validators=[InputRequired("Select yes if it showed a practice issue for the partnership")],
    )

    def action_rows(self):
        return [
            (self[f"action_{n}"], self[f"owner_{n}"], self[f"due_{n}"])
            for n in range(1, ACTION_SLOTS + 1)
        ]

    def resolution(self) -> challenges.Resolution:
        """What was agreed, for challenges.resolve: the actions are the rows filled in."""
        return challenges.Resolution(
            agreed=self.agreed.data,
            actions=[
                challenges.AgreedAction(action.data, owner.data, due.data)
                for action, owner, due in self.action_rows()
                if action.data
            ],
            themes=self.themes.data or [],
            practice_issue=self.practice_issue.data == "yes",
        )

    @classmethod
    def required_words(cls) -> dict[str, str]:
        """What an action row's empty part is called: on the page, and in the API's answer
        to a row sent with a part blank."""
        return {
            f"{part}_{n}": words
            for n in range(1, ACTION_SLOTS + 1)
            for part, words in zip(("action", "owner", "due"), ROW_WORDS, strict=True)
        }

    def cross_field_problems(self):
        # An action row is all or nothing: what, who, and by when.
        for row in self.action_rows():
            action, _, due = row
            if any(field.data for field in row) or any(due.raw_data or []):
                for field, message in zip(row, ROW_WORDS, strict=True):
                    if not field.data:
                        yield Problem(field.name, message)
        yield from challenges.action_due_problems(
            [(due.name, due.data) for _, _, due in self.action_rows()]
        )


for _n in range(1, ACTION_SLOTS + 1):
    setattr(
        ResolveForm,
        f"action_{_n}",
        TextAreaField(
            f"Action {_n}",
            widget=GovTextArea(),
            validators=[
                Optional(),
                Length(max=1000, message="An action must be 1000 characters or fewer"),
                no_control_characters,
            ],
        ),
    )
    setattr(
        ResolveForm,
        f"owner_{_n}",
        StringField(
            f"Action {_n}: who owns it",
            widget=GovTextInput(),
            validators=[
                Optional(),
                Length(max=120, message="An owner must be 120 characters or fewer"),
                no_control_characters,
            ],
        ),
    )
    setattr(
        ResolveForm,
        f"due_{_n}",
        GovDateField(f"Action {_n}: due by", description="For example, 27 3 2027"),
    )
