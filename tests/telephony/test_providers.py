"""The provider interface: Twilio's request signature, and TwilioBridge against the fake provider
over real HTTP (never mocked in-process)."""

import socket

import pytest

from ringround.telephony.fake import FakeProvider
from ringround.telephony.providers import (
    Dial,
    OwnPhone,
    ProviderError,
    TwilioBridge,
    check_base_url,
    request_signature,
    signatures_match,
)
from ringround.telephony.twiml import pause, response, say
from tests.telephony.conftest import ACCOUNT_SID, AUTH_TOKEN

VOLUNTEER = "+441134900001"
CONTACT = "+441134900123"
CAMPAIGN = "+441632960000"

# Twilio's own published example (twilio-python's request-validator tests).
TWILIO_URL = "https://mycompany.com/myapp.php?foo=1&bar=2"
TWILIO_PARAMS = {
    "CallSid": "CA1234567890ABCDE",
    "Digits": "1234",
    "From": "+14158675309",
    "To": "+18005551212",
    "Caller": "+14158675309",
}


def bridge_for(fake, token=AUTH_TOKEN, **kwargs) -> TwilioBridge:
    return TwilioBridge(fake.base_url, fake.account_sid, token, **kwargs)


def a_dial(app, to=CONTACT, **kwargs) -> Dial:
    return Dial(
        to=to,
        caller_id=CAMPAIGN,
        answer_url=app.url("/answer"),
        status_url=app.url("/status"),
        **kwargs,
    )


# -- the signature ---------------------------------------------------------------------------------


def test_request_signature_matches_twilios_published_example():
    assert request_signature("12345", TWILIO_URL, TWILIO_PARAMS) == "RSOYDt4T1cUTdK1PDd93/VVr8B8="


def test_request_signature_of_a_repeated_parameter_matches_twilios_example():
    params = {"Sid": "CA123", "SidAccount": "AC123", "Digits": ["5678", "1234"]}
    assert request_signature("12345", TWILIO_URL, params) == "IK+Dwps556ElfBT0I3Rgjkr1wJU="


def test_request_signature_reads_every_value_of_a_django_querydict():
    from django.http import QueryDict  # Django's request.POST, as the app's callback views pass

    post = QueryDict("Sid=CA123&SidAccount=AC123&Digits=5678&Digits=1234")
    assert request_signature("12345", TWILIO_URL, post) == "IK+Dwps556ElfBT0I3Rgjkr1wJU="


def test_a_value_smuggled_in_by_repeating_a_parameter_breaks_the_signature():
    from django.http import QueryDict

    signed = request_signature("12345", TWILIO_URL, {"CallSid": "CA1", "Digits": "1"})
    bridge = TwilioBridge("http://127.0.0.1:9", ACCOUNT_SID, "12345")
    assert bridge.is_signed(TWILIO_URL, QueryDict("CallSid=CA1&Digits=1"), signed)
    assert not bridge.is_signed(TWILIO_URL, QueryDict("CallSid=CA1&Digits=2&Digits=1"), signed)


def test_request_signature_changes_with_token_url_or_any_parameter():
    original = request_signature("12345", TWILIO_URL, TWILIO_PARAMS)
    assert request_signature("12346", TWILIO_URL, TWILIO_PARAMS) != original
    assert request_signature("12345", TWILIO_URL + "&baz=3", TWILIO_PARAMS) != original
    assert request_signature("12345", TWILIO_URL, {**TWILIO_PARAMS, "Digits": "1235"}) != original
    assert request_signature("12345", TWILIO_URL, {**TWILIO_PARAMS, "Extra": ""}) != original


def test_signatures_match_only_equal_strings():
    assert signatures_match("abc=", "abc=")
    assert not signatures_match("abc=", "abd=")
    assert not signatures_match("abc=", "")
    assert not signatures_match("", None)


def test_is_signed_accepts_the_url_with_or_without_its_default_port():
    bridge = TwilioBridge("http://127.0.0.1:9", ACCOUNT_SID, "12345")
    assert bridge.is_signed(TWILIO_URL, TWILIO_PARAMS, "RSOYDt4T1cUTdK1PDd93/VVr8B8=")
    with_port = TWILIO_URL.replace(".com", ".com:443")
    assert bridge.is_signed(with_port, TWILIO_PARAMS, "RSOYDt4T1cUTdK1PDd93/VVr8B8=")
    assert not bridge.is_signed(TWILIO_URL, TWILIO_PARAMS, "")
    assert not bridge.is_signed(
        TWILIO_URL, {**TWILIO_PARAMS, "To": "+1"}, "RSOYDt4T1cUTdK1PDd93/VVr8B8="
    )


# -- Dial and OwnPhone ----------------------------------------------------------------------------


def test_a_dial_must_ring_for_at_least_fifteen_seconds():
    with pytest.raises(ValueError, match="at least 15 seconds"):
        Dial(CONTACT, CAMPAIGN, "https://a/answer", "https://a/status", ring_seconds=14)
    assert Dial(CONTACT, CAMPAIGN, "https://a/a", "https://a/s", ring_seconds=15).ring_seconds == 15


def test_own_phone_places_no_calls_and_trusts_no_callback():
    own = OwnPhone()
    assert own.name == "own_phone"
    dial = Dial(CONTACT, CAMPAIGN, "https://a/answer", "https://a/status")
    for attempt in (
        lambda: own.place_call(dial),
        lambda: own.redirect("CA1", "u"),
        lambda: own.hang_up("CA1"),
    ):
        with pytest.raises(ProviderError, match="own phone places no calls"):
            attempt()
    assert own.is_signed(TWILIO_URL, TWILIO_PARAMS, "RSOYDt4T1cUTdK1PDd93/VVr8B8=") is False


# -- TwilioBridge against the fake over HTTP ------------------------------------------------------


def test_place_call_sends_twilios_parameters_and_returns_the_call_sid(fake, app):
    bridge = bridge_for(fake)
    assert bridge.name == "bridge"
    sid = bridge.place_call(a_dial(app, ring_seconds=20, detect_machine=True))

    assert sid.startswith("CA") and len(sid) == 34
    sent = [r for r in fake.requests if r["direction"] == "in"][-1]
    assert sent["url"] == f"/2010-04-01/Accounts/{ACCOUNT_SID}/Calls.json"
    params = sent["params"]
    assert params["To"] == CONTACT and params["From"] == CAMPAIGN
    assert params["Url"] == app.url("/answer") and params["StatusCallback"] == app.url("/status")
    assert params["StatusCallbackEvent"] == ["initiated", "ringing", "answered", "completed"]
    assert params["Timeout"] == "20" and params["MachineDetection"] == "Enable"
    call = fake.call(sid)
    assert (call.to, call.from_, call.timeout, call.detect_machine) == (CONTACT, CAMPAIGN, 20, True)


def test_place_call_without_machine_detection_does_not_ask_for_it(fake, app):
    bridge_for(fake).place_call(a_dial(app))
    params = [r for r in fake.requests if r["direction"] == "in"][-1]["params"]
    assert "MachineDetection" not in params and params["Timeout"] == "30"


def test_redirect_makes_the_live_call_fetch_new_twiml(fake, app):
    app.answer("/answer", response(say("Hello there"), pause(60)))
    app.answer("/goodbye", response(say("Goodbye now")))
    bridge = bridge_for(fake)
    sid = bridge.place_call(a_dial(app))
    fake.advance(6)  # answered after 5 s of ringing, "Hello there" said

    bridge.redirect(sid, app.url("/goodbye"))
    fake.advance(0)

    assert [text for _, text in fake.call(sid).said] == ["Hello there", "Goodbye now"]
    assert app.posts_to("/goodbye")[0]["CallSid"] == sid
    fake.advance(1)  # "Goodbye now" lasts 0.8 s; then the TwiML has run out: the call hangs up
    assert fake.call(sid).status == "completed" and fake.call(sid).duration == 1


def test_hang_up_ends_the_call_with_its_duration(fake, app):
    app.answer("/answer", response(say("Hello"), *[say("Still here")] * 30))
    bridge = bridge_for(fake)
    sid = bridge.place_call(a_dial(app))
    fake.advance(5 + 12)

    bridge.hang_up(sid)
    fake.advance(0)

    call = fake.call(sid)
    assert call.status == "completed" and call.duration == 12
    assert app.posts_to("/status")[-1]["CallStatus"] == "completed"
    assert app.posts_to("/status")[-1]["CallDuration"] == "12"


def test_hanging_up_a_ringing_call_cancels_it(fake, app):
    bridge = bridge_for(fake)
    sid = bridge.place_call(a_dial(app))
    fake.advance(2)
    bridge.hang_up(sid)
    fake.advance(10)
    assert fake.call(sid).status == "canceled" and fake.call(sid).answered_at is None
    assert not app.posts_to("/answer")


def test_wrong_credentials_are_refused(fake, app):
    with pytest.raises(ProviderError, match="refused \\(401\\): 20003") as refused:
        bridge_for(fake, token="not-the-token").place_call(a_dial(app))
    assert refused.value.status == 401 and refused.value.code == 20003
    assert fake.calls == []


def test_an_invalid_number_is_refused_with_twilios_code(fake, app):
    with pytest.raises(ProviderError, match="21211") as refused:
        bridge_for(fake).place_call(a_dial(app, to="0113 496 0123"))
    assert refused.value.code == 21211 and refused.value.status == 400
    assert fake.calls == []


def test_redirecting_an_unknown_or_malformed_call_is_an_error(fake, app):
    bridge = bridge_for(fake)
    with pytest.raises(ProviderError, match="20404") as missing:
        bridge.redirect("CA" + "f" * 32, app.url("/x"))
    assert missing.value.status == 404
    with pytest.raises(ProviderError, match="not a call id"):
        bridge.hang_up("../../Accounts")


def test_redirecting_an_ended_call_is_refused(fake, app):
    bridge = bridge_for(fake)
    sid = bridge.place_call(a_dial(app))
    bridge.hang_up(sid)
    fake.advance(0)
    with pytest.raises(ProviderError, match="21220"):
        bridge.redirect(sid, app.url("/answer"))


def test_an_unreachable_provider_is_a_provider_error():
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    bridge = TwilioBridge(f"http://127.0.0.1:{port}", ACCOUNT_SID, AUTH_TOKEN, timeout=0.5)
    with pytest.raises(ProviderError, match="could not be reached"):
        bridge.place_call(Dial(CONTACT, CAMPAIGN, "http://a/answer", "http://a/status"))


def test_a_provider_that_never_answers_times_out():
    with socket.socket() as silent:  # accepts connections (backlog) but never replies
        silent.bind(("127.0.0.1", 0))
        silent.listen(1)
        port = silent.getsockname()[1]
        bridge = TwilioBridge(f"http://127.0.0.1:{port}", ACCOUNT_SID, AUTH_TOKEN, timeout=0.2)
        with pytest.raises(ProviderError, match="did not answer in 0.2 s"):
            bridge.hang_up("CA" + "0" * 32)


def test_a_provider_answering_with_garbage_is_a_provider_error(receiver):
    receiver.answer(f"/2010-04-01/Accounts/{ACCOUNT_SID}/Calls.json", "<html>oops</html>")
    bridge = TwilioBridge(receiver.base_url, ACCOUNT_SID, AUTH_TOKEN, timeout=2)
    with pytest.raises(ProviderError, match="not JSON"):
        bridge.place_call(Dial(CONTACT, CAMPAIGN, "http://a/answer", "http://a/status"))


# -- signatures on the fake's callbacks -----------------------------------------------------------


def test_the_fakes_callbacks_verify_and_a_changed_parameter_or_url_does_not(fake, app):
    app.answer("/answer", response(say("Hello")))
    bridge = bridge_for(fake)
    sid = bridge.place_call(a_dial(app))
    fake.advance(30)

    assert len(app.received) >= 5  # four status callbacks and the answer fetch
    for request in app.received:
        assert bridge.is_signed(request["url"], request["params"], request["signature"])
    request = app.received[0]
    changed = {**request["params"], "To": "+441134900999"}
    assert not bridge.is_signed(request["url"], changed, request["signature"])
    assert not bridge.is_signed(request["url"] + "?x=1", request["params"], request["signature"])
    assert not bridge_for(fake, token="other").is_signed(
        request["url"], request["params"], request["signature"]
    )
    assert app.received[0]["params"]["CallSid"] == sid


def test_callbacks_over_real_http_carry_the_signature_header(fake_over_http, receiver):
    receiver.answer("/answer", response(say("Hello from the fake")))
    bridge = bridge_for(fake_over_http)
    sid = bridge.place_call(
        Dial(CONTACT, CAMPAIGN, receiver.url("/answer"), receiver.url("/status?campaign=7"))
    )
    fake_over_http.advance(10)

    statuses = receiver.posts_to("/status?campaign=7")
    # answered at 5 s; four words take 1.6 s; then the TwiML runs out and the call hangs up
    assert [p["CallStatus"] for p in statuses] == [
        "initiated",
        "ringing",
        "in-progress",
        "completed",
    ]
    assert statuses[-1]["CallDuration"] == "1"
    for request in receiver.received:
        assert request["signature"]
        assert bridge.is_signed(request["url"], request["params"], request["signature"])
    assert fake_over_http.call(sid).said == [(0.0, "Hello from the fake")]


def test_a_second_fake_with_another_token_is_not_trusted(app):
    with FakeProvider(ACCOUNT_SID, "another-token", deliver=app) as other:
        app.answer("/answer", response(say("Hi")))
        TwilioBridge(other.base_url, ACCOUNT_SID, "another-token").place_call(a_dial(app))
        other.advance(1)
    request = app.received[0]
    ours = TwilioBridge("http://127.0.0.1:9", ACCOUNT_SID, AUTH_TOKEN)
    assert not ours.is_signed(request["url"], request["params"], request["signature"])


def test_a_refusal_never_quotes_the_number_dialled(fake, app):
    number = "+4477009001234567"  # too long for E.164: Twilio's message quotes it back
    with pytest.raises(ProviderError) as refused:
        bridge_for(fake).place_call(a_dial(app, to=number))
    assert str(refused.value) == "the provider refused (400): 21211 invalid To"
    assert number in refused.value.detail  # kept for whoever debugs, never shown


def test_an_unknown_refusal_is_shown_with_its_numbers_scrubbed(receiver):
    path = f"/2010-04-01/Accounts/{ACCOUNT_SID}/Calls.json"
    message = '{"code": 29999, "message": "Cannot call +44 7700 900123 from (020) 7946-0999 now"}'
    receiver.answer(path, (503, message))
    bridge = TwilioBridge(receiver.base_url, ACCOUNT_SID, AUTH_TOKEN, timeout=2)
    with pytest.raises(ProviderError) as refused:
        bridge.place_call(Dial(CONTACT, CAMPAIGN, "http://a/answer", "http://a/status"))
    assert (
        str(refused.value)
        == "the provider refused (503): 29999 Cannot call [number] from [number] now"
    )
    assert refused.value.code == 29999 and refused.value.status == 503


# -- a hostile or mistaken provider address -------------------------------------------------------


@pytest.mark.parametrize(
    "url, problem",
    [
        ("http://api.example.com", "must use https"),
        ("ftp://api.example.com", "must be a web address"),
        ("api.twilio.com", "must be a web address"),
        ("https://user:secret@api.example.com", "must not carry a password"),
        ("https://api.example.com/?x=1", "must not carry a password, query"),
    ],
)
def test_the_token_only_travels_over_https_or_to_this_machine(url, problem):
    with pytest.raises(ValueError, match=problem):
        check_base_url(url)
    with pytest.raises(ProviderError, match=problem):
        TwilioBridge(url, ACCOUNT_SID, AUTH_TOKEN).hang_up("CA" + "0" * 32)


def test_safe_provider_addresses_are_accepted():
    assert check_base_url("https://api.twilio.com/") == "https://api.twilio.com"
    assert check_base_url("http://127.0.0.1:8765") == "http://127.0.0.1:8765"
    assert check_base_url("http://localhost:8765") == "http://localhost:8765"


def test_a_redirect_is_not_followed_so_the_token_goes_nowhere_else(receiver):
    path = f"/2010-04-01/Accounts/{ACCOUNT_SID}/Calls.json"
    receiver.answer(path, (302, "", {"Location": receiver.url("/stolen")}))
    bridge = TwilioBridge(receiver.base_url, ACCOUNT_SID, AUTH_TOKEN, timeout=2)
    with pytest.raises(ProviderError, match="refused \\(302\\)"):
        bridge.place_call(Dial(CONTACT, CAMPAIGN, "http://a/answer", "http://a/status"))
    assert [r for r in receiver.received if r["path"] == "/stolen"] == []


def test_an_endless_answer_is_cut_short(receiver):
    path = f"/2010-04-01/Accounts/{ACCOUNT_SID}/Calls.json"
    receiver.answer(path, '{"sid": "' + "x" * 2_000_000 + '"}')
    bridge = TwilioBridge(receiver.base_url, ACCOUNT_SID, AUTH_TOKEN, timeout=5)
    with pytest.raises(ProviderError, match="far more than"):
        bridge.place_call(Dial(CONTACT, CAMPAIGN, "http://a/answer", "http://a/status"))
