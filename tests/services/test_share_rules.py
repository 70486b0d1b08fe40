"""The share rules that have one home in tracker.services.sharing, held to it by their users."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from sqlalchemy import inspect

from tests.services.test_sharing import details
from tracker.api.openapi import SCHEMAS
from tracker.models import ShareVersion
from tracker.services import sharing
from tracker.shares.forms import ShareDetailsForm


class _Person:
    def __init__(self, agency_id: int):
        self.agency_id = agency_id


def test_a_share_received_includes_ones_own_agency_first():
    me = _Person(7)
    assert sharing.with_own_agency(me, sharing.RECEIVED, [3, 4]) == [7, 3, 4]
    assert sharing.with_own_agency(me, sharing.RECEIVED, []) == [7]
    assert sharing.with_own_agency(me, sharing.RECEIVED, [3, 7]) == [3, 7]  # named already
    assert sharing.with_own_agency(me, sharing.SENT, [3, 4]) == [3, 4]


def test_a_share_received_with_no_recipient_named_goes_to_ones_own_agency(app, world, frozen):
    frozen(datetime(2026, 12, 24, 10, 30))
    share = sharing.record_share(
        world.worker_a,
        world.case,
        recorded_as=sharing.RECEIVED,
        from_agency_id=world.agency_b.id,
        recipients=[],
        details=details(datetime(2026, 12, 24, 9, 0)),
        needs_response=False,
    )
    assert [r.agency_id for r in share.recipients] == [world.agency_a.id]
    assert share.from_agency_id == world.agency_b.id


def test_the_share_fields_are_the_versions_columns():
    columns = {c.key for c in inspect(ShareVersion).columns}
    assert set(sharing.SHARE_FIELDS) <= columns
    assert len(sharing.SHARE_FIELDS) == 12
    assert set(sharing.REQUIRED_SHARE_FIELDS) == {
        "shared_at",
        "method",
        "summary",
        "purpose",
        "lawful_basis",
        "consent",
    }


def test_the_form_has_a_field_for_each_share_field():
    form_fields = {
        name for name in dir(ShareDetailsForm) if hasattr(getattr(ShareDetailsForm, name), "bind")
    }
    # The moment it was shared is asked as a date and a time.
    expected = (set(sharing.SHARE_FIELDS) - {"shared_at"}) | {"shared_on", "shared_time"}
    assert expected <= form_fields, expected - form_fields


def test_the_api_document_names_each_share_field():
    share, create = SCHEMAS["Share"], SCHEMAS["ShareCreate"]
    for schema in (share, create):
        assert set(sharing.SHARE_FIELDS) <= set(schema["properties"])
    assert set(sharing.SHARE_FIELDS) <= set(share["required"])
    assert set(create["required"]) == {*sharing.REQUIRED_SHARE_FIELDS, "needs_response"}


def test_a_version_gives_back_the_details_it_was_made_from(app, world, frozen):
    frozen(datetime(2026, 12, 24, 10, 30))
    said = replace(details(datetime(2026, 12, 24, 9, 0)), from_person_name="  DS Khan ")
    share = sharing.record_share(
        world.worker_a,
        world.case,
        recorded_as=sharing.SENT,
        from_agency_id=0,
        recipients=[sharing.Recipient(world.agency_b.id)],
        details=said,
        needs_response=False,
    )
    assert sharing.ShareDetails.of_version(share.current) == replace(
        said, from_person_name="DS Khan"
    )
