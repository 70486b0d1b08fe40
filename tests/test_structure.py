"""The shape of the code: rules about where things live, checked so that they stay true."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import jinja2
import pytest

from tracker import access

TEMPLATES = Path(__file__).parent.parent / "templates"

# What Jinja, Flask, Flask-WTF and govuk-frontend-wtf put in every template's globals.
LIBRARY_GLOBALS = {
    *jinja2.Environment().globals,  # range, dict, lipsum, cycler, joiner, namespace
    "url_for",
    "get_flashed_messages",
    "config",
    "request",
    "session",
    "g",
    "csrf_token",
    "csrf_meta_tag",
    "wtforms_errors",
}
# The app's own template globals and filters: each formats what the view handed over, or reads
# the request or the signed-in person's roles, and none reads the database. A global that queries
# (as case_sharing, case_challenges and agency_open_challenges once did, the last one writing an
# audit event at render time) belongs in the view, which prepares the data and audits the view.
PURE_GLOBALS = {
    "access",  # its predicates; which ones templates call is checked below
    "concern_state_label",
    "csp_nonce",
    "evidence_cell",
    "loop_summary",
    "navigation_items",
    "page_url",
}
PURE_FILTERS = {"local_time", "long_date"}
# Source text of a function that reads or writes the database, or audits.
QUERYING = re.compile(
    r"\bdb\.|\bselect\(|\.scalars?\(|\.execute\(|\.query\b|\baudit\.\w+\(|record_\w*view|"
    r"_for_reading\(|_for_changing\("
)


def test_template_globals_are_only_the_known_pure_helpers(app):
    """A new template global must be added to PURE_GLOBALS, after checking that it is pure."""
    assert set(app.jinja_env.globals) - LIBRARY_GLOBALS == PURE_GLOBALS
    own_filters = set(app.jinja_env.filters) - set(jinja2.Environment().filters)
    assert own_filters == PURE_FILTERS


def test_the_pure_helpers_do_not_query(app):
    helpers = [app.jinja_env.globals[name] for name in PURE_GLOBALS - {"access"}]
    helpers += [app.jinja_env.filters[name] for name in PURE_FILTERS]
    for helper in helpers:
        if inspect.isbuiltin(helper):  # a label table's dict.get
            continue
        source = inspect.getsource(helper)
        assert not QUERYING.search(source), helper.__qualname__


def test_the_query_pattern_catches_what_it_must():
    """The check above is only as good as its pattern: the old querying globals match it."""
    for source in (
        "db.session.scalars(sharing.shares_for_case(case.id).limit(10)).all()",
        'challenges.record_list_view(found, "home: my agency\'s open challenges")',
        "access.case_for_reading(case_id)",
    ):
        assert QUERYING.search(source), source
    assert not QUERYING.search("return person.has_role(Role.AUDITOR)")


def _template_sources() -> dict[str, str]:
    return {
        str(path.relative_to(TEMPLATES)): path.read_text() for path in TEMPLATES.rglob("*.html")
    }


def test_templates_call_only_pure_access_predicates():
    used = {
        name
        for source in _template_sources().values()
        for name in re.findall(r"\baccess\.(\w+)", source)
    }
    assert used, "the templates' access checks were not found: is the pattern right?"
    for name in used:
        predicate = getattr(access, name)
        assert not QUERYING.search(inspect.getsource(predicate)), f"access.{name} queries"


@pytest.mark.parametrize(
    "pattern",
    [
        r"\.query\b",  # Model.query
        r"\bdb\.",  # db.session, db.select
        r"\bselect\(",
        r"\.scalars?\(",
        r"\.execute\(",
        r"\baudit\.\w+\(",  # audit.record(...)
        r"record_\w*view\(",
    ],
)
def test_templates_reference_no_queries(pattern):
    found = [name for name, source in _template_sources().items() if re.search(pattern, source)]
    assert not found, f"{pattern} in {found}: the view prepares what the template shows"


# --- features: one name in tracker/, templates/ and the README -----------------------------------

ROOT = Path(__file__).parent.parent
SHARED_TEMPLATES = {"layout", "errors"}  # every page's frame, and the error pages


def _features() -> set[str]:
    """The folders of tracker/ that are a feature: a blueprint's views.py."""
    return {path.parent.name for path in (ROOT / "tracker").glob("*/views.py")}


def test_tracker_and_templates_follow_the_same_feature_names():
    template_folders = {path.name for path in TEMPLATES.iterdir() if path.is_dir()}
    assert template_folders - SHARED_TEMPLATES == _features()


def test_every_template_is_in_its_own_features_folder():
    """A view renders pages of its own feature (or the shared ones), so templates/X is tracker/X."""
    pattern = re.compile(r"render_template\(\s*\"(\w+)/")
    checked = 0
    for feature in _features():
        for module in (ROOT / "tracker" / feature).glob("*.py"):
            for folder in pattern.findall(module.read_text()):
                assert folder in {feature, *SHARED_TEMPLATES}, (module.name, feature, folder)
                checked += 1
    assert checked > len(_features()), "no render_template found: is the pattern right?"


def test_the_readme_lists_every_feature():
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Where things are", 1)[1].split("\n## ", 1)[0]
    listed = set(re.findall(r"^\| `(\w+)` \|", section, re.MULTILINE))
    assert listed == _features()
