"""The staged (COPY) importer and the batch importer give the same result: the same contacts,
field for field, the same rejected rows with the same reasons, the same counts and the same
call targets, on the import tests' own files and on a generated messy file, under each rule
for repeated people. (PostgreSQL only: the staged importer is PostgreSQL's.)"""

import random

import pytest

from ringround.calling.models import CallTarget
from ringround.contacts import staged as staging
from ringround.contacts.models import CONTACT_FIELDS, Contact, Suppression
from ringround.imports import jobs, services
from ringround.imports.contacts import ContactImporter
from ringround.imports.models import Import, RejectedRow
from ringround.imports.staged import StagedContactImporter
from tests.factories import ALL_DAY, make_campaign, the_team
from tests.imports.conftest import (
    HEADER,
    csv_bytes,
    e164_landline,
    landline,
    member_rows,
    mobile,
    write_csv,
)
from tests.imports.test_import_contacts import MESSY, resumable_rows

pytestmark = [pytest.mark.django_db, pytest.mark.postgres_only]

RULES = [Import.Repeats.FILL_BLANKS, Import.Repeats.KEEP_FIRST, Import.Repeats.KEEP_LAST]
STORED = {"first_name": "Stored", "last_name": "", "area": "Holborn", "tags": ""}
COUNTS = ("rows_read", "created", "updated", "unchanged", "rejected", "duplicates")


def run(path, engine, *, mapping=None, batch_size=4, workers=1, **options):
    options.setdefault("team", the_team())
    job = services.create_import(path=path, **options)
    services.set_mapping(job, mapping or job.mapping)
    services.start_import(job, background=False)
    importer = jobs.importer_for(job, engine=engine)
    assert type(importer) is (StagedContactImporter if engine == "staged" else ContactImporter)
    return jobs.run_import(job, engine=engine, batch_size=batch_size, workers=workers)


def outcome(job):
    """Everything an import leaves behind that a person could see, ids aside."""
    source = job.source_label  # names the import itself
    contacts = sorted(
        tuple("this import" if value == source else str(value) for value in row)
        for row in Contact.objects.values_list(*CONTACT_FIELDS, "team_id")
    )
    rejected = list(
        RejectedRow.objects.filter(source_import=job)
        .order_by("row_number")
        .values_list("row_number", "reason", "values")
    )
    targets = sorted(
        CallTarget.objects.values_list("contact__phone", "contact__external_id", "phone", "state")
    )
    counts = {name: getattr(job, name) for name in COUNTS}
    counts["targets_added"] = job.targets_added
    counts["summary"] = job.rejection_summary
    return {"counts": counts, "contacts": contacts, "rejected": rejected, "targets": targets}


def both_engines(make_file, *, stored=(), campaign=None, **options):
    """Import the same file into the same starting contacts with each engine."""
    results = {}
    for engine in ("batches", "staged"):
        CallTarget.objects.all().delete()
        Contact.objects.all().delete()
        for fields in stored:
            Contact.objects.create(team=the_team(), **{**STORED, **fields})
        job = run(make_file(engine), engine, campaign=campaign, **options)
        assert job.status == Import.Status.DONE
        results[engine] = outcome(job)
        assert not staging.exists(job.pk)
    return results["batches"], results["staged"]


def assert_same(batches, staged):
    assert staged["counts"] == batches["counts"]
    assert staged["rejected"] == batches["rejected"]
    assert staged["contacts"] == batches["contacts"]
    assert staged["targets"] == batches["targets"]


# -- the import tests' own files --------------------------------------------------------------


@pytest.mark.parametrize("repeats", RULES)
def test_the_messy_file_gives_the_same_contacts_and_rejections(tmp_path, repeats):
    batches, staged = both_engines(
        lambda engine: write_csv(tmp_path / f"messy-{engine}.csv", MESSY), repeats=repeats
    )
    assert batches["counts"]["rejected"] == 3  # the file is still what it was
    assert_same(batches, staged)


@pytest.mark.parametrize("repeats", RULES)
def test_people_repeated_across_batches_merge_the_same(tmp_path, repeats):
    rows = resumable_rows() + member_rows(40, start=100)
    rows[13] = [*rows[12][:6], "donor"]  # the same person, next batch, with a new tag
    rows[17] = ["", *rows[16][1:5], "", "lapsed"]  # and by phone, without the id
    rows.append(["M00003", "Renamed", "Person", mobile(3), landline(77), "Elsewhere", "x"])
    batches, staged = both_engines(
        lambda engine: write_csv(tmp_path / f"f-{engine}.csv", rows), repeats=repeats
    )
    assert batches["counts"]["duplicates"] >= 3
    assert_same(batches, staged)


@pytest.mark.parametrize("repeats", RULES)
def test_stored_contacts_are_matched_and_merged_the_same(tmp_path, repeats):
    stored = [
        {"external_id": "M1", "first_name": "Jane", "phone": e164_landline(1), "tags": ",a,"},
        {"external_id": "", "first_name": "", "phone": e164_landline(5), "area": "Holborn"},
        {"external_id": "X9", "first_name": "Shares", "phone": e164_landline(2)},
        {"external_id": "M00020", "first_name": "Old", "phone": e164_landline(999)},
    ]
    rows = MESSY + member_rows(30)
    batches, staged = both_engines(
        lambda engine: write_csv(tmp_path / f"s-{engine}.csv", rows),
        stored=stored,
        repeats=repeats,
    )
    assert batches["counts"]["updated"] + batches["counts"]["unchanged"] >= 3
    assert_same(batches, staged)


def test_numbers_countries_custom_fields_tags_and_long_values_the_same(tmp_path):
    header = ["Name", "Phone", "Other phone", "Country", "Email", "Postcode", "Tags", "Tier"]
    rows = [
        ["Jane Q Smith", "020 7946 0001 / 07911 100001", "", "uk", "jane@example.org", "wc1x8aa"],
        ["Smith, Bob", "0161 496 0000", "07911 100002", "", "not-an-email", "m1 1aa", "a;b"],
        ["Eire Person", "01 234 5678", "", "Ireland", "", "", "member"],
        ["Nowhere", "020 7946 0003", "", "Atlantis", "", "", ""],
        ["x" * 200, "020 7946 0004", "", "", "", "", ""],
        ["Two", "07911 100001", "020 7946 0001", "", "", "", "", "gold"],
        ['Quote "Q" \\ tab\there', "020 7946 0006", "", "", "", "", ""],
        ["Line\nbreak", "0044 20 7946 0007", "", "GB", "", "", ""],
        ["Tagged", "020 7946 0008", "", "", "", "", ",".join(f"tag{n}" for n in range(100))],
        ["Wide", "020 7946 0009", *[""] * 6, *(["spill"] * 3)],
    ]
    batches, staged = both_engines(
        lambda engine: write_csv(tmp_path / f"c-{engine}.csv", rows, header=header),
        tags="members-2024",
    )
    assert batches["counts"]["rejected"] >= 3
    assert_same(batches, staged)


def test_a_campaign_import_makes_the_same_targets(tmp_path):
    campaign = make_campaign(**ALL_DAY)
    Suppression.objects.create(phone=e164_landline(1))
    rows = member_rows(12) + [list(member_rows(1, start=3)[0])]
    batches, staged = both_engines(
        lambda engine: write_csv(tmp_path / f"t-{engine}.csv", rows),
        stored=[{"external_id": "M00005", "phone": e164_landline(5)}],
        campaign=campaign,
    )
    assert batches["counts"]["targets_added"] == 12
    assert any(state == CallTarget.State.SUPPRESSED for *_, state in batches["targets"])
    assert_same(batches, staged)


# -- a generated messy file -------------------------------------------------------------------


def messy_rows(seed: int, count: int = 600):
    """A membership export as they come: numbers typed every way and some not numbers at all,
    people repeated (by id, by number, two members on one landline), blank cells and rows,
    accents, quotes, tabs and backslashes, too-long values, short and over-long rows."""
    rng = random.Random(seed)
    names = ["Zoë", "Seán", "Renée", "O'Brien", "José", "Ann", "Kwame", "Agnieszka", "Chloë"]
    rows, earlier = [], []
    for n in range(count):
        roll = rng.random()
        if roll < 0.08 and earlier:
            row = list(rng.choice(earlier))  # someone again
            change = rng.random()
            if change < 0.3:
                row[0] = ""  # without their id: matched by number
            elif change < 0.5:
                row[6] = rng.choice(["donor", "volunteer", ""])
            elif change < 0.7:
                row[3] = mobile(rng.randint(0, 99_999))  # a new mobile
            elif change < 0.8:
                row[1] = ""
            rows.append(row)
            continue
        if roll < 0.11 and earlier:
            row = list(rng.choice(earlier))  # another member on the same landline
            row[0] = f"S{n:05d}"
            row[1] = rng.choice(names)
            rows.append(row)
            continue
        if roll < 0.13:
            rows.append([""] * len(HEADER))  # a blank row
            continue
        number = rng.randint(0, 9_999)
        home = rng.choice(
            [
                landline(number),
                f"+44 (0)20 7946 {number:04d}",
                f"0044 20 7946 {number:04d}",
                f"(020) 7946-{number:04d}",
                f"207946{number:04d}",
                "",
            ]
        )
        mob = mobile(rng.randint(0, 99_999)) if rng.random() < 0.5 else ""
        if roll > 0.94:
            bad = rng.choice(["n/a", "7.7009E+09", "0800 123", "unknown", "012345678901234"])
            home, mob = (bad, "") if rng.random() < 0.5 else (home, bad)
        first = rng.choice(names)
        if rng.random() < 0.03:
            first = "Long" * 60  # longer than a first name may be
        if rng.random() < 0.03:
            first = f'{first} "the" \\ \t tab'
        row = [
            f"M{n:05d}" if rng.random() < 0.7 else "",
            first,
            rng.choice(["Smith", "Ó'Súilleabháin", "", "Müller", "Nguyen"]),
            mob,
            home,
            rng.choice(["Holborn", "Islington  North", "", "Leeds\nEast"]),
            rng.choice(["member", "member, donor", "", "LAPSED;member", "volunteer"]),
        ]
        if rng.random() < 0.02:
            row = row[:4]  # a short row
        elif rng.random() < 0.02:
            row = [*row, "spilled", "over"]
        rows.append(row)
        if rng.random() < 0.2:
            earlier.append(row[: len(HEADER)] + [""] * (len(HEADER) - len(row)))
    return rows


@pytest.mark.parametrize("repeats", RULES)
@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "cp1252"])
def test_a_generated_messy_file_gives_the_same_result(tmp_path, repeats, encoding):
    rows = messy_rows(seed=16 + len(encoding))
    if encoding == "cp1252":
        rows = [[cell.replace("Ó", "O").replace("á", "a") for cell in row] for row in rows]
    stored = [
        {"external_id": "M00007", "first_name": "", "phone": e164_landline(7)},
        {"external_id": "", "phone": e164_landline(8), "tags": ",lapsed,"},
    ]

    def make_file(engine):
        path = tmp_path / f"messy-{engine}.csv"
        path.write_bytes(csv_bytes(rows, encoding=encoding))
        return path

    batches, staged = both_engines(make_file, stored=stored, repeats=repeats, batch_size=50)
    counts = batches["counts"]
    assert counts["rejected"] > 10 and counts["duplicates"] > 10 and counts["created"] > 300
    assert_same(batches, staged)


@pytest.mark.django_db(transaction=True)  # worker processes, and the merge's own transaction
def test_worker_processes_stage_the_same_as_one_process(tmp_path):
    rows = messy_rows(seed=7, count=400)
    results = []
    for workers in (1, 2):
        CallTarget.objects.all().delete()
        Contact.objects.all().delete()
        path = write_csv(tmp_path / f"w{workers}.csv", rows)
        job = run(path, "staged", workers=workers, batch_size=40)
        results.append(outcome(job))
    assert_same(results[0], results[1])


def test_contacts_sharing_a_number_are_met_in_the_batch_importers_order(tmp_path):
    """Which of two contacts with one number a later row merges into is the one made first.
    A person staged in the first batch (twice in it) is made at the merge, after the new
    people of the second batch were stored: the ids each row had reserved when its batch was
    written keep the batch importer's order."""
    first = ["M1", "Staged", "Person", mobile(1), "", "Holborn", ""]
    rows = [
        first,
        ["M1", "Staged", "Again", mobile(2), "", "", ""],  # twice in batch 1: staged
        *member_rows(2, start=50),
        ["", "Stored", "AtOnce", mobile(3), "", "", ""],  # batch 2: new, stored at once
        *member_rows(3, start=60),
        ["M1", "Staged", "Moved", mobile(3), "", "", ""],  # batch 3: M1 takes mobile 3
        *member_rows(3, start=70),
        ["", "Which", "", mobile(3), "", "", "asked"],  # batch 4: two contacts, mobile 3
    ]
    batches, staged = both_engines(
        lambda engine: write_csv(tmp_path / f"o-{engine}.csv", rows),
        repeats=Import.Repeats.KEEP_LAST,
    )
    merged = [row for row in batches["contacts"] if ",asked," in row]
    assert len(merged) == 1 and "M1" in merged[0]  # the staged person, made first
    assert_same(batches, staged)
