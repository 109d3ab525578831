"""The phone fast path gives libphonenumber's verdict, number for number."""

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ringround.contacts.phones import InvalidPhone, normalise, time_zone_for
from ringround.imports.fastphone import FastPhoneParser, parse_phone


def full_verdict(raw: str, region: str):
    try:
        phone = normalise(raw, region)
    except InvalidPhone as exc:
        return ("invalid", str(exc))
    return (phone.e164, phone.kind, time_zone_for(phone.e164))


def typed_forms(national: str, cc: str, rng: random.Random) -> list[str]:
    """The shapes people and spreadsheets really type a national number in."""
    spaced = f"{national[:3]} {national[3:7]} {national[7:]}".strip()
    return [
        "0" + national,
        f"0{national[:4]} {national[4:]}",
        f"+{cc} {spaced}",
        f"+{cc} (0){spaced}",
        f"00{cc} {spaced}",
        f"(0{national[:2]}) {national[2:6]}-{national[6:]}",
        national,  # the leading zero a spreadsheet dropped
        f"+{cc}0{national}",
        f"{cc}{national}",
        f"0{national[:-1]}",  # a digit short
        f"0{national}{rng.randint(0, 9)}",  # a digit long
        f"0{national}.0",
        f"+{cc}-{national}",
        f" 0{national} ",
        f"0{national} ext 12",
    ]


def random_nationals(rng: random.Random, count: int) -> list[str]:
    leading = "1123456778899"
    out = []
    for _ in range(count):
        length = rng.choice((7, 9, 10, 10, 10, 11))
        digits = rng.choice(leading) + "".join(rng.choice("0123456789") for _ in range(length - 1))
        out.append(digits)
    return out


@pytest.mark.parametrize("region,cc", [("GB", "44"), ("US", "1"), ("IE", "353"), ("FR", "33")])
def test_fast_path_agrees_with_full_parse(region, cc):
    parser = FastPhoneParser(region)
    rng = random.Random(f"fast-{region}")
    checked = fast = 0
    for national in random_nationals(rng, 2500 if region == "GB" else 600):
        for raw in typed_forms(national, cc, rng):
            verdict = parser.fast(raw) if parser.enabled else None
            checked += 1
            if verdict is None:
                continue
            fast += 1
            assert verdict == full_verdict(raw, region), raw
            assert parser.parse(raw) == verdict
    assert checked > 5000
    if region == "GB":
        assert fast > checked * 0.1  # the fast path does real work


def test_fast_path_agrees_on_valid_gb_numbers():
    """Real ranges, real shapes: landlines, mobiles, non-geographic."""
    parser = FastPhoneParser("GB")
    rng = random.Random("gb-valid")
    prefixes = ["20", "121", "161", "131", "1632", "113", "7700", "7911", "7400", "800", "845"]
    prefixes += ["3301", "5601", "7624", "1534", "1481"]
    seen_fast = 0
    for _ in range(3000):
        prefix = rng.choice(prefixes)
        national = prefix + "".join(rng.choice("0123456789") for _ in range(10 - len(prefix)))
        for raw in typed_forms(national, "44", rng):
            verdict = parser.fast(raw)
            if verdict is not None:
                seen_fast += 1
                assert verdict == full_verdict(raw, "GB"), raw
    assert seen_fast > 10000


@pytest.mark.parametrize(
    "raw,expected",
    [
        ("020 7946 0123", ("+442079460123", "landline")),
        ("+44 (0)20 7946 0123", ("+442079460123", "landline")),
        ("0044 20 7946 0123", ("+442079460123", "landline")),
        ("(020) 7946-0123", ("+442079460123", "landline")),
        ("2079460123", ("+442079460123", "landline")),
        ("07911 123456", ("+447911123456", "mobile")),
        ("+353 1 234 5678", ("+35312345678", "landline")),
    ],
)
def test_forms_people_type(raw, expected):
    e164, kind, zone = parse_phone(raw, "GB")
    assert (e164, kind) == expected
    assert zone


@pytest.mark.parametrize(
    "raw,reason",
    [
        ("7.7009E+09", "scientific notation"),
        ("7.7009e+09", "scientific notation"),
        ("", "no phone number"),
        ("not a number", "not a phone number"),
        ("020 7946", "not a valid number"),
        ("0207946012345678", "not a valid number"),
    ],
)
def test_rejects_with_reason(raw, reason):
    with pytest.raises(InvalidPhone, match=reason):
        parse_phone(raw, "GB")


@settings(max_examples=3000, deadline=None)
@given(
    st.text(alphabet="0123456789 +-().", min_size=1, max_size=22),
    st.sampled_from(["GB", "IE", "FR", "DE", "IT"]),
)
def test_fast_path_never_disagrees_on_anything_typed(raw, region):
    verdict = FastPhoneParser(region).fast(raw)
    if verdict is not None:
        assert verdict == full_verdict(raw, region)


@pytest.mark.parametrize("region,cc", [("DE", "49"), ("IT", "39")])
def test_fast_path_agrees_in_more_countries(region, cc):
    parser = FastPhoneParser(region)
    rng = random.Random(f"more-{region}")
    for national in random_nationals(rng, 600):
        for raw in typed_forms(national, cc, rng):
            verdict = parser.fast(raw)
            if verdict is not None:
                assert verdict == full_verdict(raw, region), raw


@pytest.mark.parametrize("region", ["GB", "DE", "FR", "IE", "NL", "ES", "IT", "NZ"])
def test_a_type_remembered_by_leading_digits_is_the_patterns_own(region):
    """Numbers that share their deciding digits and length share their type: what the cache
    answers for one is what the library's patterns say for each of the others."""
    parser = FastPhoneParser(region)
    if not parser.enabled:
        pytest.skip(f"no fast path for {region}")
    rng = random.Random(f"depth-{region}")
    numbers = []
    for national in random_nationals(rng, 3000):
        numbers.append(national)
        depth = parser.depths[int(national[0])] or len(national)
        for _ in range(3):  # others with the same leading digits, any digits after them
            tail = "".join(rng.choice("0123456789") for _ in range(len(national) - depth))
            numbers.append(national[:depth] + tail)
    cached = [parser._type(number) for number in numbers]
    assert cached == [parser._classify(number) for number in numbers]
    assert len(parser.type_cache) < len(numbers)  # it did remember


@pytest.mark.parametrize("region", ["GB", "DE", "IE", "ES", "IT", "NZ"])
def test_a_numbers_time_zone_is_found_by_its_longest_known_prefix(region):
    """The zone found trying only the prefix lengths the country's zone data has is the one
    found trying every length (and the cache stays a few entries, not one per number)."""
    from phonenumbers import PhoneNumberType

    from ringround.imports.fastphone import TIMEZONE_LONGEST_PREFIX, _zone_for_prefix

    parser = FastPhoneParser(region)
    rng = random.Random(f"zones-{region}")
    for _ in range(5000):
        e164 = "+" + parser.cc + "".join(rng.choice("0123456789") for _ in range(9))
        for ntype in (PhoneNumberType.FIXED_LINE, PhoneNumberType.MOBILE):
            found = parser._zone(e164, ntype)
            key = e164[1 : 1 + TIMEZONE_LONGEST_PREFIX] if parser.geographical[ntype] else parser.cc
            assert found == _zone_for_prefix(key)
    assert len(parser.zone_cache) < 100
