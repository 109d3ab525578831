"""Phone numbers: normalising what people type into E.164, and where a number lives."""

from dataclasses import dataclass

import phonenumbers
from phonenumbers import PhoneNumberType
from phonenumbers import timezone as pn_timezone

MOBILE_TYPES = {PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE_OR_MOBILE}


class InvalidPhone(ValueError):
    """A number that cannot be called, with the reason in words."""


@dataclass(frozen=True)
class Phone:
    e164: str
    kind: str  # "mobile", "landline" or "other"


def normalise(raw: str, default_country: str = "GB") -> Phone:
    text = (raw or "").strip()
    if not text:
        raise InvalidPhone("no phone number")
    if "e+" in text.lower() and any(c.isdigit() for c in text):
        raise InvalidPhone("number in scientific notation (a spreadsheet mangled it)")
    if text.startswith("00"):
        text = "+" + text[2:]
    try:
        number = phonenumbers.parse(text, default_country)
    except phonenumbers.NumberParseException as exc:
        raise InvalidPhone(f"not a phone number ({exc._msg})") from exc
    if not phonenumbers.is_valid_number(number):
        # A spreadsheet may have dropped the leading zero of a national number.
        retry = "0" + text if text[:1].isdigit() and not text.startswith("0") else None
        if retry:
            try:
                number = phonenumbers.parse(retry, default_country)
            except phonenumbers.NumberParseException:
                number = None
        if not number or not phonenumbers.is_valid_number(number):
            raise InvalidPhone("not a valid number")
    kind = phonenumbers.number_type(number)
    label = (
        "mobile"
        if kind in MOBILE_TYPES
        else "landline"
        if kind == PhoneNumberType.FIXED_LINE
        else "other"
    )
    return Phone(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164), label)


def time_zone_for(e164: str, fallback: str = "Europe/London") -> str:
    """The number's time zone as libphonenumber knows it.

    A number it places in several zones (a UK mobile: Guernsey, Isle of Man, Jersey, London)
    gets the fallback when that is one of them, else the first."""
    try:
        number = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return fallback
    return pick_zone(pn_timezone.time_zones_for_number(number), fallback)


def pick_zone(zones, fallback: str = "Europe/London") -> str:
    usable = [z for z in zones if z != "Etc/Unknown"]
    if not usable:
        return fallback
    return fallback if fallback in usable else usable[0]


def display(e164: str) -> str:
    try:
        number = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return e164
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
