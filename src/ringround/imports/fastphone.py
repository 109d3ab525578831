"""The phone fast path: libphonenumber's verdict at a fraction of the cost.

``phonenumbers.parse`` + ``is_valid_number`` manage a few tens of thousands of numbers a second
per core, which would make phone parsing the whole cost of a million-row import. Almost every
number in a real list is typed in one of a handful of shapes for the import's own country
("020 7946 0123", "+44 (0)20 7946 0123", "0044 …", "2079460123"), so for those we do what the
library itself would do — strip the punctuation, the country code or the national prefix — and
apply the library's own metadata patterns for that region (``PhoneMetadata``) to the digits, in
the same order as ``phonenumberutil._number_type_helper``.

Whenever the fast path is not certain (letters, extensions, another country's number, anything
the patterns do not call valid) it hands the text to the full parse in
:func:`ringround.contacts.phones.normalise`, so every verdict, and every rejection reason, is the
library's. ``tests/contacts/test_fastphone.py`` checks the two agree on many generated numbers.

This module imports nothing from Django: import worker processes use it.
"""

import re
from functools import lru_cache
from re import _constants as sre
from re import _parser as sre_parse

from phonenumbers import PhoneMetadata, PhoneNumberType
from phonenumbers.phonenumberutil import (
    COUNTRY_CODE_TO_REGION_CODE,
    is_number_type_geographical,
)
from phonenumbers.timezone import TIMEZONE_DATA, TIMEZONE_LONGEST_PREFIX

from ringround.contacts.phones import InvalidPhone, normalise, pick_zone, time_zone_for

FALLBACK_ZONE = "Europe/London"

# The order in which libphonenumber tries the number types (phonenumberutil._number_type_helper).
TYPE_ORDER = (
    ("premium_rate", PhoneNumberType.PREMIUM_RATE),
    ("toll_free", PhoneNumberType.TOLL_FREE),
    ("shared_cost", PhoneNumberType.SHARED_COST),
    ("voip", PhoneNumberType.VOIP),
    ("personal_number", PhoneNumberType.PERSONAL_NUMBER),
    ("pager", PhoneNumberType.PAGER),
    ("uan", PhoneNumberType.UAN),
    ("voicemail", PhoneNumberType.VOICEMAIL),
    ("fixed_line", PhoneNumberType.FIXED_LINE),
    ("mobile", PhoneNumberType.MOBILE),
)
KIND = {
    PhoneNumberType.MOBILE: "mobile",
    PhoneNumberType.FIXED_LINE_OR_MOBILE: "mobile",
    PhoneNumberType.FIXED_LINE: "landline",
}

# Punctuation libphonenumber ignores, which people and spreadsheets put in numbers.
_PUNCTUATION = str.maketrans("", "", " -()./\u00a0\t")


def _desc_regex(desc, name: str):
    """One alternative of the combined classifier: the type's pattern with its lengths."""
    if desc is None or not desc.national_number_pattern:
        return None
    lengths = desc.possible_length
    digits = "|".join(r"\d{" + str(n) + "}" for n in lengths)
    guard = f"(?=(?:{digits})$)" if lengths else ""
    return f"(?P<{name}>{guard}(?:{desc.national_number_pattern}))"


class FastPhoneParser:
    """Verdicts for numbers typed for one default region (the import's country)."""

    def __init__(self, region: str):
        self.region = region = (region or "GB").upper()
        metadata = PhoneMetadata.metadata_for_region(region)
        self.enabled = self._eligible(metadata)
        if not self.enabled:
            return
        self.cc = str(metadata.country_code)
        self.cc_int = metadata.country_code
        self.national_prefix = re.compile(metadata.national_prefix_for_parsing or "(?!)")
        self.idd = re.compile(metadata.international_prefix or "(?!)")
        general = metadata.general_desc
        self.general_pattern = re.compile(general.national_number_pattern)
        self.general_lengths = frozenset(general.possible_length)
        alternatives = [
            _desc_regex(getattr(metadata, attr), attr)
            for attr, _ in TYPE_ORDER
            if _desc_regex(getattr(metadata, attr), attr)
        ]
        # One regular expression does _number_type_helper's work: the general pattern and its
        # lengths (lookaheads), then each type's pattern and lengths, in the library's order.
        general_lengths = "|".join(r"\d{" + str(n) + "}" for n in general.possible_length)
        self.classifier = re.compile(
            f"(?=(?:{general_lengths})$)(?=(?:{general.national_number_pattern})$)"
            f"(?:{'|'.join(alternatives)})"
        )
        self.types = dict(TYPE_ORDER)
        mobile = metadata.mobile
        self.mobile_pattern = (
            re.compile(mobile.national_number_pattern)
            if mobile and mobile.national_number_pattern
            else None
        )
        self.mobile_lengths = frozenset(mobile.possible_length) if mobile else frozenset()
        self.zone_cache: dict[str, str] = {}
        # The lengths of the zone data's prefixes a number of this country can start with.
        self.zone_lengths = sorted(
            {
                len(prefix)
                for prefix in TIMEZONE_DATA
                if (prefix.startswith(self.cc) or self.cc.startswith(prefix))
                and len(prefix) <= TIMEZONE_LONGEST_PREFIX
            },
            reverse=True,
        )
        self.geographical: dict[int, bool] = {}
        # Each first digit's classifying depth (see ``_depths``); None: never cached.
        self.depths = _depths(
            [general.national_number_pattern]
            + [
                getattr(metadata, attr).national_number_pattern
                for attr, _ in TYPE_ORDER
                if _desc_regex(getattr(metadata, attr), attr)
            ]
        )
        self.type_cache: dict = {}

    @staticmethod
    def _eligible(metadata) -> bool:
        """Only where the library's own steps are the simple ones we copy."""
        if metadata is None or metadata.general_desc is None:
            return False
        if COUNTRY_CODE_TO_REGION_CODE.get(metadata.country_code, ("",))[0] != metadata.id:
            return False  # not the main country for its code: region lookup could differ
        if metadata.same_mobile_and_fixed_line_pattern or metadata.national_prefix_transform_rule:
            return False
        prefix = metadata.national_prefix_for_parsing
        return not prefix or re.compile(prefix).groups == 0

    # -- the verdict -------------------------------------------------------------------------

    def parse(self, raw: str) -> tuple[str, str, str]:
        """``(e164, kind, time zone)`` for ``raw``, or ``InvalidPhone`` with the reason."""
        if self.enabled:
            fast = self.fast(raw)
            if fast is not None:
                return fast
        return self.full(raw)

    def full(self, raw: str) -> tuple[str, str, str]:
        phone = normalise(raw, self.region)
        return phone.e164, phone.kind, time_zone_for(phone.e164)

    def fast(self, raw: str):
        """The verdict when it is certain, else ``None`` (never a rejection)."""
        text = raw.strip()
        digits = text.translate(_PUNCTUATION)
        international = False
        if digits[:1] == "+":
            digits = digits[1:]
            international = True
        elif text[:2] == "00":
            digits = digits[2:]
            international = True
        if not (digits.isdigit() and digits.isascii()):
            return None
        if international:
            if not digits.startswith(self.cc):
                return None
            number = digits[len(self.cc) :]
        else:
            if self.idd.match(digits):
                return None
            number = digits
        number = self._strip_national_prefix(number)
        if number[:1] == "0":
            return None
        ntype = self._type(number)
        if ntype is None:
            return None
        e164 = f"+{self.cc}{number}"
        return e164, KIND.get(ntype, "other"), self._zone(e164, ntype)

    def _strip_national_prefix(self, number: str) -> str:
        """As ``_maybe_strip_national_prefix_carrier_code``: a viable number keeps its prefix.

        (When what is left is too short libphonenumber keeps the prefix too; ``_type`` then
        finds no valid type and the full parse decides.)"""
        match = self.national_prefix.match(number)
        if not match or not match.end():
            return number
        stripped = number[match.end() :]
        if self.general_pattern.fullmatch(number) and not self.general_pattern.fullmatch(stripped):
            return number
        return stripped

    def _type(self, number: str):
        """The number's type, or ``None`` if no valid one. Remembered by its first digits
        and length where the library's patterns decide nothing after those digits (almost
        every number: the classifier is the dearest step of an import's cleaning)."""
        depth = self.depths[ord(number[0]) - 48] if number else None
        if depth is None:
            return self._classify(number)
        key = (number[:depth], len(number))
        try:
            return self.type_cache[key]
        except KeyError:
            pass
        ntype = self._classify(number)
        if len(self.type_cache) < 200_000:
            self.type_cache[key] = ntype
        return ntype

    def _classify(self, number: str):
        match = self.classifier.fullmatch(number)
        if match is None:
            return None
        ntype = self.types[match.lastgroup]
        if ntype == PhoneNumberType.FIXED_LINE and (
            self.mobile_pattern is not None
            and len(number) in self.mobile_lengths
            and self.mobile_pattern.fullmatch(number)
        ):
            return PhoneNumberType.FIXED_LINE_OR_MOBILE
        return ntype

    def _zone(self, e164: str, ntype) -> str:
        """As ``phones.time_zone_for``: libphonenumber's first zone for the number."""
        geographical = self.geographical.get(ntype)
        if geographical is None:
            geographical = self.geographical[ntype] = is_number_type_geographical(
                ntype, self.cc_int
            )
        key = e164[1 : 1 + TIMEZONE_LONGEST_PREFIX] if geographical else self.cc
        # The longest prefix the zone data has, as ``_zone_for_prefix`` finds it, trying only
        # the lengths this country's prefixes have; remembered by that prefix (a few dozen),
        # not by the number's first nine digits (almost one per number).
        for length in self.zone_lengths:
            prefix = key[:length]
            zone = self.zone_cache.get(prefix)
            if zone is not None:
                return zone
            if prefix in TIMEZONE_DATA:
                zone = self.zone_cache[prefix] = _zone_for_prefix(prefix)
                return zone
        return FALLBACK_ZONE


# -- which digits decide a number's type ---------------------------------------------------
#
# libphonenumber's national number patterns constrain the first few digits and then ask for
# any digits ("7(?:[1-3]\d\d|4(?:[0-46-9]\d|5[0-689]))\d{6}"). Where every pattern of a
# region, restricted to the branches a first digit can start, constrains nothing past its
# first ``depth`` digits, two numbers of the same length agreeing on those digits get the same
# verdict from each pattern, so the type found for one is the other's. ``_walk`` reads a
# pattern's parse tree and gives up (``None``: never cached) on anything else than literals,
# digit classes, bounded repeats, groups and alternatives.

_ANY_DIGIT = ([(sre.CATEGORY, sre.CATEGORY_DIGIT)], [(sre.RANGE, (48, 57))])


def _walk(items):
    """``(shortest, longest, depth)`` of a parsed pattern, ``depth`` being the furthest
    position a constraint other than "any digit" can end at; ``None`` if not understood."""
    lo = hi = depth = 0
    for op, av in items:
        if op is sre.LITERAL:
            short, long, deep = 1, 1, 1
        elif op is sre.IN:
            short, long, deep = 1, 1, 0 if av in _ANY_DIGIT else 1
        elif op is sre.MAX_REPEAT or op is sre.MIN_REPEAT:
            least, most, inner = av
            walked = _walk(inner)
            if walked is None or most is sre.MAXREPEAT:
                return None
            short, long = least * walked[0], most * walked[1]
            deep = long if walked[2] else 0
        elif op is sre.SUBPATTERN:
            walked = _walk(av[-1])
            if walked is None:
                return None
            short, long, deep = walked
        elif op is sre.BRANCH:
            walked = [_walk(branch) for branch in av[1]]
            if None in walked:
                return None
            short = min(w[0] for w in walked)
            long = max(w[1] for w in walked)
            deep = max(w[2] for w in walked)
        else:
            return None
        if deep:
            depth = max(depth, hi + deep)  # it starts at ``hi`` at the latest
        lo += short
        hi += long
    return lo, hi, depth


def _first(items) -> set[str] | None:
    """The digits a parsed pattern's match can start with; ``None`` if not understood."""
    for op, av in items:
        if op is sre.LITERAL:
            return {chr(av)}
        if op is sre.IN:
            if av in _ANY_DIGIT:
                return set("0123456789")
            digits = set()
            for kind, value in av:
                if kind is sre.LITERAL:
                    digits.add(chr(value))
                elif kind is sre.RANGE:
                    digits.update(chr(c) for c in range(value[0], value[1] + 1))
                else:
                    return None
            return digits & set("0123456789")
        if op is sre.MAX_REPEAT or op is sre.MIN_REPEAT:
            if av[0] < 1:
                return None
            return _first(av[2])
        if op is sre.SUBPATTERN:
            return _first(av[-1])
        if op is sre.BRANCH:
            union = set()
            for branch in av[1]:
                first = _first(branch)
                if first is None:
                    return None
                union |= first
            return union
        return None
    return None


def _depths(patterns) -> list:
    """Per first digit, how many leading digits decide every pattern's verdict (with the
    length), or ``None``."""
    depths = []
    for digit in "0123456789":
        deepest = 1
        for pattern in patterns:
            parsed = list(sre_parse.parse(pattern))
            # A pattern that is one alternation: only the branches this digit can start.
            branches = (
                parsed[0][1][1] if len(parsed) == 1 and parsed[0][0] is sre.BRANCH else [parsed]
            )
            for branch in branches:
                first = _first(branch)
                if first is not None and digit not in first:
                    continue  # never matches a number starting with this digit
                walked = _walk(branch)
                if walked is None:
                    deepest = None
                    break
                deepest = max(deepest, walked[2])
            if deepest is None:
                break
        depths.append(deepest)
    return depths


def _zone_for_prefix(key: str) -> str:
    for length in range(min(len(key), TIMEZONE_LONGEST_PREFIX), 0, -1):
        zones = TIMEZONE_DATA.get(key[:length])
        if zones:
            return pick_zone(zones, FALLBACK_ZONE)
    return FALLBACK_ZONE


@lru_cache(maxsize=64)
def parser_for(region: str) -> FastPhoneParser:
    return FastPhoneParser(region)


def parse_phone(raw: str, region: str = "GB") -> tuple[str, str, str]:
    """``(e164, kind, time zone)``; raises ``InvalidPhone`` with the reason."""
    return parser_for(region).parse(raw)


__all__ = ["FastPhoneParser", "InvalidPhone", "parse_phone", "parser_for"]
