"""Refusals the rules raise, in the domain's words; tracker/errors.py turns them into responses.

Access rules (tracker/access.py) and services raise these without knowing about HTTP: the app maps
NotFound to 404 and Forbidden to 403 in one place, for pages and for the API alike.
"""

from __future__ import annotations


class Refused(Exception):
    """The person may not do or see this."""


class NotFound(Refused):
    """No such record, or one the person may not know exists (a case outside their agency)."""


class Forbidden(Refused):
    """The person's role does not allow this, whatever the record."""
