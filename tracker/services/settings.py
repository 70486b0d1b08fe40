"""What services need of the running app, without a request: the one module under services/
that imports Flask (tests/test_structure.py holds it to that).

Its configuration (config.py), the registries it keeps (the procedure, the identity providers'
clients) and its URL map (the links in alerts, most raised by the scheduler).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import current_app
from werkzeug.routing import Map


def mapping() -> Mapping[str, Any]:
    return current_app.config


def get(name: str) -> Any:
    return current_app.config[name]


def extension(name: str) -> Any:
    return current_app.extensions[name]


def url_map() -> Map:
    return current_app.url_map
