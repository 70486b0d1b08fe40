"""Check characters against published examples (no app or database needed)."""

from __future__ import annotations

import pytest

from tracker.services.identifiers import (
    IdentifierError,
    nhs_check_digit,
    normalise_nhs_number,
    normalise_upn,
    upn_check_letter,
)


@pytest.mark.parametrize(
    ("written", "stored"),
    [
        # NHS Digital's published example number: 9x10+4x9+3x8+4x7+7x6+6x5+5x4+9x3+1x2 = 299,
        # 299 mod 11 = 2, 11 - 2 = 9.
        ("943 476 5919", "9434765919"),
        ("943-476-5919", "9434765919"),
        # 4x10+1x8+2x6+3x5+2x4+1x3+3x2 = 92, 92 mod 11 = 4, 11 - 4 = 7.
        ("401 023 2137", "4010232137"),
    ],
)
def test_valid_nhs_numbers(written, stored):
    assert normalise_nhs_number(written) == stored


def test_the_data_dictionary_steps():
    assert nhs_check_digit("943476591") == 9
    # 11 - remainder 0 = 11 -> 0.
    assert nhs_check_digit("401023213") == 7
    # A remainder of 0 gives 11, which the Data Dictionary says becomes a check digit of 0.
    assert nhs_check_digit("000000000") == 0
    # A remainder of 1 gives 10: no valid NHS number starts with these nine digits.
    assert nhs_check_digit("000000006") is None  # 6x2 = 12


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("9434765918", "check digit does not match"),  # the last digit mistyped
        ("9434765991", "check digit does not match"),  # two digits swapped
        ("0000000060", "check digit does not match"),  # check digit would be 10: never valid
        ("943476591", "10 digits"),
        ("94347659190", "10 digits"),
        ("943476591X", "10 digits"),
        ("٩٤٣٤٧٦٥٩١٩", "10 digits"),  # Arabic-Indic digits are not NHS numbers
    ],
)
def test_invalid_nhs_numbers(value, message):
    with pytest.raises(IdentifierError) as error:
        normalise_nhs_number(value)
    assert message in str(error.value)
    assert error.value.field == "nhs_number"


def test_empty_identifiers_are_none():
    assert normalise_nhs_number("  ") is None
    assert normalise_upn(None) is None


def test_the_upn_worked_examples():
    # B801200005001 (python-stdnum's published valid UPN): 8x2+1x4+2x5+5x10+1x13 = 93,
    # 93 mod 23 = 1 -> B.
    assert upn_check_letter("801200005001") == "B"
    assert normalise_upn("b801200005001") == "B801200005001"
    # The government data standard's rule by hand: 2x2+7x4+1x9+6x10+4x12+9x13 = 266,
    # 266 mod 23 = 13 -> P (the 14th letter once I and O are skipped).
    assert upn_check_letter("207000016049") == "P"
    assert normalise_upn("P207000016049") == "P207000016049"


def test_a_temporary_upn_counts_its_final_letter():
    # The final letter takes its value in the same A..Z-without-I,O,S list (A=0, B=1, ...).
    body = "80120000500A"
    letter = upn_check_letter(body)
    assert normalise_upn(letter + body) == letter + body
    assert upn_check_letter("80120000500B") != letter


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("A801200005001", "check letter does not match"),
        ("Q207000016049", "check letter does not match"),
        ("I801200005001", "13 characters"),  # I is never a check letter
        ("B80120000500", "13 characters"),
        ("B8012000050011", "13 characters"),
        ("X80120000A001", "13 characters"),
        ("B80120000500O", "13 characters"),  # O never ends a temporary UPN
    ],
)
def test_invalid_upns(value, message):
    with pytest.raises(IdentifierError) as error:
        normalise_upn(value)
    assert message in str(error.value)
