"""The local fake provider: a call's life on the simulated clock, and the TwiML it interprets, driven
through TwilioBridge over real HTTP as the app will drive it."""

import base64
import json
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

import pytest

from ringround.telephony.fake import Behaviour, FakeProvider
from ringround.telephony.providers import Dial, TwilioBridge
from ringround.telephony.twiml import (
    conference,
    dial,
    element,
    gather,
    hangup,
    number,
    pause,
    play,
    record,
    redirect,
    response,
    say,
)
from tests.telephony.conftest import ACCOUNT_SID, AUTH_TOKEN

VOLUNTEER = "+441134900001"
CONTACT = "+441134900123"
OTHER = "+441134900456"
CAMPAIGN = "+441632960000"


def bridge_for(fake) -> TwilioBridge:
    return TwilioBridge(fake.base_url, fake.account_sid, AUTH_TOKEN)


def ring(fake, app, to, answer="/answer", status="/status", **kwargs) -> str:
    dial_ = Dial(to, CAMPAIGN, app.url(answer), app.url(status), **kwargs)
    return bridge_for(fake).place_call(dial_)


def statuses(app, sid, path="/status"):
    return [p["CallStatus"] for p in app.posts_to(path) if p["CallSid"] == sid]


# -- a call's life ---------------------------------------------------------------------------------


def test_nothing_happens_until_the_clock_moves(fake, app):
    sid = ring(fake, app, CONTACT)
    assert fake.call(sid).status == "queued" and app.received == []
    fake.advance(0)
    assert statuses(app, sid) == ["initiated", "ringing"]


def test_an_answered_call_reports_each_status_then_fetches_its_twiml(fake, app):
    fake.behave(CONTACT, Behaviour("human", ring_seconds=7, talk_seconds=20))
    app.answer("/answer", response(say("Hello"), pause(60)))
    sid = ring(fake, app, CONTACT)

    fake.advance(6.9)
    assert statuses(app, sid) == ["initiated", "ringing"]
    fake.advance(0.1)
    assert statuses(app, sid) == ["initiated", "ringing", "in-progress"]
    answer = app.posts_to("/answer")[0]
    assert answer["CallSid"] == sid and answer["AccountSid"] == ACCOUNT_SID
    assert (answer["From"], answer["To"], answer["Direction"]) == (
        CAMPAIGN,
        CONTACT,
        "outbound-api",
    )
    assert answer["CallStatus"] == "in-progress" and "AnsweredBy" not in answer

    fake.advance(20)  # the contact hangs up after 20 s of talk
    completed = app.posts_to("/status")[-1]
    assert completed["CallStatus"] == "completed" and completed["CallDuration"] == "20"
    assert [p["SequenceNumber"] for p in app.posts_to("/status")] == ["0", "1", "2", "3"]
    assert completed["Timestamp"].endswith("+0000")
    call = fake.call(sid)
    assert (call.answered_at, call.ended_at, call.duration) == (7, 27, 20)


@pytest.mark.parametrize(
    "behaviour, final, at",
    [
        (Behaviour("busy", ring_seconds=4), "busy", 4),
        (Behaviour("no-answer"), "no-answer", 30),
        (Behaviour("human", ring_seconds=45), "no-answer", 30),  # rings longer than Timeout
        (Behaviour("failed"), "failed", 0),
    ],
)
def test_calls_that_are_not_answered_end_with_twilios_status(fake, app, behaviour, final, at):
    fake.behave(CONTACT, behaviour)
    sid = ring(fake, app, CONTACT, ring_seconds=30)
    fake.advance(100)
    call = fake.call(sid)
    assert (call.status, call.ended_at, call.duration) == (final, at, 0)
    assert statuses(app, sid)[-1] == final
    assert app.posts_to("/status")[-1]["CallDuration"] == "0"
    assert app.posts_to("/answer") == []


def test_a_behaviour_set_after_placing_but_before_ringing_applies(fake, app):
    sid = ring(fake, app, CONTACT)
    fake.behave(CONTACT, Behaviour("busy", ring_seconds=1))
    fake.advance(2)
    assert fake.call(sid).status == "busy"


def test_a_failed_call_never_rings(fake, app):
    fake.behave(CONTACT, Behaviour("failed"))
    sid = ring(fake, app, CONTACT)
    fake.advance(1)
    assert statuses(app, sid) == ["initiated", "failed"]


def test_machine_detection_reports_who_answered(fake, app):
    fake.behave(CONTACT, Behaviour("machine", ring_seconds=10, talk_seconds=30))
    fake.behave(OTHER, Behaviour("human", ring_seconds=3))
    app.answer("/answer", response(hangup()))
    machine = ring(fake, app, CONTACT, detect_machine=True)
    human = ring(fake, app, OTHER, detect_machine=True)
    fake.advance(11)
    answers = {p["CallSid"]: p for p in app.posts_to("/answer")}
    assert answers[machine]["AnsweredBy"] == "machine_start"
    assert answers[human]["AnsweredBy"] == "human"
    assert fake.call(machine).answered_by == "machine_start"


def test_a_machine_without_detection_is_just_answered(fake, app):
    fake.behave(CONTACT, Behaviour("machine", ring_seconds=10))
    app.answer("/answer", response(hangup()))
    sid = ring(fake, app, CONTACT)
    fake.advance(11)
    assert "AnsweredBy" not in app.posts_to("/answer")[0]
    assert fake.call(sid).status == "completed"


def test_machine_detection_can_take_time_before_the_twiml_is_fetched(app):
    with FakeProvider(ACCOUNT_SID, AUTH_TOKEN, deliver=app, detect_seconds=3.5) as slow:
        slow.behave(CONTACT, Behaviour("human", ring_seconds=5))
        app.answer("/answer", response(say("Hello")))
        sid = ring(slow, app, CONTACT, detect_machine=True)
        slow.advance(8)
        assert app.posts_to("/answer") == []
        slow.advance(0.5)
        assert slow.call(sid).said == [(3.5, "Hello")]


def test_say_records_its_text_and_when_it_began_after_the_answer(fake, app):
    fake.behave(CONTACT, Behaviour("human", ring_seconds=5, talk_seconds=None))
    app.answer(
        "/answer",
        response(
            say("This is a call from the Green Party."),  # 8 words: 3.2 s
            pause(2),
            say("Goodbye."),
            play("https://example.test/tune.mp3"),
        ),
    )
    sid = ring(fake, app, CONTACT)
    fake.advance(60)
    call = fake.call(sid)
    assert call.said == [(0.0, "This is a call from the Green Party."), (5.2, "Goodbye.")]
    assert call.played == [(5.7, "https://example.test/tune.mp3")]
    assert call.status == "completed" and call.ended_at == pytest.approx(5 + 10.7)


def test_hangup_ends_the_call_at_once(fake, app):
    app.answer("/answer", response(hangup(), say("never said")))
    sid = ring(fake, app, CONTACT)
    fake.advance(6)
    assert fake.call(sid).said == [] and fake.call(sid).status == "completed"
    assert fake.call(sid).ended_at == 5


def test_redirect_verb_fetches_the_next_document(fake, app):
    app.answer("/answer", response(say("one"), redirect("/next")))
    app.answer("/next", response(say("two")))
    sid = ring(fake, app, CONTACT)
    fake.advance(10)
    assert [t for _, t in fake.call(sid).said] == ["one", "two"]
    assert app.posts_to("/next")[0]["CallSid"] == sid


def test_an_unknown_verb_fails_the_call_with_an_error(fake, app):
    app.answer("/answer", response(say("hi"), element("Dance", "wildly")))
    sid = ring(fake, app, CONTACT)
    fake.advance(10)
    call = fake.call(sid)
    assert call.status == "failed" and "unknown verb <Dance>" in call.errors[0]
    assert statuses(app, sid)[-1] == "failed"


@pytest.mark.parametrize(
    "reply, error",
    [((500, "boom"), "11200"), ((200, "<Response><Say>"), "12100"), ((200, "<html/>"), "12100")],
)
def test_a_broken_twiml_answer_fails_the_call(fake, app, reply, error):
    app.answer("/answer", reply)
    sid = ring(fake, app, CONTACT)
    fake.advance(10)
    assert fake.call(sid).status == "failed" and fake.call(sid).errors[0].startswith(error)


def test_a_redirect_loop_fails_instead_of_spinning(fake, app):
    app.answer("/answer", response(redirect("/answer")))
    sid = ring(fake, app, CONTACT)
    fake.advance(10)
    assert fake.call(sid).status == "failed" and "redirect loop" in fake.call(sid).errors[0]


def test_the_call_resource_can_be_fetched(fake, app):
    sid = ring(fake, app, CONTACT)
    fake.advance(40)
    request = urllib.request.Request(
        f"{fake.base_url}/2010-04-01/Accounts/{ACCOUNT_SID}/Calls/{sid}.json"
    )
    token = base64.b64encode(f"{ACCOUNT_SID}:{AUTH_TOKEN}".encode()).decode()
    request.add_header("Authorization", f"Basic {token}")
    with urllib.request.urlopen(request, timeout=2) as answer:
        resource = json.loads(answer.read())
    assert resource["sid"] == sid and resource["to"] == CONTACT and resource["from"] == CAMPAIGN
    assert resource["direction"] == "outbound-api"


# -- Dial: a bridge to another number --------------------------------------------------------------


def test_dial_number_bridges_with_the_callerid_so_neither_sees_the_other(fake, app):
    fake.behave(VOLUNTEER, Behaviour("human", ring_seconds=3, talk_seconds=None))
    fake.behave(CONTACT, Behaviour("human", ring_seconds=6, talk_seconds=45))
    app.answer(
        "/volunteer",
        response(
            say("Connecting you."),
            dial(
                number(
                    CONTACT,
                    status_callback=app.url("/contact-status"),
                    status_callback_event="initiated ringing answered completed",
                ),
                caller_id=CAMPAIGN,
                action="/dial-done",
            ),
        ),
    )
    app.answer("/dial-done", response(say("The other person has gone."), hangup()))
    volunteer = ring(fake, app, VOLUNTEER, answer="/volunteer")
    fake.advance(3 + 1)  # answered; "Connecting you." (0.8 s) said; the contact is rung

    contact_leg = fake.calls_to(CONTACT)[0]
    assert contact_leg.parent_sid == volunteer and contact_leg.direction == "outbound-dial"
    fake.advance(6)
    assert contact_leg.status == "in-progress"

    fake.advance(45)  # the contact hangs up: the volunteer's Dial ends and its action runs
    assert fake.caller_ids_seen_by(CONTACT) == [CAMPAIGN]
    assert fake.caller_ids_seen_by(VOLUNTEER) == [CAMPAIGN]
    done = app.posts_to("/dial-done")[0]
    assert done["DialCallStatus"] == "completed" and done["DialCallSid"] == contact_leg.sid
    assert done["DialCallDuration"] == "45"
    assert [p["CallStatus"] for p in app.posts_to("/contact-status")] == [
        "initiated",
        "ringing",
        "in-progress",
        "completed",
    ]
    assert fake.call(volunteer).said[-1][1] == "The other person has gone."
    fake.advance(5)
    assert fake.call(volunteer).status == "completed"
    every_from = [r["params"].get("From") for r in fake.sent() if r["params"].get("To") == CONTACT]
    assert set(every_from) == {CAMPAIGN}  # the volunteer's number never travelled to the contact


def test_when_the_caller_hangs_up_the_dialled_leg_ends_too(fake, app):
    fake.behave(VOLUNTEER, Behaviour("human", ring_seconds=2, talk_seconds=None))
    fake.behave(CONTACT, Behaviour("human", ring_seconds=4, talk_seconds=None))
    app.answer("/volunteer", response(dial(CONTACT, caller_id=CAMPAIGN)))
    volunteer = ring(fake, app, VOLUNTEER, answer="/volunteer")
    fake.advance(2 + 4 + 30)
    contact_leg = fake.calls_to(CONTACT)[0]
    assert contact_leg.status == "in-progress"

    fake.hang_up(volunteer)

    assert fake.call(volunteer).status == "completed" and contact_leg.status == "completed"
    assert contact_leg.duration == 30 and fake.call(volunteer).duration == 34


def test_a_dial_without_callerid_shows_the_callers_from(fake, app):
    fake.behave(CONTACT, Behaviour("busy", ring_seconds=2))
    app.answer("/volunteer", response(dial(CONTACT, action="/after")))
    app.answer("/after", response(say("They are busy.")))
    ring(fake, app, VOLUNTEER, answer="/volunteer")
    fake.advance(20)
    assert fake.caller_ids_seen_by(CONTACT) == [CAMPAIGN]
    after = app.posts_to("/after")[0]
    assert after["DialCallStatus"] == "busy" and after["DialCallDuration"] == "0"


def test_a_dial_that_is_not_answered_in_time_reports_no_answer_and_carries_on(fake, app):
    fake.behave(CONTACT, Behaviour("no-answer"))
    app.answer("/volunteer", response(dial(CONTACT, timeout=20), say("Nobody answered.")))
    volunteer = ring(fake, app, VOLUNTEER, answer="/volunteer")
    fake.advance(5 + 19)
    assert fake.call(volunteer).said == []
    fake.advance(1)
    assert fake.calls_to(CONTACT)[0].status == "no-answer"
    assert fake.call(volunteer).said == [(20.0, "Nobody answered.")]


def test_number_url_whispers_to_the_callee_before_joining(fake, app):
    fake.behave(CONTACT, Behaviour("human", ring_seconds=2, talk_seconds=None))
    app.answer("/volunteer", response(dial(number(CONTACT, url=app.url("/whisper")))))
    app.answer("/whisper", response(say("A call from the campaign.")))
    ring(fake, app, VOLUNTEER, answer="/volunteer")
    fake.advance(5 + 2 + 5)
    contact_leg = fake.calls_to(CONTACT)[0]
    assert contact_leg.said == [(0.0, "A call from the campaign.")]
    assert contact_leg.status == "in-progress"  # joined, not hung up, once the whisper ended


# -- Conference -----------------------------------------------------------------------------------


def test_volunteer_and_contact_meet_in_a_conference_room(fake, app):
    fake.behave(VOLUNTEER, Behaviour("human", ring_seconds=3, talk_seconds=None))
    fake.behave(CONTACT, Behaviour("human", ring_seconds=8, talk_seconds=40))
    app.answer(
        "/volunteer",
        response(
            dial(
                conference(
                    "room-1",
                    start_conference_on_enter=True,
                    end_conference_on_exit=True,
                    beep=False,
                    status_callback=app.url("/room"),
                    status_callback_event="start end join leave",
                ),
            )
        ),
    )
    app.answer("/contact", response(dial(conference("room-1", end_conference_on_exit=False))))
    bridge = bridge_for(fake)
    volunteer = ring(fake, app, VOLUNTEER, answer="/volunteer")
    fake.advance(3)
    assert fake.conference_members("room-1") == [volunteer]
    contact = bridge.place_call(Dial(CONTACT, CAMPAIGN, app.url("/contact"), app.url("/status")))
    fake.advance(8)
    assert fake.conference_members("room-1") == [volunteer, contact]
    assert fake.call(contact).conference == "room-1"

    fake.advance(40)  # the contact hangs up; the volunteer stays in the room
    assert fake.conference_members("room-1") == [volunteer]
    assert fake.call(contact).duration == 40 and fake.call(contact).status == "completed"

    fake.advance(10)
    fake.hang_up(volunteer)
    assert fake.conference_members("room-1") == []
    assert fake.call(volunteer).duration == 3 + 8 + 40 + 10 - 3
    events = [p["StatusCallbackEvent"] for p in app.posts_to("/room")]
    assert events == [
        "participant-join",
        "conference-start",
        "participant-join",
        "participant-leave",
        "participant-leave",
        "conference-end",
    ]
    assert fake.caller_ids_seen_by(CONTACT) == [CAMPAIGN]


def test_a_participant_with_end_conference_on_exit_ends_the_others_legs(fake, app):
    fake.behave(VOLUNTEER, Behaviour("human", ring_seconds=3, talk_seconds=None))
    fake.behave(CONTACT, Behaviour("human", ring_seconds=3, talk_seconds=None))
    app.answer("/volunteer", response(dial(conference("room-2", end_conference_on_exit=True))))
    app.answer(
        "/contact",
        response(dial(conference("room-2"), action="/contact-left"), say("never reached")),
    )
    app.answer("/contact-left", response(say("Thank you, goodbye.")))
    volunteer = ring(fake, app, VOLUNTEER, answer="/volunteer")
    contact = ring(fake, app, CONTACT, answer="/contact")
    fake.advance(20)
    assert fake.conference_members("room-2") == [volunteer, contact]

    fake.hang_up(volunteer)

    assert fake.conference_members("room-2") == []
    assert fake.conference("room-2").ended_at == 20
    assert app.posts_to("/contact-left")[0]["CallSid"] == contact
    assert fake.call(contact).said == [(17.0, "Thank you, goodbye.")]
    fake.advance(2)
    assert fake.call(contact).status == "completed" and fake.call(contact).duration == 18


def test_redirecting_a_participant_takes_it_out_of_the_room(fake, app):
    fake.behave(VOLUNTEER, Behaviour("human", ring_seconds=1, talk_seconds=None))
    fake.behave(CONTACT, Behaviour("human", ring_seconds=1, talk_seconds=None))
    app.answer("/volunteer", response(dial(conference("room-3"))))
    app.answer("/contact", response(dial(conference("room-3"))))
    app.answer("/sorry", response(say("Sorry, the volunteer has had to go.")))
    volunteer = ring(fake, app, VOLUNTEER, answer="/volunteer")
    contact = ring(fake, app, CONTACT, answer="/contact")
    fake.advance(5)

    bridge_for(fake).redirect(contact, app.url("/sorry"))
    fake.advance(0)

    assert fake.conference_members("room-3") == [volunteer]
    assert fake.call(contact).said == [(4.0, "Sorry, the volunteer has had to go.")]


# -- Gather and Record -----------------------------------------------------------------------------


def gathering_app(app, **gather_options):
    app.answer(
        "/answer",
        response(
            gather(
                say("Press 1 to talk to us, 2 to be removed."), action="/pressed", **gather_options
            ),
            say("We did not hear from you."),
        ),
    )
    app.answer("/pressed", lambda params: response(say(f"You pressed {params['Digits']}.")))


def test_gather_posts_the_digits_pressed_and_follows_the_answer(fake, app):
    fake.behave(CONTACT, Behaviour("human", ring_seconds=5, talk_seconds=None))
    gathering_app(app, num_digits=1, timeout=5)
    sid = ring(fake, app, CONTACT)
    fake.advance(5 + 2)  # the prompt (10 words: 4 s) is still playing

    fake.press(sid, "2")

    pressed = app.posts_to("/pressed")
    assert len(pressed) == 1 and pressed[0]["Digits"] == "2" and pressed[0]["CallSid"] == sid
    call = fake.call(sid)
    assert call.gathered == [(7.0, "2")]
    assert [text for _, text in call.said] == [
        "Press 1 to talk to us, 2 to be removed.",
        "You pressed 2.",
    ]


def test_gather_collects_several_digits_until_the_finish_key(fake, app):
    fake.behave(CONTACT, Behaviour("human", ring_seconds=5, talk_seconds=None))
    gathering_app(app, timeout=5)
    sid = ring(fake, app, CONTACT)
    fake.advance(10)
    fake.press(sid, "12")
    fake.advance(3)  # less than the timeout between keys
    fake.press(sid, "3#")
    assert app.posts_to("/pressed")[0]["Digits"] == "123"
    assert app.posts_to("/pressed")[0]["FinishedOnKey"] == "#"


def test_gather_that_hears_nothing_times_out_and_carries_on(fake, app):
    fake.behave(CONTACT, Behaviour("human", ring_seconds=5, talk_seconds=None))
    gathering_app(app, num_digits=1, timeout=5)
    sid = ring(fake, app, CONTACT)
    fake.advance(5 + 4 + 4.9)
    assert len(fake.call(sid).said) == 1
    fake.advance(0.1)
    assert fake.call(sid).said[-1] == (9.0, "We did not hear from you.")
    assert app.posts_to("/pressed") == []


def test_gather_submits_what_was_pressed_when_the_timeout_passes(fake, app):
    fake.behave(CONTACT, Behaviour("human", ring_seconds=5, talk_seconds=None))
    gathering_app(app, num_digits=4, timeout=3)
    sid = ring(fake, app, CONTACT)
    fake.advance(6)
    fake.press(sid, "42")
    fake.advance(3)
    assert app.posts_to("/pressed")[0]["Digits"] == "42"


def test_pressing_keys_outside_a_gather_does_nothing(fake, app):
    fake.behave(CONTACT, Behaviour("human", ring_seconds=1, talk_seconds=None))
    app.answer("/answer", response(say("Just listen to me talk for a while.")))
    sid = ring(fake, app, CONTACT)
    fake.advance(2)
    fake.press(sid, "5")
    assert fake.call(sid).gathered == [] and len(app.posts_to("/answer")) == 1


def test_record_ends_at_max_length_and_posts_the_recording(fake, app):
    fake.behave(CONTACT, Behaviour("machine", ring_seconds=5, talk_seconds=None))
    app.answer(
        "/answer", response(say("Leave a message."), record(action="/recorded", max_length=20))
    )
    app.answer("/recorded", response(say("Thank you."), hangup()))
    sid = ring(fake, app, CONTACT)
    fake.advance(5 + 1.2 + 19)
    assert app.posts_to("/recorded") == []
    fake.advance(1)
    posted = app.posts_to("/recorded")[0]
    assert posted["RecordingDuration"] == "20" and posted["RecordingSid"].startswith("RE")
    assert posted["RecordingUrl"].startswith(fake.base_url) and posted["Digits"] == ""
    call = fake.call(sid)
    assert call.recordings[0]["duration"] == 20 and call.said[-1][1] == "Thank you."


def test_record_ends_when_the_person_hangs_up(fake, app):
    fake.behave(CONTACT, Behaviour("human", ring_seconds=5, talk_seconds=12))
    app.answer("/answer", response(record(action="/recorded", max_length=60)))
    sid = ring(fake, app, CONTACT)
    fake.advance(30)
    posted = app.posts_to("/recorded")[0]
    assert posted["RecordingDuration"] == "12" and posted["Digits"] == "hangup"
    assert fake.call(sid).status == "completed" and fake.call(sid).duration == 12


def test_record_ends_on_a_key_press(fake, app):
    fake.behave(CONTACT, Behaviour("human", ring_seconds=5, talk_seconds=None))
    app.answer("/answer", response(record(action="/recorded", finish_on_key="#")))
    sid = ring(fake, app, CONTACT)
    fake.advance(5 + 8)
    fake.press(sid, "#")
    posted = app.posts_to("/recorded")[0]
    assert posted["RecordingDuration"] == "8" and posted["Digits"] == "#"


# -- Inbound --------------------------------------------------------------------------------------


def test_someone_calling_the_campaign_number_fetches_its_voice_url(fake, app):
    fake.set_incoming(CAMPAIGN, app.url("/incoming"), status_url=app.url("/incoming-status"))
    app.answer("/incoming", response(say("Thanks for calling back."), pause(30)))

    sid = fake.ring_in(CONTACT, CAMPAIGN)

    voice = app.posts_to("/incoming")[0]
    assert (voice["From"], voice["To"], voice["Direction"]) == (CONTACT, CAMPAIGN, "inbound")
    assert voice["CallStatus"] == "ringing" and voice["CallSid"] == sid
    fake.advance(10)
    fake.hang_up(sid)
    call = fake.call(sid)
    assert call.said == [(0.0, "Thanks for calling back.")] and call.duration == 10
    completed = app.posts_to("/incoming-status")
    assert [p["CallStatus"] for p in completed] == ["completed"]
    assert completed[0]["CallDuration"] == "10"


def test_an_inbound_call_can_be_put_through_to_a_volunteer(fake, app):
    fake.behave(VOLUNTEER, Behaviour("human", ring_seconds=4, talk_seconds=None))
    fake.set_incoming(CAMPAIGN, app.url("/incoming"))
    app.answer("/incoming", response(dial(number(VOLUNTEER), caller_id=CAMPAIGN)))
    sid = fake.ring_in(CONTACT, CAMPAIGN, talk_seconds=25)
    fake.advance(30)
    assert fake.caller_ids_seen_by(VOLUNTEER) == [CAMPAIGN]
    assert fake.calls_to(VOLUNTEER)[0].duration == 21 and fake.call(sid).duration == 25


def test_an_inbound_call_can_be_rejected(fake, app):
    fake.set_incoming(CAMPAIGN, app.url("/incoming"))
    app.answer("/incoming", response(element("Reject", reason="busy")))
    sid = fake.ring_in(CONTACT, CAMPAIGN)
    assert fake.call(sid).status == "busy" and fake.call(sid).answered_at is None


def test_a_reject_after_the_call_was_answered_just_hangs_up(fake, app):
    fake.set_incoming(CAMPAIGN, app.url("/incoming"))
    app.answer("/incoming", response(say("One moment."), element("Reject", reason="busy")))
    sid = fake.ring_in(CONTACT, CAMPAIGN)
    fake.advance(5)
    assert fake.call(sid).status == "completed" and fake.call(sid).duration == 0


def test_ringing_a_number_that_is_not_configured_is_refused(fake):
    with pytest.raises(ValueError, match="not one of this account's numbers"):
        fake.ring_in(CONTACT, "+441632960999")


# -- Seeded behaviour -----------------------------------------------------------------------------


def outcomes(seed, numbers, **options):
    provider = FakeProvider(ACCOUNT_SID, AUTH_TOKEN)
    provider.seeded(seed, **options)
    return [provider.behaviour_for(n) for n in numbers]


def test_seeded_behaviour_is_reproducible_per_number():
    numbers = [f"+4411349{i:05d}" for i in range(400)]
    first = outcomes(1, numbers)
    assert outcomes(1, numbers) == first
    assert outcomes(1, list(reversed(numbers))) == list(reversed(first))  # per number, not order
    assert outcomes(2, numbers) != first


def test_seeded_behaviour_follows_the_rates_asked_for():
    numbers = [f"+4411349{i:05d}" for i in range(4000)]
    answers = [b.answer for b in outcomes(7, numbers, answer_rate=0.2, machine_share=0.25)]
    answered = sum(a in ("human", "machine") for a in answers)
    assert 0.17 < answered / len(numbers) < 0.23
    assert 0.20 < answers.count("machine") / answered < 0.30
    assert {"busy", "no-answer", "failed"} <= set(answers)


def test_an_explicit_behaviour_wins_over_the_seed(fake, app):
    fake.seeded(3, answer_rate=0.0)
    fake.behave(VOLUNTEER, Behaviour("human", ring_seconds=2, talk_seconds=None))
    assert fake.behaviour_for(VOLUNTEER).answer == "human"
    assert fake.behaviour_for(CONTACT).answer in ("busy", "no-answer", "failed")


def test_seeded_calls_play_out_the_same_way_twice(app):
    def play_out():
        app.received.clear()
        with FakeProvider(ACCOUNT_SID, AUTH_TOKEN, deliver=app) as provider:
            provider.seeded(11, answer_rate=0.5)
            app.answer("/answer", response(pause(5)))
            sids = [ring(provider, app, f"+4411349000{i:02d}") for i in range(20)]
            provider.advance(120)
            return [
                (provider.call(s).to, provider.call(s).status, provider.call(s).duration)
                for s in sids
            ]

    assert play_out() == play_out()


def test_a_behaviour_must_be_one_twilio_knows():
    with pytest.raises(ValueError, match="answer must be one of"):
        Behaviour("maybe")


# -- Real time ------------------------------------------------------------------------------------


def test_in_real_time_the_clock_follows_the_wall_clock(fake, app):
    fake.behave(CONTACT, Behaviour("human", ring_seconds=0.2, talk_seconds=0.3))
    app.answer("/answer", response(pause(10)))
    sid = ring(fake, app, CONTACT)
    fake.run_in_real_time(tick=0.02)
    deadline = time.monotonic() + 5
    while fake.call(sid).live and time.monotonic() < deadline:
        time.sleep(0.02)
    assert fake.call(sid).status == "completed"
    assert statuses(app, sid) == ["initiated", "ringing", "in-progress", "completed"]
    fake.stop()
    assert fake.errors == []


# -- Running alone --------------------------------------------------------------------------------


def test_the_fake_runs_alone_and_prints_what_to_configure():
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "ringround.telephony.fake",
            "--port",
            "0",
            "--real-time",
            "--seed",
            "1",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        lines = [process.stdout.readline() for _ in range(4)]
        settings = json.loads(lines[3])
        assert lines[0].strip() == f"base_url={settings['base_url']}"
        assert settings["account_sid"].startswith("AC") and len(settings["account_sid"]) == 34
        bridge = TwilioBridge(settings["base_url"], settings["account_sid"], settings["auth_token"])
        sid = bridge.place_call(
            Dial(CONTACT, CAMPAIGN, "http://127.0.0.1:9/a", "http://127.0.0.1:9/s")
        )
        assert sid.startswith("CA")
    finally:
        process.terminate()
        process.wait(timeout=5)


def test_gather_without_an_action_posts_back_to_its_own_document(fake, app):
    fake.behave(CONTACT, Behaviour("human", ring_seconds=1, talk_seconds=None))
    app.answer(
        "/menu",
        lambda params: (
            response(say(f"You chose {params['Digits']}."))
            if "Digits" in params
            else response(gather(say("Choose."), num_digits=1))
        ),
    )
    sid = ring(fake, app, CONTACT, answer="/menu")
    fake.advance(2)
    fake.press(sid, "7")
    assert [p.get("Digits") for p in app.posts_to("/menu")] == [None, "7"]
    assert fake.call(sid).said[-1][1] == "You chose 7."


# -- The app inside a callback ---------------------------------------------------------------------


def test_the_app_may_use_the_rest_api_from_inside_a_callback(fake, app):
    """The fake lets go of its lock while a callback is out, so a view that hangs up or redirects
    the call while answering a callback does not deadlock; the change runs in the same advance."""
    bridge = bridge_for(fake)
    fake.behave(CONTACT, Behaviour("human", ring_seconds=2, talk_seconds=None))
    app.answer("/answer", response(pause(60)))

    def on_status(params):
        if params["CallStatus"] == "in-progress":
            bridge.hang_up(params["CallSid"])
        return ""

    app.answer("/status", on_status)
    sid = ring(fake, app, CONTACT)
    fake.advance(2)
    assert fake.call(sid).status == "completed" and fake.call(sid).ended_at == 2


def test_a_callback_that_raises_fails_the_call_and_says_why(fake, app):
    def broken(params):
        raise ZeroDivisionError("the view is broken")

    app.answer("/answer", broken)
    sid = ring(fake, app, CONTACT)
    fake.advance(6)
    assert fake.call(sid).status == "failed"
    assert "ZeroDivisionError: the view is broken" in fake.call(sid).errors[0]
    assert any("the view is broken" in error for error in fake.errors)


def test_advancing_from_inside_a_callback_is_an_error_not_a_deadlock(fake, app):
    app.answer("/status", lambda params: fake.advance(1) or "")
    ring(fake, app, CONTACT)
    fake.advance(0)
    assert any("advance() was called from inside a callback" in e for e in fake.errors)


def test_acting_on_an_unknown_call_says_so(fake):
    with pytest.raises(KeyError, match="the fake placed no call"):
        fake.press("CA" + "0" * 32, "1")
    with pytest.raises(KeyError, match="the fake placed no call"):
        fake.hang_up("CA" + "0" * 32)


# -- Control from another process ----------------------------------------------------------------


def control(fake, action, method="POST", **params):
    data = urllib.parse.urlencode(params).encode() if method == "POST" else None
    request = urllib.request.Request(f"{fake.base_url}/_fake/{action}", data=data, method=method)
    token = base64.b64encode(f"{fake.account_sid}:{AUTH_TOKEN}".encode()).decode()
    request.add_header("Authorization", f"Basic {token}")
    try:
        with urllib.request.urlopen(request, timeout=2) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def test_a_demo_in_another_process_can_play_the_people(fake, app):
    assert control(fake, "behave", Number=CONTACT, Answer="human", RingSeconds="2")[0] == 200
    assert control(fake, "incoming", Number=CAMPAIGN, VoiceUrl=app.url("/incoming"))[0] == 200
    app.answer("/answer", response(gather(say("Press a key."), num_digits=1, action="/k")))
    app.answer("/incoming", response(say("Hello caller."), pause(30)))
    sid = ring(fake, app, CONTACT)
    control(fake, "advance", Seconds="3")
    control(fake, "press", CallSid=sid, Digits="9")
    assert app.posts_to("/k")[0]["Digits"] == "9"

    status, created = control(fake, "ring_in", From=OTHER, To=CAMPAIGN)
    assert status == 201 and fake.call(created["sid"]).direction == "inbound"
    control(fake, "hang_up", CallSid=created["sid"])
    status, listing = control(fake, "calls", method="GET")
    assert status == 200
    assert {c["sid"]: c["status"] for c in listing["calls"]}[created["sid"]] == "completed"


def test_control_needs_the_accounts_credentials_and_good_input(fake):
    request = urllib.request.Request(f"{fake.base_url}/_fake/calls")
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=2)
    assert refused.value.code == 401
    assert control(fake, "behave", Number=CONTACT, Answer="maybe")[0] == 400
    assert control(fake, "press", Digits="1")[0] == 400
    assert control(fake, "ring_in", From=OTHER, To="+441632960999")[0] == 400
    assert control(fake, "explode")[0] == 404


def test_twiml_text_is_escaped_and_read_back_whole(fake, app):
    tricky = 'Vote "Green" & <not> them'
    app.answer("/answer", response(say(tricky), dial(conference("room & <4>"))))
    sid = ring(fake, app, CONTACT)
    fake.advance(6)
    assert fake.call(sid).said == [(0.0, tricky)]
    fake.advance(5)
    assert fake.conference_members("room & <4>") == [sid]


def test_an_app_that_cannot_be_reached_fails_the_call_and_says_why(fake_over_http):
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        gone = f"http://127.0.0.1:{probe.getsockname()[1]}"
    sid = bridge_for(fake_over_http).place_call(
        Dial(CONTACT, CAMPAIGN, f"{gone}/answer", f"{gone}/status")
    )
    fake_over_http.advance(10)
    call = fake_over_http.call(sid)
    assert call.status == "failed" and "11200" in call.errors[0]
    assert "Connection refused" in call.errors[0] or "URLError" in call.errors[0]
