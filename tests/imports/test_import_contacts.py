"""Importing contacts: counts, deduplication, numbers, rejections, resuming, campaigns."""

import datetime as dt

import pytest
from django.db import connection

from ringround.audit.models import AuditEvent
from ringround.calling import rules
from ringround.calling import targets as call_targets
from ringround.calling.models import CallTarget
from ringround.contacts.models import Contact, Suppression
from ringround.contacts.phones import time_zone_for
from ringround.imports import jobs, services
from ringround.imports.contacts import ContactImporter, InFlight
from ringround.imports.models import Import, RejectedRow
from tests.factories import (
    AT_ANY_HOUR,
    ContactFactory,
    make_campaign,
    make_organiser,
    make_volunteer,
    the_team,
)
from tests.imports.conftest import (
    HEADER,
    another_import_running,
    assert_counts_add_up,
    e164_landline,
    import_now,
    landline,
    member_rows,
    mobile,
    write_csv,
)

pytestmark = pytest.mark.django_db

MESSY = [
    ["M1", "Jane", "Smith", "07911 100001", "020 7946 0001", "Holborn", "member, donor"],
    ["M2", "Bob", "Jones", "", "+44 (0)20 7946 0002", "Islington", "member"],
    ["M3", "Ann", "Lee", "7.7009E+09", "", "", ""],  # a spreadsheet mangled it
    ["", "", "", "", "", "", ""],  # blank: skipped, not read
    ["M4", "Zed", "Ng", "", "not known", "", ""],
    ["M1", "Jane", "Smith", "07911 100001", "", "Holborn", ""],  # Jane again
    ["", "Sam", "Roe", "", "0044 20 7946 0005", "", ""],
    ["", "Sam", "Roe", "", "(020) 7946-0005", "", "volunteer"],  # Sam again, by phone
    ["M6", "Kim", "Poe", "", "", "", ""],  # no number at all
]


def test_counts_add_up_to_the_rows_read(tmp_path):
    job = import_now(write_csv(tmp_path / "messy.csv", MESSY))
    assert job.status == Import.Status.DONE
    assert job.rows_read == 8
    assert (job.created, job.updated, job.unchanged, job.rejected) == (3, 1, 1, 3)
    assert_counts_add_up(job)
    assert job.duplicates == 2
    assert Contact.objects.count() == 3


def test_rejected_rows_carry_their_row_number_and_reason(tmp_path):
    job = import_now(write_csv(tmp_path / "messy.csv", MESSY))
    rejected = {r.row_number: r for r in RejectedRow.objects.filter(source_import=job)}
    assert set(rejected) == {4, 6, 10}  # spreadsheet rows: the header is row 1
    assert "scientific notation" in rejected[4].reason
    assert "“not known”" in rejected[6].reason and "not a phone number" in rejected[6].reason
    assert rejected[10].reason == "no phone number"
    assert rejected[4].values == MESSY[2]


def test_reimporting_the_same_file_creates_nothing(tmp_path):
    path = write_csv(tmp_path / "messy.csv", MESSY)
    first = import_now(path)
    before = sorted(Contact.objects.values_list("public_id", "phone", "other_phones", "tags"))
    again = import_now(path)
    assert again.created == 0
    assert again.rows_read == first.rows_read
    assert again.updated + again.unchanged == again.rows_read - again.rejected
    assert_counts_add_up(again)
    assert sorted(Contact.objects.values_list("public_id", "phone", "other_phones", "tags")) == (
        before
    )


def test_reimporting_a_clean_file_reports_every_row_unchanged(tmp_path):
    path = write_csv(tmp_path / "members.csv", member_rows(30))
    import_now(path, batch_size=7)
    again = import_now(path, batch_size=7)
    assert (again.rows_read, again.unchanged, again.created, again.updated) == (30, 30, 0, 0)


def test_deduplicates_by_external_id_before_phone(tmp_path):
    existing = ContactFactory(external_id="M1", phone=e164_landline(50), first_name="Old")
    same_phone = ContactFactory(external_id="", phone=e164_landline(2), first_name="Bobby")
    rows = [
        ["M1", "Jane", "Smith", "", landline(1), "", ""],  # M1 has a new number now
        ["M2", "Bob", "Jones", "", landline(2), "", ""],  # matched by phone, gains the id
    ]
    job = import_now(write_csv(tmp_path / "f.csv", rows), repeats=Import.Repeats.KEEP_LAST)
    assert (job.created, job.updated) == (0, 2)
    existing.refresh_from_db()
    assert existing.first_name == "Jane"
    assert existing.phone == e164_landline(1)
    assert existing.other_phones == [e164_landline(50)]  # kept, in order of preference
    same_phone.refresh_from_db()
    assert same_phone.external_id == "M2" and same_phone.first_name == "Bob"


def test_two_members_sharing_a_landline_stay_two_people(tmp_path):
    rows = [
        ["M1", "Jane", "Smith", "", landline(1), "", ""],
        ["M2", "John", "Smith", "", landline(1), "", ""],
    ]
    job = import_now(write_csv(tmp_path / "f.csv", rows))
    assert job.created == 2
    assert Contact.objects.filter(phone=e164_landline(1)).count() == 2


def test_contacts_keep_every_number_in_order_of_preference(tmp_path):
    rows = [
        ["M1", "Jane", "Smith", mobile(1), f"{landline(1)} / {landline(2)}", "", ""],
        ["M2", "Bob", "Jones", "rubbish", landline(3), "", ""],
    ]
    import_now(write_csv(tmp_path / "f.csv", rows))
    jane = Contact.objects.get(external_id="M1")
    assert jane.phone == "+447911100001" and jane.phone_type == "mobile"
    assert jane.other_phones == [e164_landline(1), e164_landline(2)]
    bob = Contact.objects.get(external_id="M2")
    assert bob.phone == e164_landline(3) and bob.phone_type == "landline"
    assert bob.custom_fields["phones_not_valid"] == "rubbish"


@pytest.mark.parametrize(
    "typed",
    [
        "020 7946 0123",
        "+44 (0)20 7946 0123",
        "0044 20 7946 0123",
        "(020) 7946-0123",
        "2079460123",
        "+442079460123",
    ],
)
def test_the_forms_people_type_all_mean_one_number(tmp_path, typed):
    import_now(write_csv(tmp_path / "f.csv", [["", "A", "B", "", typed, "", ""]]))
    contact = Contact.objects.get()
    assert contact.phone == "+442079460123"
    assert contact.phone_as_typed == typed
    assert contact.time_zone == "Europe/London"


def test_a_per_row_country_column_and_the_default_country(tmp_path):
    header = ["Name", "Phone", "Country"]
    rows = [
        ["Aoife Byrne", "01 234 5678", "IE"],
        ["Jane Smith", "020 7946 0001", ""],
        ["Al Doe", "020 7946 0002", "Narnia"],
    ]
    job = import_now(write_csv(tmp_path / "f.csv", rows, header=header))
    assert job.mapping == ["full_name", "phone", "country"]
    assert set(Contact.objects.values_list("phone", flat=True)) == {
        "+35312345678",
        "+442079460001",
    }
    assert "unknown country" in RejectedRow.objects.get().reason
    aoife = Contact.objects.get(phone="+35312345678")
    assert (aoife.first_name, aoife.last_name) == ("Aoife", "Byrne")
    assert aoife.time_zone == time_zone_for(aoife.phone)  # as libphonenumber places it


def test_unmapped_columns_become_custom_fields_and_tags_are_added(tmp_path):
    header = ["Phone", "Membership tier", "Tags", "Notes"]
    rows = [[landline(1), "Gold", "Donor; VOLUNTEER", '=HYPERLINK("http://x","y")']]
    job = import_now(write_csv(tmp_path / "f.csv", rows, header=header), tags="members-2024")
    contact = Contact.objects.get()
    assert contact.custom_fields == {
        "membership_tier": "Gold",
        "notes": '=HYPERLINK("http://x","y")',  # stored as text, never run
    }
    assert contact.tag_list == ["donor", "members-2024", "volunteer"]
    assert contact.source == job.source_label
    assert contact.merge_fields()["membership_tier"] == "Gold"


def test_a_row_with_ten_thousand_columns_is_rejected_not_the_file(tmp_path):
    rows = member_rows(3)
    rows.insert(1, ["M9", "Wide", "Row", "", landline(9), "", "", *(["x"] * 9993)])
    job = import_now(write_csv(tmp_path / "f.csv", rows))
    assert (job.created, job.rejected) == (3, 1)
    rejected = RejectedRow.objects.get()
    assert "10,000 columns" in rejected.reason and "header has 7" in rejected.reason
    assert len(rejected.values) <= 600


def test_too_long_values_are_rejected_with_the_field(tmp_path):
    rows = [["M" * 101, "A", "B", "", landline(1), "", ""]]
    job = import_now(write_csv(tmp_path / "f.csv", rows))
    assert job.rejected == 1
    assert "membership number / voter id longer than 100" in RejectedRow.objects.get().reason


def test_many_rows_take_the_bulk_paths_and_update_in_bulk(tmp_path):
    """Enough rows for COPY on PostgreSQL (and bulk updates) in one batch."""
    rows = member_rows(450)
    job = import_now(write_csv(tmp_path / "a.csv", rows))
    assert job.created == 450
    renamed = [[*r[:1], r[1] + "x", *r[2:5], "Camden", r[6]] for r in rows]
    job = import_now(write_csv(tmp_path / "b.csv", renamed), repeats=Import.Repeats.KEEP_LAST)
    assert (job.created, job.updated) == (0, 450)
    assert Contact.objects.filter(area="Camden", first_name__endswith="x").count() == 450
    assert Contact.objects.values("public_id").distinct().count() == 450


def test_quotes_tabs_and_backslashes_survive_the_bulk_path(tmp_path):
    rows = member_rows(250)
    rows[0][1] = 'Jo "JJ"\tO\\Brien'
    rows[0][5] = "Line one\nline two"
    import_now(write_csv(tmp_path / "a.csv", rows))
    contact = Contact.objects.get(external_id="M00000")
    assert contact.first_name == 'Jo "JJ"\tO\\Brien'
    assert contact.area == "Line one\nline two"


# -- crash, kill, resume ---------------------------------------------------------------------


def full_import_result(tmp_path, rows, **options):
    job = import_now(write_csv(tmp_path / "whole.csv", rows), batch_size=4, **options)
    result = (job.rows_read, job.created, job.updated, job.unchanged, job.rejected)
    contacts = sorted(Contact.objects.values_list("external_id", "phone", "other_phones", "tags"))
    Contact.objects.all().delete()
    return result, contacts


def resumable_rows():
    rows = member_rows(14)
    rows[3][4] = "7.7009E+09"
    rows[9] = list(rows[2])  # a duplicate across batches
    return rows


def test_a_killed_import_resumes_without_duplicates(tmp_path):
    rows = resumable_rows()
    expected, contacts = full_import_result(tmp_path, rows)
    path = write_csv(tmp_path / "f.csv", rows)
    job = services.create_import(path=path, team=the_team())
    services.start_import(job, background=False)
    jobs.run_import(job, batch_size=4, stop_after_batches=2)  # killed after two batches
    job.refresh_from_db()
    assert job.status == Import.Status.RUNNING
    assert job.position == 8 and job.rows_read == 8
    assert Contact.objects.count() == job.created == 7
    assert not job.can_resume  # it looks alive until its heartbeat is old
    Import.objects.filter(pk=job.pk).update(heartbeat_at=job.heartbeat_at - dt.timedelta(hours=1))
    job.refresh_from_db()
    assert job.is_stalled and job.can_resume
    services.resume_import(job, background=False)
    job = jobs.run_import(job, batch_size=4)
    assert job.status == Import.Status.DONE
    assert (job.rows_read, job.created, job.updated, job.unchanged, job.rejected) == expected
    assert sorted(Contact.objects.values_list("external_id", "phone", "other_phones", "tags")) == (
        contacts
    )
    assert RejectedRow.objects.filter(source_import=job).count() == 1


def test_a_crash_mid_batch_loses_nothing_committed_and_can_be_rerun(tmp_path, monkeypatch):
    rows = resumable_rows()
    expected, contacts = full_import_result(tmp_path, rows)
    path = write_csv(tmp_path / "f.csv", rows)
    real_apply, calls = ContactImporter.apply, []

    def crashing_apply(self, staged):
        calls.append(1)
        result = real_apply(self, staged)  # writes, then dies before the batch commits
        if len(calls) == 3:
            raise RuntimeError("power cut")
        return result

    monkeypatch.setattr(ContactImporter, "apply", crashing_apply)
    job = services.create_import(path=path, team=the_team())
    services.start_import(job, background=False)
    with pytest.raises(RuntimeError):
        jobs.run_import(job, batch_size=4)
    job.refresh_from_db()
    assert job.status == Import.Status.FAILED and "power cut" in job.error
    assert job.position == 8 and Contact.objects.count() == job.created
    monkeypatch.setattr(ContactImporter, "apply", real_apply)
    job = jobs.run_import(job, batch_size=4)  # run again: carries on
    assert (job.rows_read, job.created, job.updated, job.unchanged, job.rejected) == expected
    assert sorted(Contact.objects.values_list("external_id", "phone", "other_phones", "tags")) == (
        contacts
    )


def test_an_import_that_is_running_is_not_run_twice(tmp_path):
    job = services.create_import(
        path=write_csv(tmp_path / "f.csv", member_rows(5)), team=the_team()
    )
    services.start_import(job, background=False)
    jobs.run_import(job, batch_size=2, stop_after_batches=1)
    with another_import_running(), pytest.raises(services.ImportBusy):
        jobs.run_import(job)


def test_a_killed_import_is_known_dead_at_once_on_postgresql(tmp_path):
    job = services.create_import(
        path=write_csv(tmp_path / "f.csv", member_rows(5)), team=the_team()
    )
    services.start_import(job, background=False)
    jobs.run_import(job, batch_size=2, stop_after_batches=1)  # then killed
    job.refresh_from_db()
    assert jobs.is_dead(job) is (connection.vendor == "postgresql")
    if connection.vendor == "postgresql":
        job = jobs.run_import(job)  # no need to wait for the heartbeat to go stale
        assert job.status == Import.Status.DONE and Contact.objects.count() == 5


def test_asking_whether_an_import_runs_is_one_statement_that_keeps_no_lock():
    """Behind PgBouncer in transaction pooling each statement may reach another server
    connection: trying the lock and releasing it must be one statement, or the lock can stay
    held by a connection nobody releases it on."""
    from django.test.utils import CaptureQueriesContext

    from ringround.imports.base import _IMPORT_LOCK, import_running

    if connection.vendor != "postgresql":
        assert import_running() is None
        return

    def advisory_locks_held_here():
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' "
                "AND pid = pg_backend_pid()"
            )
            return cursor.fetchone()[0]

    with CaptureQueriesContext(connection) as queries:
        assert import_running() is False
    assert len(queries) == 1
    assert advisory_locks_held_here() == 0
    with connection.cursor() as cursor:  # the lock is free for an import to take
        cursor.execute("SELECT pg_try_advisory_lock(%s)", [_IMPORT_LOCK])
        assert cursor.fetchone()[0]
        cursor.execute("SELECT pg_advisory_unlock(%s)", [_IMPORT_LOCK])
    with another_import_running():
        assert import_running() is True
        assert advisory_locks_held_here() == 0


def test_starting_the_same_file_again_after_a_kill_creates_no_duplicates(tmp_path):
    """Even as a brand-new import (not a resume), nothing is created twice."""
    path = write_csv(tmp_path / "f.csv", member_rows(10))
    job = services.create_import(path=path, team=the_team())
    services.start_import(job, background=False)
    jobs.run_import(job, batch_size=3, stop_after_batches=2)
    again = import_now(path)
    assert (again.created, again.unchanged) == (4, 6)
    assert Contact.objects.count() == 10


def spy(method, calls):
    def wrapped(*args, **kwargs):
        calls.append(args)
        return method(*args, **kwargs)

    return wrapped


@pytest.mark.django_db(transaction=True)  # on PostgreSQL a writer thread has its own connection
def test_worker_processes_give_the_same_result(tmp_path, monkeypatch):
    """Worker processes clean the rows; on PostgreSQL a thread writes each batch while the
    next is matched, so people repeated in consecutive batches must still be found."""
    rows = resumable_rows() + member_rows(40, start=100)
    rows[13] = [*rows[12][:6], "donor"]  # the same person, next batch, with a new tag
    rows[17] = [*rows[16][:5], "", "lapsed"]  # and by phone, without the id
    rows[17][0] = ""
    path = write_csv(tmp_path / "f.csv", rows)
    expected, contacts = full_import_result(tmp_path, rows)
    found_in_flight = []
    monkeypatch.setattr(InFlight, "add", spy(InFlight.add, found_in_flight))
    job = import_now(path, workers=2, batch_size=4)
    if connection.vendor == "postgresql":
        assert len(found_in_flight) == 14  # every batch was staged while another was written
    assert (job.rows_read, job.created, job.updated, job.unchanged, job.rejected) == expected
    assert sorted(Contact.objects.values_list("external_id", "phone", "other_phones", "tags")) == (
        contacts
    )


# -- campaigns -------------------------------------------------------------------------------


def test_an_import_into_a_campaign_makes_targets_once_and_respects_suppression(tmp_path):
    campaign = make_campaign(**AT_ANY_HOUR)
    Suppression.objects.create(phone=e164_landline(1))
    path = write_csv(tmp_path / "f.csv", member_rows(4))
    job = import_now(path, campaign=campaign)
    assert job.targets_added == 4
    states = dict(campaign.targets.values_list("phone", "state"))
    assert states[e164_landline(1)] == CallTarget.State.SUPPRESSED
    assert list(states.values()).count(CallTarget.State.READY) == 3
    assert import_now(path, campaign=campaign).targets_added == 0
    assert campaign.targets.count() == 4
    campaign.refresh_from_db()
    volunteer = make_volunteer(campaign)
    handed_out = set()
    while lease := rules.claim_next(campaign, volunteer):
        handed_out.add(lease.target.phone)
        rules.release(campaign, volunteer)
        CallTarget.objects.filter(pk=lease.target.pk).update(state=CallTarget.State.DONE)
    assert e164_landline(1) not in handed_out and len(handed_out) == 3


def test_imported_contacts_can_be_added_to_a_campaign_by_tag_or_area(tmp_path):
    organiser = make_organiser()
    campaign = make_campaign(organiser)
    rows = member_rows(3) + [["M9", "A", "B", "", landline(9), "Camden", "donor"]]
    job = import_now(write_csv(tmp_path / "f.csv", rows))
    assert call_targets.add_contacts_to_campaign(campaign, tag="donor", by=organiser) == 1
    assert call_targets.add_contacts_to_campaign(campaign, area="holborn", by=organiser) == 3
    assert (
        call_targets.add_contacts_to_campaign(campaign, source=job.source_label, by=organiser) == 0
    )
    assert campaign.targets.count() == 4


def test_a_changed_number_moves_to_the_contacts_call_targets(tmp_path):
    campaign = make_campaign()
    import_now(write_csv(tmp_path / "a.csv", member_rows(1)), campaign=campaign)
    moved = [["M00000", "First0", "Last0", "", landline(77), "Holborn", "member"]]
    import_now(write_csv(tmp_path / "b.csv", moved), repeats=Import.Repeats.KEEP_LAST)
    assert campaign.targets.get().phone == e164_landline(77)


def test_every_import_is_in_the_audit_log(tmp_path):
    job = import_now(write_csv(tmp_path / "f.csv", member_rows(2)))
    actions = list(
        AuditEvent.objects.filter(object_id=job.public_id)
        .order_by("pk")
        .values_list("action", flat=True)
    )
    assert actions == ["import.upload", "import.start", "import.finish"]
    finish = AuditEvent.objects.get(object_id=job.public_id, action="import.finish")
    assert finish.detail["created"] == 2 and finish.detail["read"] == 2


def test_header_names_are_guessed(tmp_path):
    path = write_csv(tmp_path / "f.csv", member_rows(1))
    job = services.create_import(path=path, team=the_team())
    assert job.mapping == [
        "external_id",
        "first_name",
        "last_name",
        "phone",
        "phone",
        "area",
        "tags",
    ]
    assert job.headers == HEADER


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("repeats", Import.Repeats.values)
def test_one_person_changed_in_consecutive_batches_ends_up_merged_once(tmp_path, repeats):
    """Batches in flight one after another each add to the same person, under every rule
    for repeated people as in one pass."""
    rows = member_rows(12)
    for position, tag in ((3, "donor"), (5, "volunteer"), (7, "councillor")):
        rows[position] = ["M00000", "First0", "Last0", mobile(position), landline(0), "", tag]
    rows[9] = ["", "Sam", "Phone", mobile(7), "", "Camden", "by-phone"]  # its number now?
    path = write_csv(tmp_path / "f.csv", rows)
    expected, contacts = full_import_result(tmp_path, rows, repeats=repeats)
    job = import_now(path, workers=2, batch_size=2, repeats=repeats)
    assert (job.rows_read, job.created, job.updated, job.unchanged, job.rejected) == expected
    assert sorted(Contact.objects.values_list("external_id", "phone", "other_phones", "tags")) == (
        contacts
    )
    person = Contact.objects.get(external_id="M00000")
    if repeats == Import.Repeats.KEEP_FIRST:
        assert person.tag_list == ["member"] and person.phone == e164_landline(0)
        assert Contact.objects.count() == 9
        return
    if repeats == Import.Repeats.FILL_BLANKS:  # the first number stays the one called
        assert person.tag_list == ["councillor", "donor", "member", "volunteer"]
        assert person.phone == e164_landline(0) and "+447911100007" in person.other_phones
        assert Contact.objects.count() == 9  # Sam's number is not yet anyone's first
        return
    assert person.tag_list == ["by-phone", "councillor", "donor", "member", "volunteer"]
    assert person.phone == "+447911100007" and e164_landline(0) in person.other_phones
    assert Contact.objects.count() == 8
