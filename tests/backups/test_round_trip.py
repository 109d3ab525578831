"""Backups: a restored database holds exactly what was backed up, on SQLite and PostgreSQL, and
a restore that cannot finish leaves the database as it was."""

import gzip
import json

import pytest
from django.contrib.admin.models import ADDITION, LogEntry
from django.contrib.auth.models import Group, Permission
from django.contrib.contenttypes.models import ContentType
from django.core.management import call_command
from django.core.management.base import CommandError
from django_otp.plugins.otp_totp.models import TOTPDevice

from ringround.api.models import ApiToken
from ringround.audit.models import AuditEvent
from ringround.backups import services
from ringround.calling.models import Call
from ringround.contacts.models import Contact
from tests.factories import ContactFactory
from tests.privacy.world import build_world

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def world():
    world = build_world()
    organisers = Group.objects.create(name="Regional organisers")
    organisers.permissions.set(Permission.objects.filter(codename__endswith="_campaign"))
    world.admin.groups.add(organisers)
    world.volunteer.user_permissions.add(Permission.objects.get(codename="view_contact"))
    LogEntry.objects.log_actions(
        world.admin.pk, [world.person], ADDITION, change_message="Added", single_object=True
    )
    TOTPDevice.objects.create(user=world.admin, name="phone", confirmed=True)
    ApiToken.objects.create(user=world.admin, name="crm", prefix="rr_abc", secret_hash="f" * 64)
    return world


def snapshot(exclude_actions=("backup.create", "backup.restore")) -> dict:
    """Every backed-up row, serialized (content types and permissions by natural key)."""
    rows = {}
    for model in services.backed_up_models():
        serialized = list(services.serialized_rows(model))
        if model is AuditEvent:
            serialized = [r for r in serialized if r["fields"]["action"] not in exclude_actions]
        rows[model._meta.label_lower] = sorted(
            json.dumps(r, cls=services.Encoder, sort_keys=True) for r in serialized
        )
    return rows


def counts(rows: dict) -> dict:
    return {label: len(serialized) for label, serialized in rows.items() if serialized}


def test_restore_over_the_same_database_gives_back_exactly_what_was_backed_up(world, tmp_path):
    path = tmp_path / "site.json.gz"
    before = snapshot()
    assert before["calling.call"] and before["otp_totp.totpdevice"] and before["auth.group"]

    call_command("backup", str(path))
    Contact.objects.all().delete()  # something to restore over
    call_command("restore", str(path), "--replace")

    after = snapshot()
    assert counts(after) == counts(before)
    assert after == before
    assert AuditEvent.objects.filter(action="backup.restore").count() == 1


def test_restore_into_an_empty_database(world, tmp_path, capsys):
    path = tmp_path / "site.json.gz"
    before = snapshot()
    call_command("backup", str(path))
    printed = capsys.readouterr().out
    assert "contacts.contact" in printed and "Backed up" in printed

    call_command("flush", interactive=False, verbosity=0)
    ContentType.objects.clear_cache()
    call_command("restore", str(path))
    printed = capsys.readouterr().out
    assert f"{Contact.objects.count():>12,}" in printed and "Restored" in printed
    assert snapshot() == before


def test_restored_database_goes_on_working(world, tmp_path):
    path = tmp_path / "site.json.gz"
    call_command("backup", str(path))
    top = Contact.objects.order_by("-pk").first().pk
    call_command("restore", str(path), "--replace")
    assert ContactFactory().pk > top  # ids continue after the restored rows
    first_call = Call.objects.order_by("pk").first()
    assert (
        first_call.started_at.microsecond
        == Call.objects.get(pk=first_call.pk).started_at.microsecond
    )
    assert world.admin.groups.get().permissions.count() > 0


def test_backup_file_is_private_and_complete(world, tmp_path):
    path = tmp_path / "site.json.gz"
    call_command("backup", str(path))
    assert (path.stat().st_mode & 0o077) == 0
    assert not (tmp_path / "site.json.gz.partial").exists()
    lines = gzip.open(path, "rt").read().splitlines()
    assert lines[0] == "[" and lines[-1] == "]"
    assert all(json.loads(line.rstrip(","))["model"] for line in lines[1:-1])
    assert not any('"sessions.session"' in line or "usersession" in line for line in lines)


def test_backup_refuses_to_overwrite_without_force(world, tmp_path):
    path = tmp_path / "site.json.gz"
    path.write_text("keep me")
    with pytest.raises(CommandError, match="already exists"):
        call_command("backup", str(path))
    assert path.read_text() == "keep me"
    call_command("backup", str(path), "--force")
    assert gzip.open(path, "rt").readline().strip() == "["


def test_the_backup_is_an_ordinary_django_fixture(world, tmp_path):
    path = tmp_path / "site.json.gz"
    before = snapshot()
    call_command("backup", str(path))
    call_command("flush", interactive=False, verbosity=0)
    ContentType.objects.clear_cache()
    call_command("loaddata", str(path), verbosity=0)
    assert snapshot() == before


def test_restore_refuses_a_database_holding_data(world, tmp_path):
    path = tmp_path / "site.json.gz"
    call_command("backup", str(path))
    before = snapshot(exclude_actions=())
    with pytest.raises(CommandError, match="already holds data.*--replace.*Nothing was changed"):
        call_command("restore", str(path))
    assert snapshot(exclude_actions=()) == before


def damaged_copies(path):
    lines = gzip.open(path, "rt").read().splitlines()
    good = lines[1:-1]
    contact_row = next(line for line in good if '"contacts.contact"' in line)
    bad_value = contact_row.replace('"time_zone":', '"created_at":"not a date","time_zone":', 1)
    yield "truncated gzip", path.read_bytes()[:-40]
    yield "no end", gzip.compress("\n".join(lines[:-1]).encode())
    yield "bad json", gzip.compress("\n".join(["[", *good[:3], "{oops", "]"]).encode())
    yield "not gzip", b"[\n]\n"
    yield (
        "foreign model",
        gzip.compress(
            "\n".join(
                ["[", *good, '{"model":"sessions.session","pk":"x","fields":{}}', "]"]
            ).encode()
        ),
    )
    yield (
        "unknown model",
        gzip.compress(
            "\n".join(["[", *good, '{"model":"nowhere.thing","pk":1,"fields":{}}', "]"]).encode()
        ),
    )
    yield "bad value", gzip.compress("\n".join(["[", *good, bad_value, "]"]).encode())
    yield (
        "dangling key",
        gzip.compress(
            "\n".join(
                [
                    "[",
                    *good,
                    '{"model":"calling.calltarget","pk":999999,"fields":{"campaign":999999,'
                    '"contact":999999,"phone":"+442079460000","state":"ready"}}',
                    "]",
                ]
            ).encode()
        ),
    )
    yield "not a list", gzip.compress(b'{"model": "contacts.contact"}')


def test_a_failed_restore_leaves_the_database_as_it_was(world, tmp_path):
    path = tmp_path / "site.json.gz"
    call_command("backup", str(path))
    Contact.objects.filter(pk=world.person.pk).update(first_name="Changed since the backup")
    before = snapshot(exclude_actions=())
    for name, content in damaged_copies(path):
        damaged = tmp_path / f"{name.replace(' ', '-')}.json.gz"
        damaged.write_bytes(content)
        with pytest.raises(CommandError, match="Nothing was changed"):
            call_command("restore", str(damaged), "--replace")
        ContentType.objects.clear_cache()
        assert snapshot(exclude_actions=()) == before, name
    assert Contact.objects.get(pk=world.person.pk).first_name == "Changed since the backup"


def test_restore_of_a_missing_file_says_so(db, tmp_path):
    with pytest.raises(CommandError, match="There is no file"):
        call_command("restore", str(tmp_path / "nothing.json.gz"))
