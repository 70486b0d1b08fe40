"""The look: GOV.UK Frontend components, but nothing that belongs to GOV.UK alone."""

from pathlib import Path

GOVUK_ONLY = [
    "govuk-footer__crown",
    "govuk-footer__copyright-logo",
    "Crown copyright",
    "Open Government Licence",
    "govuk-logo",
    "govuk-crest",
    "GDS Transport",
    "favicon.ico",
]


def test_pages_carry_no_crown_licence_or_gds_font(client):
    html = client.get("/sign-in").get_data(as_text=True)
    assert "govuk-footer" in html and "govuk-service-navigation" in html
    for marker in GOVUK_ONLY:
        assert marker not in html, marker


def test_compiled_stylesheet_has_no_gds_transport_font(app):
    css = (Path(app.static_folder) / "tracker.css").read_text()
    assert "GDS Transport" not in css and "/assets/fonts/" not in css
    assert "system-ui" in css
