"""``ringround import FILE``: the command line, its progress bar, and carrying on after a kill."""

import io

import pytest
from django.core.management import CommandError, call_command

from ringround.contacts.models import Contact, Suppression
from ringround.imports import jobs, services
from ringround.imports.models import Import, SavedMapping
from tests.factories import make_campaign, make_team, the_team
from tests.imports.conftest import another_import_running, member_rows, write_csv

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _one_team():
    """With one team, the command imports into it without being told."""
    the_team()


def run(*args):
    out, err = io.StringIO(), io.StringIO()
    call_command("import_contacts", *map(str, args), stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_imports_a_file_with_progress_and_a_summary(tmp_path):
    rows = member_rows(5)
    rows[2][4] = "7.7009E+09"
    campaign = make_campaign()
    path = write_csv(tmp_path / "members.csv", rows)
    out, err = run(path, f"--campaign={campaign.public_id}", "--tag", "autumn", "--batch-size", 2)
    assert "Detected: CSV, UTF-8, comma-separated, 7 columns." in err
    assert "Membership number" in err and "external_id" in err
    assert "100%" in err and "[####" in err  # the progress bar
    assert "Read 5 rows" in out and "4 created" in out and "1 rejected" in out
    assert "4 added to" in out
    rejected = tmp_path / "members-rejected.csv"
    assert f"Rejected rows, with the reason for each: {rejected}" in out
    assert "scientific notation" in rejected.read_text(encoding="utf-8-sig")
    assert Contact.objects.with_tag("autumn").count() == 4
    assert campaign.targets.count() == 4


def test_running_the_same_command_again_carries_on_after_a_kill(tmp_path):
    path = write_csv(tmp_path / "members.csv", member_rows(9))
    job = services.create_import(path=path, team=the_team())
    services.start_import(job, background=False)
    jobs.run_import(job, batch_size=2, stop_after_batches=2)  # then killed
    Import.objects.filter(pk=job.pk).update(heartbeat_at=job.heartbeat_at.replace(year=2020))
    out, err = run(path, "--no-progress")
    assert "Resuming import" in err and "after 4 rows" in err
    job.refresh_from_db()
    assert job.status == Import.Status.DONE and job.created == 9
    assert Contact.objects.count() == 9
    out, err = run(path, "--no-progress")  # and once more: a new import, nothing new
    assert "0 created" in out and "9 unchanged" in out


def test_refuses_to_run_alongside_itself(tmp_path):
    path = write_csv(tmp_path / "members.csv", member_rows(4))
    job = services.create_import(path=path, team=the_team())
    services.start_import(job, background=False)
    jobs.run_import(job, batch_size=2, stop_after_batches=1)  # still "running"
    with another_import_running(), pytest.raises(CommandError, match="running now"):
        run(path)


def test_a_saved_mapping_and_column_overrides(tmp_path):
    path = write_csv(tmp_path / "members.csv", member_rows(2))
    run(path, "--map", "Area=ignore", "--save-mapping", "Members", "--no-progress")
    assert SavedMapping.objects.get(name="Members").fields["area"] == "ignore"
    Contact.objects.all().delete()
    run(path, "--mapping", "Members", "--restart", "--no-progress")
    assert set(Contact.objects.values_list("area", flat=True)) == {""}


@pytest.mark.parametrize(
    "args,message",
    [
        (["--mapping", "Nope"], "No saved mapping “Nope”"),
        (["--campaign", "nope"], "No campaign with id nope"),
        (["--map", "Nope=phone"], "No column “Nope”"),
        (["--map", "Mobile=ignore", "--map", "Telephone=ignore"], "at least one column"),
    ],
)
def test_mistakes_get_a_clear_message(tmp_path, args, message):
    path = write_csv(tmp_path / "members.csv", member_rows(2))
    with pytest.raises(CommandError, match=message):
        run(path, *args)
    assert Contact.objects.count() == 0


def test_a_bad_file_gets_a_clear_message(tmp_path):
    path = tmp_path / "photo.csv"
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)))
    with pytest.raises(CommandError, match="not a CSV or Excel file"):
        run(path)
    with pytest.raises(CommandError, match="No such file"):
        run(tmp_path / "missing.csv")


def test_a_do_not_call_list(tmp_path):
    path = tmp_path / "tps.txt"
    path.write_bytes(b"020 7946 0001\n020 7946 0002\n")
    out, _err = run(path, "--suppressions", "--reason", "tps", "--no-progress")
    assert "2 created" in out
    assert Suppression.objects.count() == 2


def test_with_several_teams_the_command_asks_which_and_imports_into_the_one_named(tmp_path):
    other = make_team("Camden Unison")
    path = write_csv(tmp_path / "members.csv", member_rows(3))
    with pytest.raises(CommandError, match="Say which team with --team"):
        run(path, "--no-progress")
    assert Contact.objects.count() == 0
    run(path, "--team", "camden unison", "--no-progress")
    assert Contact.objects.filter(team=other).count() == 3
    assert Contact.objects.exclude(team=other).count() == 0
    with pytest.raises(CommandError, match="No team “Nobody”"):
        run(path, "--team", "Nobody", "--no-progress", "--restart")


def test_a_list_for_every_team_is_only_for_numbers(tmp_path):
    make_team("Camden Unison")
    path = write_csv(tmp_path / "tps.csv", [["020 7946 0001"]], header=["Number"])
    with pytest.raises(CommandError, match="--every-team is for a list of numbers"):
        run(path, "--every-team", "--no-progress")
    run(path, "--suppressions", "--every-team", "--no-progress")
    assert list(Suppression.objects.values_list("phone", "team")) == [("+442079460001", None)]
