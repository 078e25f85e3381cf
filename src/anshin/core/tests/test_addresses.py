"""Tests for anshin.core.addresses: what is accepted, what is refused, and why."""

from __future__ import annotations

import pickle
import traceback
import types

import pytest

from anshin.core.addresses import (
    LEGACY_CARRIER_DOMAINS,
    InvalidAddress,
    is_legacy_carrier_domain,
    normalize_address,
)

ACCEPTED = [
    # Japanese carrier legacy local parts.
    ("taro..jiro@docomo.ne.jp", "taro..jiro@docomo.ne.jp"),
    ("taro.@ezweb.ne.jp", "taro.@ezweb.ne.jp"),
    (".taro@docomo.ne.jp", ".taro@docomo.ne.jp"),
    ("..taro...jiro..@softbank.ne.jp", "..taro...jiro..@softbank.ne.jp"),
    ("taro.@i.softbank.jp", "taro.@i.softbank.jp"),
    ("taro..@d.vodafone.ne.jp", "taro..@d.vodafone.ne.jp"),
    (".taro@au.com", ".taro@au.com"),
    ("taro.@dj.pdx.ne.jp", "taro.@dj.pdx.ne.jp"),
    ("taro.@pdx.ne.jp", "taro.@pdx.ne.jp"),
    ("taro..jiro@DoCoMo.NE.JP", "taro..jiro@docomo.ne.jp"),
    ("taro.@docomo.ne.jp.", "taro.@docomo.ne.jp"),
    # Local-part case is kept, domain case is not.
    ("Taro.Yamada@EXAMPLE.JP", "Taro.Yamada@example.jp"),
    # Full-width IME input, including the full-width space around it.
    ("ｔａｒｏ＠ｄｏｃｏｍｏ．ｎｅ．ｊｐ", "taro@docomo.ne.jp"),
    ("\u3000ｔａｒｏ．ｙａｍａｄａ＠ｅｘａｍｐｌｅ．ｊｐ\u3000", "taro.yamada@example.jp"),
    ("taro@example\u3002jp", "taro@example.jp"),
    # Internationalised domains are stored in their ASCII form.
    ("user@例え.jp", "user@xn--r8jz45g.jp"),
    ("user@MÜNCHEN.de", "user@xn--mnchen-3ya.de"),
    ("user@XN--R8JZ45G.JP", "user@xn--r8jz45g.jp"),
    # Ordinary strict addresses.
    ("a+tag@sub.example.co.jp", "a+tag@sub.example.co.jp"),
    ("taro@example.jp.", "taro@example.jp"),
    ("  taro@example.jp \t\r\n", "taro@example.jp"),
    ("a@b.jp", "a@b.jp"),
    ("taro.yamada@example.jp", "taro.yamada@example.jp"),
    ("!#$%&'*+/=?^_`{|}~-@example.jp", "!#$%&'*+/=?^_`{|}~-@example.jp"),
    ("user@123.example.jp", "user@123.example.jp"),
    ("user@a-b.example.jp", "user@a-b.example.jp"),
    ("user@example.xn--wgv71a", "user@example.xn--wgv71a"),
    ("a" * 64 + "@example.jp", "a" * 64 + "@example.jp"),
    ("user@" + "a" * 63 + ".jp", "user@" + "a" * 63 + ".jp"),
]

REFUSED = [
    # The legacy leniency applies to carrier domains only.
    ("taro..jiro@gmail.com", "local_part"),
    ("taro.@example.com", "local_part"),
    (".taro@example.jp", "local_part"),
    ("taro.@docomo.ne.jp.example.com", "local_part"),
    ("taro.@notdocomo.ne.jp", "local_part"),
    ("taro.@sub.docomo.ne.jp", "local_part"),
    # ...and even there the local part needs something besides dots.
    ("...@docomo.ne.jp", "local_part"),
    (".@ezweb.ne.jp", "local_part"),
    # Local part.
    ("@example.jp", "local_part"),
    ("a" * 65 + "@example.jp", "local_part"),
    ("たろう@example.jp", "local_part"),
    ("taro(comment)@example.jp", "local_part"),
    ("a@b@example.jp", "local_part"),
    ("taro,jiro@example.jp", "local_part"),
    ("taro\\jiro@example.jp", "local_part"),
    # Domain.
    ("a@b", "domain"),
    ("a@-b.jp", "domain"),
    ("a@b-.jp", "domain"),
    ("a@b.123", "domain"),
    ("a@127.0.0.1", "domain"),
    ("taro@", "domain"),
    ("taro@.", "domain"),
    ("taro@example..jp", "domain"),
    ("taro@.example.jp", "domain"),
    ("taro@example.jp..", "domain"),
    ("taro@exa_mple.jp", "domain"),
    ("taro@exa!mple.jp", "domain"),
    ("taro@xn--abc-.jp", "domain"),
    ("taro@" + "a" * 64 + ".jp", "domain"),
    ("taro@" + ".".join(["a" * 63] * 4 + ["b" * 44]), "domain"),  # 300-character domain
    # Unsupported forms.
    ('"a b"@example.jp', "quoted"),
    ('"taro"@example.jp', "quoted"),
    ('"a@b"@example.jp', "quoted"),
    ("a@[127.0.0.1]", "ip_literal"),
    ("a@[IPv6:::1]", "ip_literal"),
    ("a@example.jp]", "domain"),
    # Header injection, whitespace and invisible characters.
    ("a\r\nBcc: x@example.jp@example.jp", "control_chars"),
    ("a@exa mple.jp", "control_chars"),
    ("taro@example.jp\nBcc: x@example.jp", "control_chars"),
    ("ta\x00ro@example.jp", "control_chars"),
    ("ta\tro@example.jp", "control_chars"),
    ("taro@exa\u200bmple.jp", "control_chars"),
    ("taro@exa\u2028mple.jp", "control_chars"),
    ("taro\u3000yamada@example.jp", "control_chars"),
    ('"a\r\nb"@example.jp', "control_chars"),
    # Shape and size.
    ("", "empty"),
    ("   \u3000\t", "empty"),
    ("taro.example.jp", "no_at"),
    ("x" * 10_000, "too_long"),
    (" " * 1_001, "too_long"),
    ("a" * 64 + "@" + ".".join(["b" * 63, "c" * 63, "d" * 62]), "too_long"),
]


@pytest.mark.parametrize(("raw", "expected"), ACCEPTED)
def test_accepted_addresses_normalise_to_canonical_form(raw: str, expected: str) -> None:
    assert normalize_address(raw) == expected


@pytest.mark.parametrize(("raw", "expected"), ACCEPTED)
def test_normalisation_is_idempotent(raw: str, expected: str) -> None:
    assert normalize_address(normalize_address(raw)) == expected


@pytest.mark.parametrize(("raw", "code"), REFUSED)
def test_refused_addresses_raise_with_reason_code(raw: str, code: str) -> None:
    with pytest.raises(InvalidAddress) as excinfo:
        normalize_address(raw)
    assert excinfo.value.code == code


@pytest.mark.parametrize(("raw", "code"), REFUSED)
def test_invalid_address_is_a_value_error(raw: str, code: str) -> None:
    with pytest.raises(ValueError):
        normalize_address(raw)


@pytest.mark.parametrize("raw", [raw for raw, _ in REFUSED if raw.strip()])
def test_error_message_never_contains_the_address(raw: str) -> None:
    with pytest.raises(InvalidAddress) as excinfo:
        normalize_address(raw)
    rendered = [str(excinfo.value), repr(excinfo.value), *map(str, excinfo.value.args)]
    for text in rendered:
        assert raw not in text
        assert raw.strip() not in text


def test_error_traceback_never_contains_address_parts() -> None:
    secret_local = "yamada.hanako.secret"
    cases = [
        secret_local + "..@gmail-secret.example.com",  # strict local part
        secret_local + "@" + "\u00fc" * 70 + ".secret.jp",  # IDNA failure
        secret_local + "@secret-host.xn--abc-",  # bad punycode
    ]
    for raw in cases:
        with pytest.raises(InvalidAddress) as excinfo:
            normalize_address(raw)
        assert excinfo.value.__context__ is None
        assert excinfo.value.__cause__ is None
        rendered = "".join(traceback.format_exception(excinfo.value))
        assert secret_local not in rendered
        assert "secret" not in str(excinfo.value)


def test_invalid_address_survives_pickling() -> None:
    error = InvalidAddress("domain")
    restored = pickle.loads(pickle.dumps(error))  # noqa: S301 - our own object
    assert isinstance(restored, InvalidAddress)
    assert restored.code == "domain"
    assert str(restored) == str(error)


def test_unknown_error_code_is_a_programming_error() -> None:
    with pytest.raises(KeyError):
        InvalidAddress("no_such_code")


def test_hostile_input_is_refused_before_normalisation(monkeypatch: pytest.MonkeyPatch) -> None:
    import anshin.core.addresses as addresses

    def fail(*args: object) -> str:
        raise AssertionError("NFKC must not run on oversized input")

    # Replace the module's reference only: pytest itself uses unicodedata.
    monkeypatch.setattr(addresses, "unicodedata", types.SimpleNamespace(normalize=fail))
    with pytest.raises(InvalidAddress) as excinfo:
        normalize_address("\uff41" * 1_001)
    assert excinfo.value.code == "too_long"


@pytest.mark.parametrize("domain", sorted(LEGACY_CARRIER_DOMAINS))
def test_every_legacy_carrier_domain_accepts_legacy_dots(domain: str) -> None:
    assert normalize_address(f".taro..jiro.@{domain}") == f".taro..jiro.@{domain}"


@pytest.mark.parametrize(
    ("domain", "expected"),
    [
        ("docomo.ne.jp", True),
        ("wm.pdx.ne.jp", True),
        ("a.b.pdx.ne.jp", True),
        ("xpdx.ne.jp", False),
        ("pdx.ne.jp.example.com", False),
        ("gmail.com", False),
        ("mail.docomo.ne.jp", False),
    ],
)
def test_legacy_carrier_domain_detection(domain: str, expected: bool) -> None:
    assert is_legacy_carrier_domain(domain) is expected


def test_legacy_carrier_domains_are_canonical() -> None:
    for domain in LEGACY_CARRIER_DOMAINS:
        assert normalize_address(f"x@{domain}") == f"x@{domain}"
