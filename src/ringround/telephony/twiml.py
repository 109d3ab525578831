"""A tiny TwiML builder: each function returns an element; ``response(...)`` renders the document.

Built with ElementTree so every text and attribute is escaped; attribute names are Twilio's own
(camelCase), keyword arguments are snake_case and ``None`` leaves an attribute out.

    response(say("Connecting you now."), dial(conference("room-1"), caller_id="+447700900000"))
"""

from __future__ import annotations

import xml.etree.ElementTree as ET


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def _attr(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | tuple):
        return " ".join(str(v) for v in value)
    return str(value)


def element(tag: str, text: str | None = None, *children: ET.Element, **attrs) -> ET.Element:
    """Any TwiML verb or noun: ``element("Reject", reason="busy")``."""
    node = ET.Element(tag, {_camel(k): _attr(v) for k, v in attrs.items() if v is not None})
    if text is not None:
        node.text = str(text)
    node.extend(children)
    return node


def response(*verbs: ET.Element) -> str:
    """The whole document, as the app answers a provider's fetch."""
    root = ET.Element("Response")
    root.extend(verbs)
    return '<?xml version="1.0" encoding="UTF-8"?>' + ET.tostring(root, encoding="unicode")


def say(text: str, *, voice: str | None = None, language: str | None = "en-GB", loop=None):
    return element("Say", text, voice=voice, language=language, loop=loop)


def play(url: str, *, loop=None):
    return element("Play", url, loop=loop)


def pause(length: int = 1):
    return element("Pause", length=length)


def hangup():
    return element("Hangup")


def redirect(url: str, *, method: str = "POST"):
    return element("Redirect", url, method=method)


def dial(*nouns: ET.Element | str, caller_id=None, timeout=None, action=None, time_limit=None):
    """``<Dial>``: nest ``number(...)`` or ``conference(...)``, or pass a bare number string."""
    node = element(
        "Dial", caller_id=caller_id, timeout=timeout, action=action, time_limit=time_limit
    )
    for noun in nouns:
        if isinstance(noun, str):
            node.text = noun
        else:
            node.append(noun)
    return node


def number(to: str, *, url=None, status_callback=None, status_callback_event=None):
    return element(
        "Number",
        to,
        url=url,
        status_callback=status_callback,
        status_callback_event=status_callback_event,
    )


def conference(
    name: str,
    *,
    start_conference_on_enter=None,
    end_conference_on_exit=None,
    beep=None,
    wait_url=None,
    status_callback=None,
    status_callback_event=None,
):
    return element(
        "Conference",
        name,
        start_conference_on_enter=start_conference_on_enter,
        end_conference_on_exit=end_conference_on_exit,
        beep=beep,
        wait_url=wait_url,
        status_callback=status_callback,
        status_callback_event=status_callback_event,
    )


def gather(*verbs: ET.Element, num_digits=None, action=None, timeout=None, finish_on_key=None):
    return element(
        "Gather",
        None,
        *verbs,
        num_digits=num_digits,
        action=action,
        timeout=timeout,
        finish_on_key=finish_on_key,
    )


def record(*, action=None, max_length=None, finish_on_key=None, play_beep=None):
    return element(
        "Record",
        action=action,
        max_length=max_length,
        finish_on_key=finish_on_key,
        play_beep=play_beep,
    )
