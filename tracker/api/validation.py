"""Input for the API: JSON bodies checked against the OpenAPI schemas, then through the same
WTForms form classes the web pages use (so both refuse the same input with the same words),
query filters, and opaque cursors.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Callable, Iterable
from datetime import date, datetime, time, timedelta

from flask import request
from jsonschema import Draft202012Validator
from jsonschema.exceptions import best_match
from werkzeug.datastructures import MultiDict
from wtforms.validators import DataRequired, InputRequired

from tracker import inputs
from tracker.api import openapi
from tracker.api.problems import ApiError, invalid
from tracker.services import workdays

_validators: dict[str, Draft202012Validator] = {}


def _validator(schema_name: str) -> Draft202012Validator:
    if schema_name not in _validators:
        root = {
            "$ref": f"#/components/schemas/{schema_name}",
            "components": {"schemas": openapi.SCHEMAS},
        }
        _validators[schema_name] = Draft202012Validator(root)
    return _validators[schema_name]


def _field_messages(form_class) -> dict[str, dict[str, str]]:
    """The web form's own words for a missing or unknown value, by field name."""
    form = form_class(formdata=None, meta={"csrf": False})
    messages: dict[str, dict[str, str]] = {}
    for name, field in form._fields.items():
        words = {}
        for validator in field.validators:
            if isinstance(validator, (InputRequired, DataRequired)) and validator.message:
                words["required"] = validator.message
        choice = getattr(field, "invalid_choice_message", None) or words.get("required")
        if choice:
            words["enum"] = choice
        if hasattr(field, "label"):
            words["label"] = field.label.text
        messages[name] = words
    # A form's words for fields that are optional alone but not in company (an action's parts).
    for name, words in getattr(form_class, "required_words", dict)().items():
        messages.setdefault(name, {})["required"] = words
    return messages


def _branch_error(error):
    """For an anyOf/oneOf (an optional text: a string or null), the error of the branch the value
    was meant for (a string too long, not "is not valid under any of the given schemas"); the
    error itself when every branch refused the value's type."""
    while error.validator in ("anyOf", "oneOf") and error.context:
        meant = [e for e in error.context if e.validator != "type"]
        if not meant:
            return error
        error = best_match(meant)
    return error


def _kinds(error) -> str:
    """What a type error asked for: "a string", "an integer", "a string or null"."""
    refusals = error.context if error.validator in ("anyOf", "oneOf") else [error]
    kinds = []
    for refusal in refusals:
        value = refusal.validator_value
        kinds += value if isinstance(value, list) else [value]
    return " or ".join(
        "null" if k == "null" else f"{'an' if str(k)[0] in 'aeiou' else 'a'} {k}"
        for k in dict.fromkeys(map(str, kinds))
    )


def _schema_error(error, messages: dict[str, dict[str, str]], aliases: dict[str, str]) -> dict:
    error = _branch_error(error)
    path = [str(p) for p in error.absolute_path]
    if error.validator == "required":
        missing = [p for p in error.validator_value if p not in (error.instance or {})][0]
        path.append(missing)
    if error.validator == "additionalProperties":
        extra = sorted(set(error.instance) - set(error.schema.get("properties", {})))
        field = ".".join([*path, extra[0]])
        return {"field": field, "message": f"{extra[0]} is not a field of this request"}
    field = ".".join(path) or "body"
    names = [name for name, alias in aliases.items() if alias == field] + [field]
    words = next((messages[name] for name in names if name in messages), {})
    if error.validator in ("required", "minLength"):
        message = words.get("required") or f"Enter {field}"
    elif (
        error.validator == "pattern"
        and error.schema.get("minLength")
        and not str(error.instance).strip()
    ):
        message = words.get("required") or f"Enter {field}"  # as for an empty one
    elif error.validator == "pattern":
        message = f"{words.get('label', field)} must not contain control characters"
    elif error.validator == "enum" and "enum" in words:
        message = words["enum"]
    elif error.validator == "enum":
        message = f"{field} must be one of: {', '.join(map(str, error.validator_value))}"
    elif error.validator in ("type", "anyOf", "oneOf"):  # (an anyOf here: no branch's type)
        message = f"{field} must be {_kinds(error)}"
    elif error.validator == "maxLength":
        message = f"{field} must be {error.validator_value} characters or fewer"
    else:
        # Never jsonschema's own words: they quote the whole value sent.
        message = _RULES.get(error.validator, "{field} is not valid").format(
            field=field, value=error.validator_value
        )
    return {"field": field, "message": message}


_RULES = {
    "minimum": "{field} must be {value} or more",
    "maximum": "{field} must be {value} or less",
    "minItems": "{field} must have at least {value} items",
    "maxItems": "{field} must have {value} items or fewer",
    "uniqueItems": "{field} must not name the same item twice",
    "format": "{field} must be a valid {value}",
}


def json_body(schema_name: str, form_class=None, aliases: dict[str, str] | None = None) -> dict:
    """The request's JSON object, valid against its schema, or a 422 naming each bad field."""
    if not request.is_json:
        raise ApiError(415, "Send the request body as application/json")
    body = request.get_json(silent=True)  # None for text that is not JSON (tracker.inputs)
    if body is None and request.get_data():
        raise invalid(
            "body",
            "Send valid JSON: UTF-8 text with no lone surrogates, nested at most "
            f"{inputs.MAX_JSON_DEPTH} levels deep",
        )
    if not isinstance(body, dict):
        raise invalid("body", "Send a JSON object")
    messages = _field_messages(form_class) if form_class else {}
    errors = [
        _schema_error(e, messages, aliases or {})
        for e in sorted(_validator(schema_name).iter_errors(body), key=lambda e: e.path)
    ]
    errors += [
        {"field": name, "message": f"{name} must not contain control characters such as NUL"}
        for name, value in body.items()
        if inputs.holds_unstorable_text(name) or inputs.holds_unstorable_text(value)
    ]
    if errors:
        raise ApiError(422, "The request has invalid fields", _unique(errors))
    return body


def _unique(errors: list[dict]) -> list[dict]:
    seen, result = set(), []
    for error in errors:
        key = (error["field"], error["message"])
        if key not in seen:
            seen.add(key)
            result.append(error)
    return result


def run_form(
    form,
    aliases: dict[str, str] | None = None,
    checks: Iterable[Callable[[], Iterable]] = (),
    found: Iterable[dict] = (),
) -> None:
    """Validate a web form filled from the API's data; refusals keep the form's own words.

    Every problem in one 422, as the web page shows them in one round: the form's own rules, the
    view's `checks` (the service's pure `*_problems()` rules, as passed to validate_on_submit on
    the web), and what was `found` before the form was filled (a value that could not be parsed:
    the form's words about that field, now empty, are left out)."""
    form.validate()
    for check in checks:
        form.add_problems(check())
    aliases = aliases or {}
    errors = list(found)
    already = {error["field"] for error in errors}
    errors += [
        {"field": aliases.get(name, name), "message": message}
        for name, messages in form.errors.items()
        if aliases.get(name, name) not in already
        for message in messages
    ]
    if errors:
        raise problems_error(errors)


def problems_error(errors: list[dict]) -> ApiError:
    return ApiError(422, "The request has invalid fields", _unique(errors))


def service_problems(problems, aliases: dict[str, str] | None = None) -> list[dict]:
    """A service's refusals (ShareError, NoShareError...) as the API's errors, each against its
    API field."""
    return [{"field": (aliases or {}).get(p.field, p.field), "message": str(p)} for p in problems]


def service_error(error, aliases: dict[str, str] | None = None) -> ApiError:
    """A service refusal (ShareError, ChallengeError...) against its API field; every problem of
    the round when the service gives several (`problems`)."""
    problems = getattr(error, "problems", None) or [error]
    if len(problems) == 1:
        return invalid((aliases or {}).get(error.field, error.field), str(error))
    return problems_error(service_problems(problems, aliases))


def form_data(pairs: Iterable[tuple[str, object]]) -> MultiDict:
    """Form data as a browser would post it: strings, lists as repeated keys, None left out."""
    data = MultiDict()
    for key, value in pairs:
        if value is None:
            continue
        for item in value if isinstance(value, list) else [value]:
            data.add(key, item if isinstance(item, str) else json.dumps(item))
    return data


def date_parts(name: str, value: date) -> list[tuple[str, str]]:
    return [(name, str(value.day)), (name, str(value.month)), (name, str(value.year))]


def yes_no(value: bool | None) -> str | None:
    return None if value is None else ("yes" if value else "no")


# RFC 3339's date-time (section 5.6), ASCII digits only: Python's fromisoformat reads far more
# of ISO 8601 (week dates, the basic format, a space for the T, no seconds), which the schema's
# "format: date-time" does not promise.
RFC_3339_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
RFC_3339 = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?([Zz]|[+-][0-9]{2}:[0-9]{2})"
)


def parse_datetime(field: str, value: str) -> datetime:
    """An RFC 3339 date-time with an offset, as a naive UTC datetime."""
    try:
        if not isinstance(value, str) or not RFC_3339.fullmatch(value):
            raise ValueError
        moment = datetime.fromisoformat(value.upper())
        if moment.tzinfo is None:
            raise ValueError
        offset = moment.utcoffset()
        if inputs.date_problem(moment.date()):
            raise ValueError
        return (moment.replace(tzinfo=None) - offset).replace(second=0, microsecond=0)
    except (ValueError, OverflowError, TypeError):
        raise invalid(
            field, "Enter the date and time with a time zone, for example 2026-11-25T14:30:00Z"
        ) from None


def parse_date(field: str, value: str) -> date:
    try:
        if not isinstance(value, str) or not RFC_3339_DATE.fullmatch(value):
            raise ValueError  # fromisoformat would also read "20261125" and "2026-W48-3"
        day = date.fromisoformat(value)
    except (ValueError, TypeError):
        raise invalid(field, "Enter a date as YYYY-MM-DD, for example 2026-11-25") from None
    problem = inputs.date_problem(day)
    if problem:
        raise invalid(field, problem)
    return day


# --- query filters ------------------------------------------------------------------------------


def query_date(name: str) -> date | None:
    value = request.args.get(name)
    return None if value is None else parse_date(name, value)


def day_start(day: date) -> datetime:
    """The start of a local day, as naive UTC (date filters are the partnership's days)."""
    try:
        return workdays.to_utc(datetime.combine(day, time.min))
    except (OverflowError, ValueError):
        raise invalid("date", "Enter a date between the years 1900 and 9998") from None


def day_after(day: date) -> datetime:
    if day >= date(9999, 12, 31):
        return datetime(9999, 12, 31)
    return day_start(day + timedelta(days=1))


def query_bool(name: str) -> bool | None:
    value = request.args.get(name)
    if value is None:
        return None
    if value in ("true", "false"):
        return value == "true"
    raise invalid(name, f"{name} must be true or false")


def query_int(name: str) -> int | None:
    value = request.args.get(name)
    if value is None:
        return None
    try:
        number = inputs.whole_number(value)
    except ValueError:
        number = 0
    if not number:
        raise invalid(name, f"{name} must be a whole number from 1 to {inputs.MAX_ID}")
    return number


def query_choice(name: str, allowed: Iterable[str]) -> str | None:
    value = request.args.get(name)
    allowed = [str(a) for a in allowed]
    if value is None:
        return None
    if value not in allowed:
        raise invalid(name, f"{name} must be one of: {', '.join(allowed)}")
    return value


def limit() -> int:
    value = request.args.get("limit")
    if value is None:
        return openapi.DEFAULT_LIMIT
    if not value.isascii() or not value.isdigit() or not 1 <= int(value) <= openapi.MAX_LIMIT:
        raise invalid("limit", f"limit must be a whole number from 1 to {openapi.MAX_LIMIT}")
    return int(value)


# --- cursors ------------------------------------------------------------------------------------


def encode_cursor(values: list) -> str:
    raw = json.dumps(values, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(parsers: list[Callable[[object], object]]) -> list | None:
    """The cursor's values, each checked by its parser; 422 for a cursor this API did not give."""
    value = request.args.get("cursor")
    if value is None:
        return None
    try:
        raw = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
        values = json.loads(raw)
        if not isinstance(values, list) or len(values) != len(parsers):
            raise ValueError
        return [parse(v) for parse, v in zip(parsers, values, strict=True)]
    except (ValueError, TypeError, binascii.Error, UnicodeDecodeError, OverflowError):
        raise invalid(
            "cursor", "The cursor is not valid: use the next_cursor of the previous page"
        ) from None


def cursor_int(value) -> int:
    if not isinstance(value, int):
        raise ValueError
    return inputs.whole_number(value)


def cursor_datetime(value) -> datetime:
    if not isinstance(value, str):
        raise ValueError
    moment = datetime.fromisoformat(value)
    if inputs.date_problem(moment.date()):
        raise ValueError
    return moment
