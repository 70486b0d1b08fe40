"""The auditor's pages: search the audit trail, a case's full history, its evidence pack, and the
log's latest signed checkpoint and verifier key (to see, and to download).

Auditors only (access.can_audit). Every page here is itself an audit event.
"""

import re
from datetime import datetime

from flask import Blueprint, Response, abort, current_app, render_template, request
from flask_login import current_user, login_required
from sqlalchemy import select

from tracker import access, inputs
from tracker.audit.forms import TrailSearchForm
from tracker.cases.forms import choices
from tracker.extensions import db
from tracker.models import (
    CONCERN_STATE_LABELS,
    CONSENT_LABELS,
    LAWFUL_BASIS_LABELS,
    METHOD_LABELS,
    PRIORITY_LABELS,
    Agency,
    AuditEvent,
    Case,
    Person,
)
from tracker.services import audit, evidence, transparency, workdays

blueprint = Blueprint("audit", __name__, url_prefix="/audit")


@blueprint.before_request
@login_required
def require_auditor():
    access.require(access.can_audit(current_user))


def _search_choices(form: TrailSearchForm) -> None:
    people = db.session.execute(
        select(Person.id, Person.name, Agency.name).join(Agency).order_by(Person.name)
    ).all()
    form.person_id.choices = choices([(0, "Anyone"), *((p, f"{n} ({a})") for p, n, a in people)])
    form.agency_id.choices = choices(
        [
            (0, "Any agency"),
            *db.session.execute(select(Agency.id, Agency.name).order_by(Agency.name)),
        ]
    )
    form.action.choices = choices([("", "Any action"), *((a, a) for a in audit.actions())])


def _criteria(form: TrailSearchForm) -> audit.TrailFilter | None:
    """The filter, or None when the form has errors (shown in the error summary)."""
    if not form.validate():
        return None
    case_id = None
    if form.reference.data:
        case_id = db.session.scalar(
            select(Case.id).where(Case.reference == form.reference.data.upper())
        )
        if case_id is None:
            form.reference.errors.append("No case with this reference")
            return None
    return audit.TrailFilter(
        case_id=case_id,
        person_id=form.person_id.data or None,
        agency_id=form.agency_id.data or None,
        action=form.action.data or None,
        from_date=form.from_date.data,
        to_date=form.to_date.data,
    )


@blueprint.route("/")
def index():
    form = TrailSearchForm(request.args)
    _search_choices(form)
    criteria = _criteria(form) if request.args else audit.TrailFilter()
    page = None
    if criteria is not None:
        page = inputs.paginate(audit.trail_query(criteria))
        audit.record_trail_view(
            "audit.search",
            changes={**criteria.as_changes(), "shown": [None, [e.id for e in page.items]]},
        )
    return render_template(
        "audit/index.html",
        form=form,
        page=page,
        rows=audit.trail_rows(page.items) if page else [],
        title="Audit trail",
    ), 400 if form.errors else 200


@blueprint.route("/cases/<int:case_id>")
def case_history(case_id: int):
    case = access.case_for_reading(case_id)
    page = inputs.paginate(audit.case_trail(case.id))
    audit.record_trail_view("audit.case_history", case_id=case.id)
    return render_template(
        "audit/case_history.html",
        case=case,
        page=page,
        rows=audit.trail_rows(page.items),
        title=f"History of {case.reference}",
    )


@blueprint.route("/events/<int:event_id>")
def event(event_id: int):
    """One audit event in full: every change, the whole browser string, its hashes."""
    found = db.get_or_404(AuditEvent, event_id)
    [row] = audit.trail_rows([found])
    audit.record_trail_view(
        "audit.event_view", case_id=found.case_id, changes={"event": [None, found.id]}
    )
    return render_template("audit/event.html", row=row, e=found, title=f"Audit event {found.id}")


# The printed pack shows what people read: labels, not codes, and one date format. The CSV files
# in the zip keep the codes and sortable dates, for spreadsheets.
CELL_LABELS = {
    "Method": METHOD_LABELS,
    "Lawful basis": LAWFUL_BASIS_LABELS,
    "Consent": CONSENT_LABELS,
    "Priority": PRIORITY_LABELS,
    "State": CONCERN_STATE_LABELS,
    "Recorded as": {"sent": "By the sender", "received": "By a receiving agency"},
}
CSV_DATE = re.compile(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}")


@blueprint.app_template_global()
def evidence_cell(column: str, value) -> str:
    """One cell of the evidence pack's page, as a person reads it."""
    labels = CELL_LABELS.get(column)
    if labels is not None and value in labels:
        return labels[value]
    if isinstance(value, str) and CSV_DATE.fullmatch(value):
        return datetime.strptime(value, "%Y-%m-%d %H:%M").strftime(workdays.LOCAL_TIME)
    if column == "Status now" and isinstance(value, str):
        return value.capitalize()
    return "" if value is None else str(value)


def _cover(pack: evidence.EvidencePack) -> dict:
    """The cover summary: the period the record covers and what the pack holds."""
    moments = [e.at for e in pack.chronology] + [e.at for e in pack.trail]
    return {
        "first": min(moments) if moments else None,
        "last": max(moments) if moments else None,
        "counts": [
            ("Chronology entries", len(pack.chronology)),
            ("Shares (versions)", len(pack.shares)),
            ("Concerns", len(pack.responses)),
            ("Challenge transitions", len(pack.challenges)),
            ("Audit events on the case", len(pack.trail)),
        ],
    }


@blueprint.route("/cases/<int:case_id>/evidence")
def evidence_pack(case_id: int):
    case = access.case_for_reading(case_id)
    pack = evidence.produce(current_user, case)
    return render_template(
        "audit/evidence.html",
        case=case,
        pack=pack,
        cover=_cover(pack),
        title=f"Evidence pack: {case.reference}",
    )


@blueprint.route("/cases/<int:case_id>/evidence.zip")
def evidence_archive(case_id: int):
    case = access.case_for_reading(case_id)
    pack = evidence.produce(current_user, case)
    return Response(
        evidence.archive(pack),
        mimetype="application/zip",
        headers={
            "Content-Disposition": f'attachment; filename="evidence-{case.reference}.zip"',
            "Cache-Control": "no-store",
        },
    )


@blueprint.route("/checkpoint")
def checkpoint():
    latest = transparency.latest_checkpoint()
    key = str(transparency.verifier_key())
    audit.record_trail_view("audit.checkpoint_view")
    return render_template(
        "audit/checkpoint.html",
        checkpoint=latest,
        verifier_key=key,
        seal_seconds=current_app.config["AUDIT_SEAL_SECONDS"],
        title="Audit log checkpoint",
    )


def _text_download(body: str, filename: str) -> Response:
    return Response(
        body,
        mimetype="text/plain",
        headers={
            "Content-Disposition": f'attachment; filename="{filename}"',
            "Cache-Control": "no-store",
        },
    )


@blueprint.route("/checkpoint.txt")
def checkpoint_download():
    latest = transparency.latest_checkpoint()
    if latest is None:
        abort(404)
    audit.record_trail_view("audit.checkpoint_download")
    return _text_download(latest.note, f"checkpoint-{latest.tree_size}.txt")


@blueprint.route("/verifier-key.txt")
def verifier_key_download():
    audit.record_trail_view("audit.verifier_key_download")
    return _text_download(str(transparency.verifier_key()) + "\n", "audit-verifier-key.txt")
