"""The bounds on what any request may carry, in one place, so no input reaches the database or
the date arithmetic out of range (a 500) however large, far or deep it is.

- whole numbers (ids in URLs, ids and page numbers in query strings and select boxes): 1 to
  MAX_ID, the largest id both databases hold in an integer column;
- dates: years MIN_YEAR to MAX_YEAR, so a day after or a time zone shift never leaves the
  calendar (9999-12-31 + 1 day is an OverflowError);
- JSON: at most MAX_JSON_DEPTH levels of nesting (Python's parser recurses: 100,000 levels is a
  RecursionError), and only text that is valid Unicode (a lone surrogate such as "\\ud800" parses
  but cannot be stored);
- text, in forms and JSON alike: storable, that is valid Unicode without NUL (PostgreSQL's text
  holds no NUL character, so "\x00" in any field or query would be a 500 there, not on SQLite):
  a form refuses it field by field (showing the rest of what was typed again, `storable_text`),
  the JSON parser refuses text that is not Unicode, and the API refuses a NUL against the field
  that holds it;
- a required answer: text that shows nothing (only whitespace and invisible format characters
  such as a zero-width space, `is_blank`) is no answer, in every form and so in the API calls
  that run one (`visible_text`, the filter every form's text goes through).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator
from datetime import date
from typing import Any

from flask import Flask, current_app, request
from flask.json.provider import DefaultJSONProvider
from werkzeug.routing import IntegerConverter, ValidationError

MAX_ID = 2**31 - 1  # ids are 32-bit on both databases
MAX_ID_DIGITS = len(str(MAX_ID))
MIN_YEAR = 1900
MAX_YEAR = 2200
MAX_JSON_DEPTH = 32


def init_app(app: Flask) -> None:
    app.url_map.converters["int"] = IdConverter
    app.json = BoundedJSONProvider(app)


# --- whole numbers ------------------------------------------------------------------------------


def whole_number(value: Any) -> int:
    """A whole number from 0 to MAX_ID, or ValueError (what WTForms' coerce and Werkzeug expect)."""
    if isinstance(value, bool):
        raise ValueError("not a whole number")
    if isinstance(value, int):
        number = value
    else:
        text = str(value).strip()
        if not text.isascii() or not text.isdigit() or len(text) > MAX_ID_DIGITS:
            raise ValueError("not a whole number in range")
        number = int(text)
    if not 0 <= number <= MAX_ID:
        raise ValueError("not a whole number in range")
    return number


class IdConverter(IntegerConverter):
    """Flask's <int:...> with an upper bound: /cases/9223372036854775808 is a 404, never a
    database overflow. Registered in place of the built-in "int" converter."""

    def __init__(self, map, fixed_digits=0, min=None, max=MAX_ID, signed=False):  # noqa: A002
        super().__init__(map, fixed_digits=fixed_digits, min=min, max=max, signed=signed)

    def to_python(self, value: str) -> int:
        if len(value) > MAX_ID_DIGITS:  # before int(): a 5,000-digit number is a ValueError
            raise ValidationError()
        return super().to_python(value)


def id_arg(name: str) -> int | None:
    """A query-string id, or None when it is missing or not an id this app could hold."""
    return id_arg_of(request.args.get(name, ""))


def id_arg_of(text: str) -> int | None:
    """The id written in `text`, or None when it is not an id this app could hold."""
    try:
        number = whole_number(text)
    except ValueError:
        return None
    return number or None


def page_arg(name: str = "page") -> int:
    """A page number from the query string: 1 when missing or out of range."""
    return id_arg(name) or 1


def paginate(query, name: str = "page"):
    """Flask-SQLAlchemy's paginate, PAGE_SIZE a page, with the page number bounded here (its own
    reading of ?page= takes any int, and a page of 2**63 overflows the OFFSET)."""
    from tracker.extensions import db

    return db.paginate(
        query, page=page_arg(name), per_page=current_app.config["PAGE_SIZE"], error_out=False
    )


# --- dates --------------------------------------------------------------------------------------


def date_problem(day: date) -> str | None:
    if not MIN_YEAR <= day.year <= MAX_YEAR:
        return f"Enter a year from {MIN_YEAR} to {MAX_YEAR}"
    return None


# --- text ---------------------------------------------------------------------------------------


def text_problem(text: str) -> str | None:
    """What is wrong with a string no database here can store or compare, as the end of a
    sentence naming the field: a NUL character (refused by PostgreSQL's text type, and a
    control character like those the forms refuse), or a lone surrogate (not Unicode)."""
    if "\x00" in text:
        return "must not contain control characters"
    if not is_unicode(text):
        return "must contain only valid characters"
    return None


def storable_text(text: str) -> str:
    """The text with what `text_problem` refuses taken out (NULs dropped, lone surrogates replaced
    by U+FFFD): what a refused field shows again, so nothing else typed is lost. Only for showing
    back: the field is still refused, so the form is never taken and nothing is saved."""
    text = text.replace("\x00", "")
    if is_unicode(text):
        return text
    return "".join("\ufffd" if "\ud800" <= c <= "\udfff" else c for c in text)


# Default-ignorable characters (drawn as nothing) outside category Cf: the combining grapheme
# joiner, Hangul fillers, Khmer inherent vowels, Mongolian and other variation selectors.
_INVISIBLE = frozenset(
    "\u034f\u115f\u1160\u17b4\u17b5\u180b\u180c\u180d\u180f\u3164\uffa0"
    + "".join(map(chr, range(0xFE00, 0xFE10)))
    + "".join(map(chr, range(0xE0100, 0xE01F0)))
)


def is_blank(text: str) -> bool:
    """Whether the text shows nothing: only whitespace and invisible characters (Unicode format
    characters, category Cf: zero-width space, word joiner, byte order mark, ...; and the other
    default-ignorable ones). To a reader such text is empty, so as a required answer it is
    missing. Text with anything visible keeps them (a ZWJ in an emoji, a ZWNJ in Persian)."""
    return all(c.isspace() or c in _INVISIBLE or unicodedata.category(c) == "Cf" for c in text)


def visible_text(text: str) -> str:
    """The text without surrounding whitespace, or "" when it shows nothing (`is_blank`): how
    every form takes typed text, so "Enter ..." is asked for however the blank was made."""
    text = text.strip()
    return "" if is_blank(text) else text


def is_unicode(text: str) -> bool:
    """False for a string holding a lone surrogate (not Unicode, cannot be stored or sent)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


# --- JSON ---------------------------------------------------------------------------------------

_JSON_STRING = re.compile(r'"(?:[^"\\]|\\.)*"', re.S)
_BRACKETS = re.compile(r"[\[\]{}]")


def json_depth(text: str) -> int:
    """The deepest nesting of arrays and objects, counted without recursion."""
    depth = deepest = 0
    for bracket in _BRACKETS.findall(_JSON_STRING.sub("", text)):
        if bracket in "[{":
            depth += 1
            deepest = max(deepest, depth)
        else:
            depth -= 1
    return deepest


def _strings(value: Any) -> Iterator[str]:
    """Every string in a parsed JSON value, keys included, walked without recursion."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            yield item
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)


def holds_unstorable_text(value: Any) -> bool:
    """Whether a parsed JSON value holds a string no database here can store (a NUL)."""
    return any(text_problem(text) for text in _strings(value))


class BoundedJSONProvider(DefaultJSONProvider):
    """Flask's JSON with a depth limit and valid Unicode only (a NUL, which is Unicode but cannot
    be stored, is refused field by field: api.validation.json_body). A refusal is a ValueError, which
    request.get_json turns into a 400 (or None when silent), as for any malformed JSON."""

    def loads(self, s: str | bytes, **kwargs: Any) -> Any:
        text = s.decode("utf-8") if isinstance(s, bytes | bytearray) else s
        if json_depth(text) > MAX_JSON_DEPTH:
            raise ValueError(f"JSON may be nested at most {MAX_JSON_DEPTH} levels deep")
        value = super().loads(text, **kwargs)
        if not all(is_unicode(item) for item in _strings(value)):
            raise ValueError("JSON text must be valid Unicode (no lone surrogates)")
        return value
