from __future__ import annotations

import re
from datetime import datetime, time

from govuk_frontend_wtf.wtforms_widgets import (
    GovCheckboxesInput,
    GovCheckboxInput,
    GovRadioInput,
    GovSelect,
    GovTextArea,
    GovTextInput,
)
from wtforms import (
    BooleanField,
    HiddenField,
    RadioField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import InputRequired, Length, Optional, ValidationError

from tracker import clock
from tracker.cases.forms import choices
from tracker.forms import AmendForm, BaseForm, GovDateField, no_control_characters, required_text
from tracker.models import (
    CIRCUMSTANCE_LABELS,
    CONSENT_LABELS,
    IDENTIFIER_ABSENT_LABELS,
    LAWFUL_BASIS_LABELS,
    METHOD_LABELS,
    NO_SHARE_REASON_LABELS,
    OUTCOME_LABELS,
    PRIORITY_LABELS,
    THEME_LABELS,
    Priority,
)
from tracker.services import procedure, sharing, workdays
from tracker.services.sharing import SHARE_FIELDS, ShareDetails


def _reason(label: str, required: str):
    return required_text(label, required, 2000)


TIME = re.compile(r"([01]?\d|2[0-3]):[0-5]\d")


def valid_time(form, field) -> None:
    if not TIME.fullmatch(field.data or ""):
        raise ValidationError("Enter the time as hours and minutes, for example 14:30")


class ShareDetailsForm(BaseForm):
    """The "record it" fields of one version of a share."""

    from_person_name = StringField(
        "Who shared it (optional)",
        widget=GovTextInput(),
        validators=[Optional(), Length(max=120, message="Name must be 120 characters or fewer")],
    )
    shared_on = GovDateField(
        "Date shared",
        description="For example, 27 3 2026. Today or in the past.",
        validators=[InputRequired("Enter the date it was shared")],
    )
    shared_time = StringField(
        "Time shared",
        widget=GovTextInput(),
        description="24-hour clock, for example 14:30",
        validators=[InputRequired("Enter the time it was shared"), valid_time],
    )
    method = RadioField(
        "How was it shared?",
        widget=GovRadioInput(),
        choices=choices(METHOD_LABELS.items()),
        invalid_choice_message="Select how it was shared",
        validators=[InputRequired("Select how it was shared")],
    )
    summary = required_text("What was shared", "Enter what was shared")
    purpose = required_text("Why was it shared?", "Enter why it was shared", 2000)
    lawful_basis = RadioField(
        "Lawful basis",
        widget=GovRadioInput(),
        choices=choices(LAWFUL_BASIS_LABELS.items()),
        invalid_choice_message="Select the lawful basis for sharing",
        validators=[InputRequired("Select the lawful basis for sharing")],
    )
    special_category = BooleanField(
        "Includes special category data (health, for example), shared under the safeguarding "
        "condition of the Data Protection Act 2018, Schedule 1, paragraph 18",
        widget=GovCheckboxInput(),
    )
    special_category_circumstance = RadioField(
        "If it includes special category data: why without consent (DPA 2018 Schedule 1 "
        "paragraph 18)",
        widget=GovRadioInput(),
        choices=choices(CIRCUMSTANCE_LABELS.items()),
        invalid_choice_message="Select why special category data was shared without consent",
        validators=[Optional()],
    )
    identifier_absent = RadioField(
        "If the case has no NHS number: why the share goes without it",
        widget=GovRadioInput(),
        choices=choices(IDENTIFIER_ABSENT_LABELS.items()),
        invalid_choice_message="Select why the share goes without the child's NHS number",
        validators=[Optional()],
    )
    consent = RadioField(
        "Consent",
        widget=GovRadioInput(),
        choices=choices(CONSENT_LABELS.items()),
        invalid_choice_message="Select whether consent was given",
        validators=[InputRequired("Select whether consent was given")],
    )
    consent_reason = TextAreaField(
        "If consent was not sought, why not; if it was refused, why it was shared anyway",
        widget=GovTextArea(),
        validators=[
            Optional(),
            Length(max=2000, message="Reason must be 2000 characters or fewer"),
            no_control_characters,
        ],
    )
    themes = SelectMultipleField(
        "Learning themes (optional)",
        widget=GovCheckboxesInput(),
        choices=choices((t.value, label) for t, label in THEME_LABELS.items()),
        invalid_choice_message="Select learning themes from the list",
        validators=[Optional()],
    )

    # Set by the view: (case, a function giving the sharing agency or None). The law's
    # cross-field rules then show against their fields with every other problem, in one round.
    lawful_context = None

    def shared_at(self) -> datetime | None:
        """The local date and time entered, as naive UTC (None while either is missing or wrong)."""
        if self.shared_on.data is None or not TIME.fullmatch(self.shared_time.data or ""):
            return None
        hours, minutes = (int(p) for p in self.shared_time.data.split(":"))
        return workdays.to_utc(datetime.combine(self.shared_on.data, time(hours, minutes)))

    def cross_field_problems(self):
        # The service's own rules (one home), so the date, consent, the law's rules for the
        # sharing agency and the rest come in one round.
        details = self.details()
        problems = list(sharing.details_problems(details))
        if self.lawful_context is not None:
            case, sharing_agency = self.lawful_context
            agency = sharing_agency()
            if agency is not None:
                problems += sharing.lawful_sharing_problems(details, agency, case)
        return problems

    def fill_now(self) -> None:
        """A new share defaults to now, in local time (most are recorded as they happen)."""
        local = workdays.to_local(clock.now())
        self.shared_on.data = local.date()
        self.shared_time.data = local.strftime("%H:%M")

    def details(self) -> ShareDetails:
        return ShareDetails(
            shared_at=self.shared_at(),
            method=self.method.data,
            summary=self.summary.data,
            purpose=self.purpose.data,
            lawful_basis=self.lawful_basis.data,
            special_category=bool(self.special_category.data),
            consent=self.consent.data,
            consent_reason=self.consent_reason.data,
            from_person_name=self.from_person_name.data,
            themes=list(self.themes.data or []),
            special_category_circumstance=self.special_category_circumstance.data or None,
            identifier_absent=self.identifier_absent.data or None,
        )

    def fill_from(self, version) -> None:
        local = workdays.to_local(version.shared_at)
        self.shared_on.data = local.date()
        self.shared_time.data = local.strftime("%H:%M")
        for name in SHARE_FIELDS:
            if name not in ("shared_at", "themes"):  # a date and a time; a list
                getattr(self, name).data = getattr(version, name)
        self.themes.data = [t.value for t in version.theme_list]


class ShareForm(ShareDetailsForm):
    """A new share. Named-people fields (people_<agency id>) are added per case by share_form."""

    from_agency_id = SelectField(
        "Which agency shared it with you?",
        widget=GovSelect(),
        coerce=int,
        invalid_choice_message="Select an agency from the list",
        invalid_value_message="Select an agency from the list",
        validators=[Optional()],
    )
    recipient_agency_ids = SelectMultipleField(
        "Shared with which agencies?",
        widget=GovCheckboxesInput(),
        coerce=int,
        invalid_value_message="Select agencies involved in this case",
        validators=[Optional()],
        validate_choice=False,  # the service says why an agency cannot be chosen
    )
    needs_response = RadioField(
        "Does the sender need a response?",
        widget=GovRadioInput(),
        choices=choices([("yes", "Yes, a response is needed"), ("no", "No")]),
        invalid_choice_message="Select whether a response is needed",
        validators=[InputRequired("Select whether a response is needed")],
    )
    priority = RadioField(
        "Priority of the response",
        widget=GovRadioInput(),
        choices=choices(PRIORITY_LABELS.items()),
        default=Priority.STANDARD.value,
        invalid_choice_message="Select standard or urgent",
        validators=[Optional()],
    )

    rating = RadioField(
        "Rating (optional)",
        widget=GovRadioInput(),
        description="A rating from the partnership's procedure sets the response timescale in "
        "working hours instead",
        invalid_choice_message="Select a rating from the list",
        validators=[Optional()],
        validate_choice=False,  # the service checks it against the procedure file
    )
    revisits_decision_id = SelectField(
        "Does this share revisit an earlier decision not to share? (optional)",
        widget=GovSelect(),
        coerce=int,
        default=0,
        invalid_value_message="Select a decision not to share from the list",
        validators=[Optional()],
        validate_choice=False,  # the service says why a decision cannot be chosen
    )

    def people_fields(self):
        return [f for name, f in self._fields.items() if name.startswith("people_")]

    def people_for(self, agency_id: int) -> str | None:
        field = self._fields.get(f"people_{agency_id}")
        return field.data if field is not None else None


def share_form(agencies, **kwargs) -> ShareForm:
    """A share form with a 'named people' box for each agency it could go to."""

    class CaseShareForm(ShareForm):
        pass

    for agency in agencies:
        setattr(
            CaseShareForm,
            f"people_{agency.id}",
            StringField(
                f"Named people at {agency.name} (optional)",
                widget=GovTextInput(),
                validators=[
                    Optional(),
                    Length(max=500, message="Names must be 500 characters or fewer"),
                    no_control_characters,
                ],
            ),
        )
    form = CaseShareForm(**kwargs)
    form.rating.choices = rating_choices()
    return form


def rating_choices() -> list[tuple[str, str]]:
    """The procedure file's concern ratings, with their timescales."""
    return choices(
        (
            r.name,
            f"{r.label}: {r.working_hours} working hours"
            + (" (straight through out of hours)" if r.out_of_hours else "")
            if r.working_hours
            else f"{r.label}: {r.working_days} working days",
        )
        for r in procedure.current().ratings
    )


class AmendShareForm(ShareDetailsForm, AmendForm):
    reason = _reason("Why are you amending this share?", "Enter why you are amending this share")


class NoShareForm(BaseForm):
    """A decision not to share (golden rule 7): what, for whom, why, when."""

    information = required_text(
        "What information was considered?", "Enter what information was considered"
    )
    agency_ids = SelectMultipleField(
        "Which agencies was it considered for?",
        widget=GovCheckboxesInput(),
        coerce=int,
        invalid_value_message="Select agencies from the list",
        validators=[Optional()],
        validate_choice=False,  # the service says why an agency cannot be chosen
    )
    reason_code = RadioField(
        "Why was it not shared?",
        widget=GovRadioInput(),
        choices=choices(NO_SHARE_REASON_LABELS.items()),
        invalid_choice_message="Select the reason for not sharing",
        validators=[InputRequired("Select the reason for not sharing")],
    )
    reason = required_text(
        "The reasoning",
        "Enter why the information was not shared",
        description="Facts and "
        "the judgement made: who was consulted, what risk sharing would bring",
    )
    decided_on = GovDateField(
        "Date decided",
        description="For example, 27 3 2026. Today or in the past.",
        validators=[InputRequired("Enter the date the decision was made")],
    )
    decided_time = StringField(
        "Time decided",
        widget=GovTextInput(),
        description="24-hour clock, for example 14:30",
        validators=[InputRequired("Enter the time the decision was made"), valid_time],
    )

    def decided_at(self) -> datetime:
        hours, minutes = (int(p) for p in self.decided_time.data.split(":"))
        return workdays.to_utc(datetime.combine(self.decided_on.data, time(hours, minutes)))


class RatingForm(BaseForm):
    """Re-rate an open concern: the due time is recalculated."""

    rating = RadioField(
        "New rating",
        widget=GovRadioInput(),
        invalid_choice_message="Select a rating from the list",
        validators=[InputRequired("Select a rating from the list")],
        validate_choice=False,
    )
    rationale = _reason("Why is the rating changing?", "Enter why the rating is changing")


class OutcomeForm(BaseForm):
    """What the receiving agency did with what it was sent."""

    outcome = RadioField(
        "What did your agency do with it?",
        widget=GovRadioInput(),
        choices=choices(OUTCOME_LABELS.items()),
        invalid_choice_message="Select what your agency did with it",
        validators=[InputRequired("Select what your agency did with it")],
    )
    outcome_detail = TextAreaField(
        "Details (needed for other)",
        widget=GovTextArea(),
        validators=[
            Optional(),
            Length(max=2000, message="Details must be 2000 characters or fewer"),
            no_control_characters,
        ],
    )


class AcknowledgeForm(BaseForm):
    """A button: the receiving agency has seen the concern."""

    acknowledge = HiddenField("Acknowledge", default="1")


class ResponseForm(AmendForm):
    """A first answer or an amendment: `version` is how many answers the page showed."""

    action_taken = required_text(
        "What did your agency do or decide?", "Enter what your agency did or decided"
    )
    next_steps = TextAreaField(
        "Next steps (optional)",
        widget=GovTextArea(),
        validators=[
            Optional(),
            Length(max=2000, message="Next steps must be 2000 characters or fewer"),
            no_control_characters,
        ],
    )
    reason = TextAreaField(
        "Why are you amending the response?",
        widget=GovTextArea(),
        validators=[
            Optional(),
            Length(max=2000, message="Reason must be 2000 characters or fewer"),
            no_control_characters,
        ],
    )
