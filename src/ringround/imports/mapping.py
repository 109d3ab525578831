"""Which column holds what: guessed from the headers, corrected by the organiser, saved by name.

A mapping is a list with one field code per column. Columns mapped to ``custom`` become custom
fields named after their header (usable in a call script as ``{{ name }}``); ``ignore`` drops a
column. Several columns may be phones: the first non-empty valid one (left to right) is the
number called, the others are kept in that order of preference.
"""

import re
import unicodedata

from django.utils.text import capfirst

from ringround.contacts.models import CONTACT_FIELDS, Contact

# What an import works out for itself rather than reads from a column.
COMPUTED = ("phone_as_typed", "phone_type", "other_phones", "time_zone", "custom_fields", "source")
LABELS = {
    "full_name": "Full name (split into first and last)",
    "phone": "Phone number",
    "postcode": "Postcode / ZIP",
    "area": "Area / constituency",
    "country": "Country of the phone numbers",
    "custom": "Custom field (named after the column)",
    "ignore": "Ignore this column",
}


def _fields() -> list[tuple[str, str]]:
    """The choices for a column: the contact's own fields (``CONTACT_FIELDS``, so a new field
    can be imported at once), a full name to split, the numbers' country, or a custom field."""
    model = {field.name: field for field in Contact._meta.concrete_fields}
    codes = [name for name in CONTACT_FIELDS if name not in COMPUTED]
    codes.insert(codes.index("last_name") + 1, "full_name")
    codes += ["country", "custom", "ignore"]
    return [(code, LABELS.get(code) or capfirst(str(model[code].verbose_name))) for code in codes]


FIELDS = _fields()
FIELD_CODES = {code for code, _ in FIELDS}
SINGLE_FIELDS = FIELD_CODES - {"phone", "custom", "ignore"}

# Normalised header words -> field. Checked whole first, then by the words a header contains.
SYNONYMS = {
    "first_name": [
        "first name",
        "firstname",
        "forename",
        "forenames",
        "given name",
        "first",
        "christian name",
        "fname",
    ],
    "last_name": ["last name", "lastname", "surname", "family name", "last", "lname"],
    "full_name": ["name", "full name", "fullname", "contact name", "member name", "person"],
    "phone": [
        "phone",
        "phone number",
        "telephone",
        "telephone number",
        "tel",
        "tel no",
        "mobile",
        "mobile number",
        "mobile phone",
        "mob",
        "cell",
        "cell phone",
        "landline",
        "home phone",
        "work phone",
        "phone 1",
        "phone 2",
        "contact number",
        "number",
        "daytime phone",
        "evening phone",
        "other phone",
        "alternative phone",
    ],
    "email": ["email", "e mail", "email address", "e mail address", "mail"],
    "postcode": ["postcode", "post code", "zip", "zip code", "zipcode", "postal code"],
    "area": [
        "area",
        "constituency",
        "ward",
        "district",
        "region",
        "state",
        "county",
        "seat",
        "electoral area",
        "branch",
        "clp",
    ],
    "external_id": [
        "membership number",
        "membership no",
        "membership id",
        "member number",
        "member no",
        "member id",
        "voter id",
        "voter number",
        "elector number",
        "elector id",
        "external id",
        "id",
        "urn",
        "reference",
        "ref",
    ],
    "tags": ["tags", "tag", "labels", "label", "groups", "lists"],
    "country": ["country", "country code", "nation"],
}
# A header containing one of these words is that field ("Mobile (preferred)", "Home tel").
_WORD_HINTS = [
    ("phone", {"phone", "mobile", "telephone", "tel", "landline", "cell"}),
    ("email", {"email"}),
    ("postcode", {"postcode", "zip"}),
    ("first_name", {"forename", "firstname"}),
    ("last_name", {"surname", "lastname"}),
    ("area", {"constituency", "ward"}),
]


def normalise_header(header: str) -> str:
    """ "First_Name " -> "first name"; "E-mail" -> "e mail"."""
    text = unicodedata.normalize("NFKD", header or "").encode("ascii", "ignore").decode()
    text = re.sub(r"[^a-z0-9]+", " ", text.lower())
    return " ".join(text.split())


for _code, _label in FIELDS:  # a contact's field without synonyms is known by its own name
    if _code in CONTACT_FIELDS:
        SYNONYMS.setdefault(_code, [_code.replace("_", " "), normalise_header(_label)])
_LOOKUP = {words: code for code, names in SYNONYMS.items() for words in names}


def custom_key(header: str) -> str:
    """A custom field's name, usable as a script merge field: "Membership tier" -> "membership_tier"."""
    return normalise_header(header).replace(" ", "_") or "column"


def guess_field(header: str) -> str:
    words = normalise_header(header)
    if words in _LOOKUP:
        return _LOOKUP[words]
    present = set(words.split())
    for code, hints in _WORD_HINTS:
        if present & hints:
            return code
    return "custom"


def guess_mapping(headers: list[str]) -> list[str]:
    """A field per column; a single-valued field goes to its first column only."""
    mapping, taken = [], set()
    for header in headers:
        code = guess_field(header)
        if code in SINGLE_FIELDS:
            if code in taken:
                code = "custom"
            taken.add(code)
        mapping.append(code)
    if "full_name" in taken and {"first_name", "last_name"} <= taken:
        mapping = ["custom" if c == "full_name" else c for c in mapping]
    return mapping


def apply_saved(headers: list[str], saved_fields: dict) -> list[str]:
    """A saved mapping applied by header name; columns it does not know are guessed."""
    guessed = guess_mapping(headers)
    return [
        saved_fields.get(normalise_header(h), guess)
        for h, guess in zip(headers, guessed, strict=True)
    ]


def mapping_fields(headers: list[str], mapping: list[str]) -> dict:
    """The form a mapping is saved in: normalised header -> field code."""
    return {normalise_header(h): code for h, code in zip(headers, mapping, strict=True)}


def same_shape(headers: list[str], saved_headers: list[str]) -> bool:
    return [normalise_header(h) for h in headers] == [normalise_header(h) for h in saved_headers]


def check_mapping(headers: list[str], mapping: list[str], *, kind: str = "contacts") -> list[str]:
    """Problems with a mapping, in words (an empty list when it can be used)."""
    problems = []
    if len(mapping) != len(headers):
        return ["The mapping does not have one field per column."]
    unknown = [c for c in mapping if c not in FIELD_CODES]
    if unknown:
        problems.append(f"Unknown field: {', '.join(sorted(set(unknown)))}.")
    if "phone" not in mapping:
        problems.append("Choose at least one column with phone numbers.")
    if kind == "contacts":
        for code in sorted(SINGLE_FIELDS):
            if mapping.count(code) > 1:
                label = dict(FIELDS)[code]
                problems.append(f"Only one column can be “{label}”.")
    return problems


def custom_keys(headers: list[str], mapping: list[str]) -> dict[int, str]:
    """Column index -> custom field name, made unique ("notes", "notes_2")."""
    keys, used = {}, set()
    for index, (header, code) in enumerate(zip(headers, mapping, strict=True)):
        if code != "custom":
            continue
        key = base = custom_key(header)
        n = 1
        while key in used:
            n += 1
            key = f"{base}_{n}"
        used.add(key)
        keys[index] = key
    return keys
