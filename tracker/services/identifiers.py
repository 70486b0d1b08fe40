"""The child's identifiers: NHS number and unique pupil number (UPN), checked by their check
characters so a mistyped number is caught where it is entered.

- NHS number: 10 digits, the tenth a modulus 11 check digit (NHS Data Dictionary, "NHS Number"):
  weights 10..2 on the first nine digits, 11 minus the remainder of the sum divided by 11; 11
  means 0 and 10 means the number is not valid.
- UPN: 13 characters, a check letter then 12 digits (or 11 digits and a letter for a temporary
  UPN) (DfE "Unique pupil numbers (UPNs)" guidance; the government data standard for UPN): weights
  2..13 on characters 2..13, sum modulo 23, mapped to A..Z without I, O and S.
"""

from __future__ import annotations

import re

UPN_LETTERS = "ABCDEFGHJKLMNPQRTUVWXYZ"  # 0..22: A to Z without I, O and S


class IdentifierError(ValueError):
    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field


def nhs_check_digit(first_nine: str) -> int | None:
    """The check digit for nine digits, or None when they can have no valid NHS number."""
    total = sum(int(d) * w for d, w in zip(first_nine, range(10, 1, -1), strict=True))
    check = 11 - total % 11
    if check == 11:
        return 0
    return None if check == 10 else check


def normalise_nhs_number(value: str | None, field: str = "nhs_number") -> str | None:
    """Ten digits (spaces and hyphens as people write it are allowed), or None if empty."""
    text = re.sub(r"[\s-]", "", value or "")
    if not text:
        return None
    if not re.fullmatch(r"[0-9]{10}", text):
        raise IdentifierError(field, "Enter an NHS number of 10 digits, like 943 476 5919")
    if nhs_check_digit(text[:9]) != int(text[9]):
        raise IdentifierError(
            field, "Enter a valid NHS number: its check digit does not match (check for a typo)"
        )
    return text


def upn_check_letter(last_twelve: str) -> str:
    """The check letter for a UPN's characters 2 to 13 (a final letter counts as its value)."""
    total = 0
    for weight, char in enumerate(last_twelve, start=2):
        value = int(char) if char in "0123456789" else UPN_LETTERS.index(char)
        total += value * weight
    return UPN_LETTERS[total % 23]


def normalise_upn(value: str | None, field: str = "upn") -> str | None:
    """A permanent (letter + 12 digits) or temporary (letter + 11 digits + letter) UPN."""
    text = re.sub(r"\s", "", value or "").upper()
    if not text:
        return None
    if not re.fullmatch(rf"[{UPN_LETTERS}][0-9]{{11}}[0-9{UPN_LETTERS}]", text):
        raise IdentifierError(
            field,
            "Enter a unique pupil number of 13 characters: a letter then 12 digits (a temporary "
            "one ends in a letter), like B801200005001",
        )
    if upn_check_letter(text[1:]) != text[0]:
        raise IdentifierError(
            field, "Enter a valid unique pupil number: its check letter does not match"
        )
    return text
