"""SMS through Apprise's smseagle:// plugin, against the fake gateway on loopback."""

from __future__ import annotations

import json
import logging
import urllib.request
from typing import Any

import pytest

from anshin.core.checks import configuration
from anshin.core.fake_sms import FakeSmsGateway
from anshin.core.sms import SmsResult, sms_configured, sms_gateway_problem, sms_segments, sms_send

PHONE = "+819012345678"
JAPANESE = "【参集要請】防災安全課：震度6弱。参集可否を回答してください https://a.jp/r/Xy3k9 ①﨑"


def test_accepted_sms_reaches_the_gateway_with_exact_number_and_text(sms_gateway: Any) -> None:
    result = sms_send(phone=PHONE, text="Call-out: reply at https://a.jp/r/Xy3k9")

    assert result == SmsResult(outcome="accepted", detail="HTTP 200")
    assert [(m.to, m.text) for m in sms_gateway.received] == [
        (PHONE, "Call-out: reply at https://a.jp/r/Xy3k9")
    ]


def test_japanese_text_arrives_intact(sms_gateway: Any) -> None:
    assert sms_send(phone=PHONE, text=JAPANESE).outcome == "accepted"

    assert [m.text for m in sms_gateway.received] == [JAPANESE]


def test_number_in_the_configured_url_is_never_messaged(sms_gateway: Any, settings: Any) -> None:
    settings.SMS_URL = sms_gateway.url + "/+819099999999?to=+819088888888"

    assert sms_send(phone=PHONE, text="hello").outcome == "accepted"

    assert [m.to for m in sms_gateway.received] == [PHONE]


@pytest.mark.parametrize("status", [500, 502, 503, 429])
def test_overloaded_gateway_is_temporary(sms_gateway: Any, status: int) -> None:
    sms_gateway.respond_with(status)

    assert sms_send(phone=PHONE, text="hello") == SmsResult("temporary", f"HTTP {status}")
    assert sms_gateway.received == []


@pytest.mark.parametrize("status", [400, 401, 403, 404])
def test_refusing_gateway_is_permanent(sms_gateway: Any, status: int) -> None:
    sms_gateway.respond_with(status)

    assert sms_send(phone=PHONE, text="hello") == SmsResult("permanent", f"HTTP {status}")


def test_gateway_recovers_after_respond_with_200(sms_gateway: Any) -> None:
    sms_gateway.respond_with(503)
    assert sms_send(phone=PHONE, text="first").outcome == "temporary"
    sms_gateway.respond_with(200)

    assert sms_send(phone=PHONE, text="second").outcome == "accepted"
    assert [m.text for m in sms_gateway.received] == ["second"]


def test_wrong_token_refused_in_the_reply_body_is_permanent(
    sms_gateway: Any, settings: Any
) -> None:
    """SMSEagle answers HTTP 200 with an error result for bad credentials."""
    settings.SMS_URL = sms_gateway.url.replace(sms_gateway.token, "wrongtoken")

    result = sms_send(phone=PHONE, text="hello")

    assert result == SmsResult("permanent", "gateway refused the message (HTTP 200)")
    assert sms_gateway.requests == 1
    assert sms_gateway.received == []


def test_gateway_down_is_temporary(settings: Any) -> None:
    gateway = FakeSmsGateway().start()
    settings.SMS_URL = gateway.url
    gateway.stop()  # nothing listens on the port any more

    assert sms_send(phone=PHONE, text="hello") == SmsResult("temporary", "gateway unreachable")


def test_gateway_that_never_answers_is_temporary_after_the_timeout(
    sms_gateway: Any, settings: Any
) -> None:
    settings.SMS_TIMEOUT_SECONDS = 0.3
    sms_gateway.hang()

    assert sms_send(phone=PHONE, text="hello") == SmsResult("temporary", "timeout")
    assert sms_gateway.requests == 1


@pytest.mark.parametrize(
    "phone",
    [
        "09012345678",  # national form
        "819012345678",  # no plus
        "+81 90 1234 5678",
        "+81-90-1234-5678",
        "+８１９０１２３４５６７８",  # full-width digits
        "+0812345678",  # country code cannot start with 0
        "+123456",  # too short
        "+1234567890123456",  # 16 digits
        "+81901234" + "5" * 500,  # very long
        "+819012345678/+819099999999",
        "+819012345678?to=+819099999999",
        "token@evil.example/+819012345678",
        "+819012345678#group",
        "@contact",
        "#group",
        "+819012345678\n",
        "",
    ],
)
def test_hostile_or_malformed_number_is_refused_and_nothing_sent(
    sms_gateway: Any, phone: str
) -> None:
    result = sms_send(phone=phone, text="hello")

    assert result == SmsResult("permanent", "the phone number is not in E.164 form (+81...)")
    assert sms_gateway.requests == 0


def test_number_apprise_would_drop_is_permanent(sms_gateway: Any) -> None:
    """E.164 allows 7 digits; the SMSEagle plugin wants at least 9 and drops the target."""
    result = sms_send(phone="+1234567", text="hello")

    assert result == SmsResult("permanent", "the gateway service does not accept this number")
    assert sms_gateway.requests == 0


def test_text_over_the_limit_is_refused_and_nothing_sent(sms_gateway: Any, settings: Any) -> None:
    settings.SMS_MAX_CHARS = 670

    result = sms_send(phone=PHONE, text="あ" * 10_000)

    assert result == SmsResult("permanent", "the text is longer than 670 characters")
    assert sms_gateway.requests == 0


def test_text_at_the_limit_is_sent_whole_not_split(sms_gateway: Any, settings: Any) -> None:
    settings.SMS_MAX_CHARS = 670
    text = "避" * 670

    assert sms_send(phone=PHONE, text=text).outcome == "accepted"
    assert [m.text for m in sms_gateway.received] == [text]
    assert sms_gateway.requests == 1


@pytest.mark.parametrize("text", ["", "   \n"])
def test_empty_text_is_refused(sms_gateway: Any, text: str) -> None:
    assert sms_send(phone=PHONE, text=text) == SmsResult("permanent", "the text is empty")
    assert sms_gateway.requests == 0


def test_send_without_configuration_is_permanent(settings: Any) -> None:
    settings.SMS_URL = ""

    assert not sms_configured()
    assert sms_send(phone=PHONE, text="hello").outcome == "permanent"


def test_unusable_url_is_permanent_not_an_exception(settings: Any) -> None:
    settings.SMS_URL = "smseagle://@127.0.0.1:9"  # no token

    assert sms_send(phone=PHONE, text="hello") == SmsResult(
        "permanent", "the gateway URL (ANSHIN_SMS_URL) is not usable"
    )


def test_phone_number_never_reaches_the_log(sms_gateway: Any, caplog: Any) -> None:
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="apprise")

    assert sms_send(phone=PHONE, text="hello").outcome == "accepted"
    sms_gateway.respond_with(500)
    assert sms_send(phone=PHONE, text="hello").outcome == "temporary"

    apprise_lines = [r.getMessage() for r in caplog.records if r.name == "apprise"]
    assert any("SMSEagle" in line and "[number]" in line for line in apprise_lines)
    assert "9012345678" not in caplog.text
    assert all("9012345678" not in r.getMessage() for r in caplog.records)


def test_apprise_logs_outside_an_sms_send_pass_unchanged(sms_gateway: Any, caplog: Any) -> None:
    """Other channels (social posts) log ids the SMS filter must leave alone."""
    caplog.set_level(logging.INFO, logger="apprise")
    assert sms_send(phone=PHONE, text="hello").outcome == "accepted"  # the filter is in place

    logging.getLogger("apprise").info("tweet %s posted", "1234567890123")

    assert "tweet 1234567890123 posted" in caplog.text


# --- segments -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "parts"),
    [
        ("", 0),
        ("a", 1),
        ("a" * 160, 1),
        ("a" * 161, 2),
        ("a" * 306, 2),
        ("a" * 307, 3),
        ("{" * 80, 1),  # extension characters count two: 160 septets
        ("{" * 81, 2),
        ("a" * 159 + "€", 2),  # 161 septets
        ("a" * 152 + "^" + "a" * 152, 3),  # the escape pair is not split across parts
        ("a" * 151 + "^" + "a" * 153, 2),
        ("Ça coûte 5€ à Zürich", 1),
        ("あ", 1),
        ("あ" * 70, 1),
        ("あ" * 71, 2),
        ("あ" * 134, 2),
        ("あ" * 135, 3),
        ("a" * 159 + "あ", 3),  # one Japanese character makes the whole text UCS-2
        ("😀" * 35, 1),  # outside the BMP: two units each
        ("😀" * 36, 2),
        ("あ" * 66 + "😀" + "あ" * 66, 3),  # the surrogate pair is not split across parts
        ("あ" * 65 + "😀" + "あ" * 67, 2),
        ("`", 1),  # backtick is not GSM-7: UCS-2, still one part
    ],
)
def test_segments(text: str, parts: int) -> None:
    assert sms_segments(text) == parts


# --- anshin check --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "not a url",
        "nosuchservice://token@host",
        "smseagle://@gateway.example",
        "smseagle://s3cr3tt0ken@gateway.example?priority=bogus",
    ],
)
def test_check_reports_unusable_sms_url_without_its_credentials(settings: Any, url: str) -> None:
    settings.SMS_URL = url

    errors = [m for m in configuration() if m.id == "anshin.E030"]

    assert len(errors) == 1
    assert errors[0].msg.startswith("ANSHIN_SMS_URL is set but cannot be used: ")
    assert "s3cr3tt0ken" not in errors[0].msg
    assert "gateway.example" not in errors[0].msg


def test_check_accepts_a_usable_sms_url(sms_gateway: Any) -> None:
    assert sms_gateway_problem(sms_gateway.url) is None
    assert not [m for m in configuration() if m.id == "anshin.E030"]


def test_check_is_silent_without_sms(settings: Any) -> None:
    settings.SMS_URL = ""

    assert not [m for m in configuration() if m.id == "anshin.E030"]


# --- the fake gateway itself ---------------------------------------------------------------


def _post(gateway: FakeSmsGateway, payload: Any, content_type: str = "application/json") -> Any:
    request = urllib.request.Request(
        f"http://127.0.0.1:{gateway.port}/jsonrpc/sms",
        data=json.dumps(payload).encode(),
        headers={"Content-Type": content_type},
    )
    with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310 (loopback)
        return json.loads(response.read())


@pytest.mark.parametrize(
    "params",
    [
        {"to": "+819012345678"},  # no message
        {"to": "+81 90", "message": "x"},
        {"to": "+819012345678", "message": ""},
        {"to": ["+819012345678"], "message": "x"},
        {"to": "+819012345678", "message": "x", "unicode": "yes"},
    ],
)
def test_fake_gateway_refuses_malformed_requests_like_smseagle(
    sms_gateway: Any, params: dict[str, Any]
) -> None:
    payload = {"method": "sms.send_sms", "params": {"access_token": sms_gateway.token, **params}}

    reply = _post(sms_gateway, payload)

    assert reply == {"result": {"error_text": "Wrong parameters", "status": "error"}}
    assert sms_gateway.received == []
