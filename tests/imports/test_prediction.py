"""The prediction: what an import will do, worked out before it runs with the import's own
cleaning and matching, writing nothing, and bounded however big the file."""

import itertools

import pytest

from ringround.contacts.models import Contact
from ringround.imports import jobs, prediction, services
from ringround.imports.models import Import, RejectedRow
from ringround.imports.rows import MAX_REASON_KINDS, reason_kind, summarise_rejects
from tests.factories import ContactFactory, the_team
from tests.imports.conftest import e164_landline, landline, member_rows, mobile, write_csv

pytestmark = pytest.mark.django_db

# Rejected rows (three reasons), people twice in the file, and people already stored.
SMALL = [
    ["M1", "Jane", "Smith", mobile(1), landline(1), "Holborn", "member"],
    ["M2", "Bob", "Jones", "", "not known", "", ""],  # rejected: not a number
    ["M3", "Ann", "Lee", "", "7.7009E+09", "", ""],  # rejected: scientific notation
    ["M1", "Janet", "", "", landline(1), "Camden", "donor"],  # Jane again
    ["M4", "Kim", "Poe", "", "", "", ""],  # rejected: no number
    ["", "", "", "", "", "", ""],  # blank
    ["M5", "Stored", "Person", "", landline(5), "Islington", ""],  # stored: name differs
    ["", "Sam", "Roe", "", landline(6), "", ""],  # stored, by phone: adds nothing
    ["M7", "Zed", "Ng", "", "rubbish", "", ""],  # rejected: not a number
    ["M8", "Ola", "Bee", "", landline(8), "", ""],
    ["M8", "Ola", "Bee", "", landline(8), "", "volunteer"],  # Ola again
]


def stored_people():
    ContactFactory(external_id="M5", first_name="", last_name="Person", phone=e164_landline(5))
    ContactFactory(external_id="", first_name="Sam", last_name="Roe", phone=e164_landline(6))


def new_import(path, **options):
    return services.create_import(path=path, team=the_team(), **options)


def run(job):
    services.start_import(job, background=False)
    return jobs.run_import(job, workers=1)


def stored_state():
    return sorted(Contact.objects.values_list("public_id", "first_name", "phone", "tags"))


@pytest.mark.parametrize("repeats", Import.Repeats.values)
def test_the_prediction_equals_the_real_imports_counts(tmp_path, repeats):
    stored_people()
    job = new_import(write_csv(tmp_path / "small.csv", SMALL), repeats=repeats)
    before = stored_state()
    predicted = prediction.predict(job)
    assert stored_state() == before  # the prediction wrote nothing
    assert not RejectedRow.objects.exists()
    assert predicted.whole_file and predicted.records_read == len(SMALL)
    job = run(job)
    assert predicted.counts() == job.counts()
    assert predicted.duplicates == job.duplicates == 2
    assert predicted.stored == job.stored_matches == 2
    assert predicted.reasons == job.top_rejections()
    assert predicted.rejected == 4 and predicted.reasons[0]["rows"] == 2


def test_the_counts_differ_by_rule_as_the_rule_says(tmp_path):
    stored_people()
    job = new_import(write_csv(tmp_path / "small.csv", SMALL))
    counts = {
        rule: prediction.predict(job, repeats=rule).counts() for rule in Import.Repeats.values
    }
    # Jane again and Ola again, and the stored M5 (no first name on record), change nothing
    # under "keep first"; "fill blanks" fills M5's name and adds tags; "keep last" too.
    assert (counts["keep_first"]["updated"], counts["keep_first"]["unchanged"]) == (0, 4)
    assert (counts["fill_blanks"]["updated"], counts["fill_blanks"]["unchanged"]) == (3, 1)
    assert (counts["keep_last"]["updated"], counts["keep_last"]["unchanged"]) == (3, 1)
    assert {c["created"] for c in counts.values()} == {2}


def test_the_top_reason_comes_with_example_rows(tmp_path):
    """The newcomer's file: 21 of 30 rows rejected, and the page must say so first."""
    rows = member_rows(30)
    for n in range(21):
        rows[n][4] = "unknown" if n % 3 else ""
    job = new_import(write_csv(tmp_path / "bad.csv", rows))
    predicted = prediction.predict(job)
    assert (predicted.rejected, predicted.created) == (21, 9)
    top = predicted.reasons[0]
    assert top["rows"] == 14 and top["reason"].startswith("phone number “…”")
    assert top["examples"] == [3, 4, 6]  # spreadsheet rows: the header is row 1
    assert predicted.reasons[1] == {"reason": "no phone number", "rows": 7, "examples": [2, 5, 8]}


def test_a_proposed_mapping_is_predicted_without_being_saved(tmp_path):
    job = new_import(write_csv(tmp_path / "small.csv", member_rows(5)))
    mapping = ["ignore" if code == "phone" else code for code in job.mapping]
    assert prediction.predict(job, mapping=mapping).problems == [
        "Choose at least one column with phone numbers."
    ]
    with_area_as_phone = ["phone" if code == "area" else code for code in mapping]
    predicted = prediction.predict(job, mapping=with_area_as_phone)
    assert predicted.rejected == 5 and "not a phone number" in predicted.reasons[0]["reason"]
    job.refresh_from_db()
    assert "phone" in job.mapping and job.mapping != with_area_as_phone


def counting_rows(monkeypatch):
    """Count the rows the prediction takes from the file."""
    taken = []
    real = prediction.open_rows

    class Counted:
        def __init__(self, rows):
            self.rows = rows

        def __enter__(self):
            self.rows.__enter__()
            return self

        def __exit__(self, *exc):
            return self.rows.__exit__(*exc)

        def __iter__(self):
            for row in self.rows:
                taken.append(row[0])
                yield row

        done = property(lambda self: self.rows.done)
        total = property(lambda self: self.rows.total)

    monkeypatch.setattr(prediction, "open_rows", lambda *a, **k: Counted(real(*a, **k)))
    return taken


def test_a_big_files_prediction_reads_at_most_its_rows_and_says_so(tmp_path, monkeypatch):
    job = new_import(write_csv(tmp_path / "big.csv", member_rows(40_000)))
    taken = counting_rows(monkeypatch)
    predicted = prediction.predict(job, limit=5_000)
    assert len(taken) <= 5_001  # 5,000, and one to know whether there are more
    assert predicted.records_read == 5_000 and not predicted.whole_file
    assert predicted.created == 5_000
    assert 36_000 <= predicted.estimated_records <= 44_000  # roughly: from bytes read


def test_a_slow_read_stops_at_the_time_budget(tmp_path, monkeypatch):
    """The clock is the test's: each look at it is a second later."""
    job = new_import(write_csv(tmp_path / "big.csv", member_rows(3_000)))
    taken = counting_rows(monkeypatch)
    ticks = itertools.count()
    predicted = prediction.predict(job, seconds=2.5, clock=lambda: next(ticks))
    assert predicted.records_read == 3 * prediction.CHUNK
    assert len(taken) <= 3 * prediction.CHUNK + 1
    assert not predicted.whole_file and 2_700 <= predicted.estimated_records <= 3_300


def test_the_prediction_never_takes_ids_from_the_sequence(tmp_path):
    """On PostgreSQL the import reserves ids for new contacts; a prediction must not."""
    job = new_import(write_csv(tmp_path / "small.csv", member_rows(20)))
    before = ContactFactory(phone="+447911199999").pk
    assert prediction.predict(job).created == 20
    assert ContactFactory(phone="+447911199998").pk == before + 1


def test_reasons_are_counted_by_kind_without_the_rows_own_values():
    assert reason_kind("phone number “abc”: not a phone number") == (
        "phone number “…”: not a phone number"
    )
    assert reason_kind("the row has 9 columns but the header has 7") == (
        "the row has N columns but the header has N"
    )
    many = [(n, f"reason {chr(65 + n % 40)}{n % 40}", []) for n in range(2, 200)]
    summary = summarise_rejects({}, many)
    assert len(summary) == MAX_REASON_KINDS + 1  # and the rest, counted together
    assert sum(rows for rows, _examples in summary.values()) == len(many)
