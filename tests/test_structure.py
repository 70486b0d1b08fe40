"""The shape of the code, read from its source: layers that only call downwards, templates
that never query, and one name for each feature in tracker/, templates/ and the README.

Each test reads the source on its own, so tests added here stay independent of one another.
"""

from __future__ import annotations

import ast
import inspect
import re
from pathlib import Path

import jinja2
import pytest

from tracker import access

TRACKER = Path(__file__).resolve().parent.parent / "tracker"

# The one module under tracker/services/ that reads the running app (its configuration,
# registries and URL map), and what it takes from Flask: current_app, and the URL map's type.
SETTINGS_MODULE = "tracker.services.settings"
SETTINGS_IMPORTS = {("flask", "current_app"), ("werkzeug.routing", "Map")}


def _modules() -> dict[str, tuple[Path, bool]]:
    """Dotted module name -> (file, is a package's __init__)."""
    found = {}
    for path in TRACKER.rglob("*.py"):
        parts = list(path.relative_to(TRACKER.parent).with_suffix("").parts)
        is_package = parts[-1] == "__init__"
        if is_package:
            parts.pop()
        found[".".join(parts)] = (path, is_package)
    return found


def _imports(name: str, path: Path, is_package: bool) -> list[tuple[str, str | None]]:
    """(module, name imported from it or None) for every import in the file, at any depth:
    an import inside a function runs too, only later, so it closes a cycle all the same."""
    package = name if is_package else name.rpartition(".")[0]
    found: list[tuple[str, str | None]] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [(alias.name, None) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: from . import x, from ..models import y
                base = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module
            found += [(module, alias.name) for alias in node.names]
    return found


def import_graph() -> dict[str, set[str]]:
    """Each tracker module -> the tracker modules it imports.

    `from tracker.services import audit` is an edge to tracker.services.audit (a module), while
    `from tracker.models import Case` is one to the package tracker.models. The packages a module
    sits in are not counted as its imports: Python runs them first whatever the module imports,
    and a package that only names its modules (tracker/__init__.py) would close a "cycle" with
    every module in it.
    """
    modules = _modules()
    graph = {}
    for name, (path, is_package) in modules.items():
        edges = set()
        for module, imported in _imports(name, path, is_package):
            if imported and f"{module}.{imported}" in modules:
                edges.add(f"{module}.{imported}")
            elif module in modules:
                edges.add(module)
        edges.discard(name)
        graph[name] = edges
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph.get(node, ())):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_the_cycle_finder_finds_a_cycle_through_several_modules():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a", "d"}, "d": set(), "e": {"d"}}
    assert cycles(graph) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_the_graph_sees_imports_inside_functions_and_modules_named_in_from_imports():
    graph = import_graph()
    # `from tracker.services import accounts` at the top of people.py
    assert "tracker.services.accounts" in graph["tracker.services.people"]
    # `from tracker.services import transparency` inside the CLI's verify command
    assert "tracker.services.transparency" in graph["tracker.cli"]
    # `from tracker.domain import ...`, and `from tracker.models import Case` (a package)
    assert {"tracker.domain", "tracker.models"} <= graph["tracker.access"]


def test_no_import_cycle_among_tracker_modules():
    found = cycles(import_graph())
    assert found == [], "modules that import each other, directly or round a loop: " + "; ".join(
        " <-> ".join(component) for component in found
    )


def _flask_imports(name: str, path: Path, is_package: bool) -> set[tuple[str, str | None]]:
    return {
        (module, imported)
        for module, imported in _imports(name, path, is_package)
        if module.split(".")[0] in {"flask", "flask_login", "flask_wtf", "werkzeug"}
        or "flask" in module  # authlib.integrations.flask_client, flask_sqlalchemy, ...
    }


def test_services_never_import_flask_but_the_settings_module():
    offenders = {}
    for name, (path, is_package) in _modules().items():
        if not name.startswith("tracker.services.") or name == SETTINGS_MODULE:
            continue
        if found := _flask_imports(name, path, is_package):
            offenders[name] = found
    assert offenders == {}


def test_the_settings_module_takes_only_current_app_from_flask():
    path, is_package = _modules()[SETTINGS_MODULE]
    assert _flask_imports(SETTINGS_MODULE, path, is_package) == SETTINGS_IMPORTS


def test_models_import_no_service():
    graph = import_graph()
    reaching = {
        name: sorted(target for target in targets if target.startswith("tracker.services"))
        for name, targets in graph.items()
        if name == "tracker.models" or name.startswith("tracker.models.")
    }
    assert {name: found for name, found in reaching.items() if found} == {}


# --- templates never query ----------------------------------------------------------------------

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
    "error_summary",  # the GOV.UK error summary's items, a date's link to its day box
    "evidence_cell",
    "layout_header",  # the GOV.UK header and navigation, rendered once a process for each key
    "layout_part",  # the skip link and footer, likewise
    "loop_summary",
    "page_url",
    "protected_marks",  # reads what the view prepared (protected_sources.views.prepare)
    "sar_overdue",  # a subject access request's due date against today
}
PURE_FILTERS = {"local_time", "long_date", "protect"}  # protect: as protected_marks
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
