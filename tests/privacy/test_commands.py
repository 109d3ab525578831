"""The privacy management commands: subject_access and erase_contact."""

import json

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from ringround.audit.models import AuditEvent
from ringround.contacts.models import Contact
from ringround.privacy import services

pytestmark = pytest.mark.django_db


def test_subject_access_writes_the_file(world, tmp_path, capsys):
    out = tmp_path / "sam.json"
    call_command("subject_access", "--phone", "0117 496 0123", str(out))
    report = json.loads(out.read_text())
    assert report["search"] == {"phone": world.person.phone}
    assert report["contacts"][0]["contact"]["first_name"] == "Sam"
    assert (out.stat().st_mode & 0o077) == 0
    assert "1 contact, 1 call" in capsys.readouterr().out
    assert AuditEvent.objects.filter(action="privacy.subject_access", actor=None).exists()


def test_subject_access_by_email(world, tmp_path):
    out = tmp_path / "sam.json"
    call_command("subject_access", "--email", "sam.person@example.org", str(out))
    assert json.loads(out.read_text())["contacts"][0]["contact"]["id"] == world.person.public_id


@pytest.mark.parametrize(
    "args", [["--phone", "nonsense"], ["--email", "not-an-email"], ["--phone", "0121 496 0123"]]
)
def test_subject_access_refuses_bad_or_unknown_people(world, tmp_path, args):
    out = tmp_path / "x.json"
    with pytest.raises(CommandError):
        call_command("subject_access", *args, str(out))
    assert not out.exists()


def test_erase_contact_asks_first(world, monkeypatch):
    monkeypatch.setattr("builtins.input", lambda prompt: "no")
    with pytest.raises(CommandError, match="Nothing erased"):
        call_command("erase_contact", "--phone", world.person.phone)
    assert not services.is_erased(Contact.objects.get(pk=world.person.pk))


def test_erase_contact_erases_after_yes(world, monkeypatch, capsys):
    monkeypatch.setattr("builtins.input", lambda prompt: "yes")
    call_command("erase_contact", "--email", "Sam.Person@example.org")
    assert services.is_erased(Contact.objects.get(pk=world.person.pk))
    assert "Erased" in capsys.readouterr().out


def test_erase_contact_with_yes_does_not_ask(world, monkeypatch):
    def refuse(prompt):
        raise AssertionError("asked")

    monkeypatch.setattr("builtins.input", refuse)
    call_command("erase_contact", "--phone", world.person.phone, "--yes")
    assert services.is_erased(Contact.objects.get(pk=world.person.pk))


def test_erase_contact_refuses_a_malformed_number(world):
    with pytest.raises(CommandError, match="not a valid phone number"):
        call_command("erase_contact", "--phone", "12", "--yes")
    with pytest.raises(CommandError):
        call_command("erase_contact", "--yes")
