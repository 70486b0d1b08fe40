"""What a practitioner reads on the share page and in the lists (issue 14, items 3, 5, 6, 8)."""

from __future__ import annotations

import re
from datetime import datetime

from tests.conftest import sign_in_as
from tests.helpers import page_text, section
from tracker.extensions import db
from tracker.services import sharing


def _concern(world, shared_at: datetime, summary: str = "Mother disclosed the father is back"):
    share = sharing.record_share(
        world.worker_a,
        world.case,
        recorded_as=sharing.SENT,
        from_agency_id=world.agency_a.id,
        recipients=[sharing.Recipient(world.agency_b.id)],
        details=sharing.ShareDetails(
            shared_at=shared_at,
            method="phone",
            summary=summary,
            purpose="Safety",
            lawful_basis="art6_1e_public_task",
            consent="given",
        ),
        needs_response=True,
    )
    db.session.commit()
    return share


def _headers(table_html: str) -> list[str]:
    return [
        re.sub(r"<[^>]+>", "", h).strip()
        for h in re.findall(r"<th scope=\"col\"[^>]*>(.*?)</th>", table_html)
    ]


def test_the_share_page_names_the_deadline_and_the_answer_apart(client, world, frozen):
    frozen(datetime(2026, 12, 1, 10, 0))
    share = _concern(world, datetime(2026, 12, 1, 9, 0))
    recipient = share.recipients[0]
    sharing.respond(world.worker_b, recipient, action_taken="Officers visited", next_steps=None)
    db.session.commit()
    sign_in_as(client, world.worker_a)
    text = page_text(client.get(f"/shares/{share.id}"))
    assert "Response needed by Standard, due 4 Dec 2026 17:00" in text
    assert "Their response Officers visited" in text
    assert not re.search(r"\bResponse (Standard|Officers)", text)


def test_lists_say_what_was_shared_and_drop_the_column_that_repeats_the_page(client, world, frozen):
    frozen(datetime(2026, 12, 1, 10, 0))
    _concern(world, datetime(2026, 12, 1, 9, 0), summary="Mother disclosed " + "x" * 100)
    sign_in_as(client, world.worker_b)
    ours = client.get("/concerns/ours").get_data(as_text=True)
    assert _headers(ours) == ["Case", "What was shared", "From", "Due", "State"]
    assert "Mother disclosed" in ours and "x" * 100 not in ours  # the first words only
    sign_in_as(client, world.worker_a)
    home = client.get("/").get_data(as_text=True)
    assert _headers(section(home, "waiting-on-others")) == [
        "Case",
        "What was shared",
        "To",
        "Due",
        "State",
    ]
    frozen(datetime(2026, 12, 8, 10, 0))  # overdue: on the case page's list of unanswered
    case_page = client.get(f"/cases/{world.case.id}").get_data(as_text=True)
    table = case_page.split("Unanswered concerns on this case", 1)[1].split("</table>", 1)[0]
    assert "Case" not in _headers(table) and "What was shared" in _headers(table)


def test_case_references_never_wrap(client, world, frozen):
    frozen(datetime(2026, 12, 8, 10, 0))
    _concern(world, datetime(2026, 12, 1, 9, 0))
    sign_in_as(client, world.lead_a)
    for url in ("/", "/cases/", "/concerns/theirs", "/concerns/unanswered"):
        html = client.get(url).get_data(as_text=True)
        cells = re.findall(r"<td class=\"([^\"]*)\">\s*<a[^>]*>" + world.case.reference, html)
        assert cells, url
        assert all("tracker-nowrap" in c for c in cells), (url, cells)


def test_unanswered_concerns_link_the_case_and_the_share_apart(client, world, frozen):
    frozen(datetime(2026, 12, 8, 10, 0))
    share = _concern(world, datetime(2026, 12, 1, 9, 0))
    sign_in_as(client, world.lead_a)
    html = client.get("/concerns/unanswered").get_data(as_text=True)
    row = html.split('<tbody class="govuk-table__body">', 1)[1].split("</tr>", 1)[0]
    links = re.findall(r'href="([^"]+)">([^<]+)', row)
    assert (f"/cases/{world.case.id}", world.case.reference) in links
    assert (f"/shares/{share.id}", "Mother disclosed the father is back") in links


def test_a_new_share_defaults_to_now_and_its_only_agency(client, world, frozen):
    # 10:05 UTC in summer is 11:05 in London: the form speaks local time.
    frozen(datetime(2026, 7, 1, 10, 5))
    sign_in_as(client, world.worker_a)
    html = client.get(f"/cases/{world.case.id}/shares/new").get_data(as_text=True)
    assert re.findall(r'name="shared_on" type="text" value="(\d+)"', html) == ["01", "07", "2026"]
    assert re.search(r'name="shared_time"[^>]*value="11:05"', html)
    # Agency B is the only other agency on the case: ticked already.
    checkbox = re.search(
        rf'<input[^>]*name="recipient_agency_ids"[^>]*value="{world.agency_b.id}"[^>]*>', html
    )
    assert checkbox and "checked" in checkbox.group(0)
    # The priority is asked only under "Yes, a response is needed" (a conditional reveal).
    assert re.search(r'value="yes" data-aria-controls="conditional-needs_response"', html)
    reveal = html.split('id="conditional-needs_response"', 1)[1]
    assert reveal.index("Priority of the response") < reveal.index('name="needs_response"')


def test_with_several_agencies_none_is_ticked_for_you(client, world, frozen):
    from tracker.services import cases

    frozen(datetime(2026, 7, 1, 10, 5))
    cases.add_agency(world.worker_a, world.case, world.agency_c.id)
    db.session.commit()
    sign_in_as(client, world.worker_a)
    html = client.get(f"/cases/{world.case.id}/shares/new").get_data(as_text=True)
    boxes = re.findall(r'<input[^>]*name="recipient_agency_ids"[^>]*>', html)
    assert len(boxes) == 2 and not any("checked" in b for b in boxes)


def test_the_case_page_lists_its_challenges_without_a_case_column(client, world, password_hash):
    from tests.challenges.support import name_leads, raise_one

    name_leads(world, password_hash)
    raise_one(world)
    sign_in_as(client, world.worker_a)
    html = client.get(f"/cases/{world.case.id}").get_data(as_text=True)
    table = html.split("Professional challenges on this case", 1)[1].split("</table>", 1)[0]
    assert "Case" not in _headers(table) and "Stage" in _headers(table)
    assert "Case" in _headers(client.get("/challenges/awaiting").get_data(as_text=True))
