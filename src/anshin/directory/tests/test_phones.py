"""Japanese phone numbers: what is accepted, its E.164 form and its national format."""

from __future__ import annotations

import pickle

import pytest

from anshin.directory.phones import InvalidPhone, national_format, normalize_phone


@pytest.mark.parametrize(
    ("raw", "e164", "shown"),
    [
        ("090-1234-5678", "+819012345678", "090-1234-5678"),
        ("09012345678", "+819012345678", "090-1234-5678"),
        ("０９０－１２３４－５６７８", "+819012345678", "090-1234-5678"),  # IME full-width
        ("０９０ー１２３４ー５６７８", "+819012345678", "090-1234-5678"),  # long-vowel mark
        ("090\u30001234\u30005678", "+819012345678", "090-1234-5678"),  # ideographic space
        ("070 1234 5678", "+817012345678", "070-1234-5678"),
        ("080−1234−5678", "+818012345678", "080-1234-5678"),  # minus sign
        ("050-1234-5678", "+815012345678", "050-1234-5678"),
        ("03-1234-5678", "+81312345678", "03-1234-5678"),
        ("03(1234)5678", "+81312345678", "03-1234-5678"),
        ("06-6123-4567", "+81661234567", "06-6123-4567"),
        ("042-000-0000", "+81420000000", "042-000-0000"),
        ("042-393-5111", "+81423935111", "042-393-5111"),
        ("+81 90-1234-5678", "+819012345678", "090-1234-5678"),
        ("+81-3-1234-5678", "+81312345678", "03-1234-5678"),
        ("+81 (0)3 1234 5678", "+81312345678", "03-1234-5678"),
        ("＋８１９０１２３４５６７８", "+819012345678", "090-1234-5678"),
        (" 090.1234.5678 ", "+819012345678", "090-1234-5678"),
    ],
)
def test_japanese_numbers_are_stored_in_e164_and_shown_nationally(
    raw: str, e164: str, shown: str
) -> None:
    assert normalize_phone(raw) == e164
    assert national_format(e164) == shown
    assert normalize_phone(shown) == e164  # what is shown imports back to the same number


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ("9012345678", "leading_zero"),  # what Excel does to a numeric column
        ("312345678", "leading_zero"),
        ("+1 212 555 0100", "foreign"),
        ("+44 20 7946 0000", "foreign"),
        ("001-1-212-555-0100", "foreign"),
        ("0120-123-456", "service_number"),
        ("0800-123-4567", "service_number"),
        ("0570-000-123", "service_number"),
        ("0990-123-456", "service_number"),
        ("020-1234-5678", "service_number"),
        ("090-1234-567", "length"),  # one digit short
        ("090-1234-56789", "length"),
        ("03-1234-567", "length"),
        ("110", "length"),
        ("03-1234-5678 内線123", "characters"),
        ("tel:0312345678", "characters"),
        ("03-1234-5678#1", "characters"),
        ("٠٣١٢٣٤٥٦٧٨", "characters"),  # Arabic-Indic digits are not phone digits here
        ("0" * 41, "too_long"),
    ],
)
def test_other_numbers_are_refused_with_a_code(raw: str, code: str) -> None:
    with pytest.raises(InvalidPhone) as refused:
        normalize_phone(raw)
    assert refused.value.code == code


def test_refusal_never_quotes_the_number() -> None:
    with pytest.raises(InvalidPhone) as refused:
        normalize_phone("03-9876-5432 内線7")
    assert "9876" not in str(refused.value) and "9876" not in repr(refused.value.args)
    copy = pickle.loads(pickle.dumps(refused.value))  # noqa: S301 - our own object
    assert copy.code == "characters"


def test_national_format_refuses_a_foreign_number() -> None:
    with pytest.raises(InvalidPhone):
        national_format("+12125550100")
