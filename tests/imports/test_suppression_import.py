"""Do-not-call lists: imported in any form, and never handed out in any campaign."""

import pytest

from ringround.calling import rules
from ringround.calling.models import CallTarget
from ringround.contacts.models import Suppression
from ringround.imports import services
from ringround.imports.models import Import
from tests.factories import AT_ANY_HOUR, make_campaign, make_volunteer
from tests.imports.conftest import import_now

pytestmark = pytest.mark.django_db

TPS = "\r\n".join(
    [
        "020 7946 0001",
        "+44 (0)20 7946 0002",
        "0044 20 7946 0003",
        "(020) 7946-0004",
        "2079460005",
        "7.7009E+09",
        "",
        "020 7946 0001",
    ]
).encode()


def suppress_file(tmp_path, data=TPS, **options):
    path = tmp_path / "tps.csv"
    path.write_bytes(data)
    return import_now(path, kind=Import.Kind.SUPPRESSIONS, **options)


def test_a_do_not_call_file_in_any_form(tmp_path):
    job = suppress_file(tmp_path)
    assert job.has_header is False
    assert (job.rows_read, job.created, job.unchanged, job.rejected) == (7, 5, 1, 1)
    assert set(Suppression.objects.values_list("phone", flat=True)) == {
        f"+44207946000{n}" for n in range(1, 6)
    }
    assert set(Suppression.objects.values_list("reason", flat=True)) == {"tps"}
    assert "scientific notation" in job.rejects.get().reason
    again = suppress_file(tmp_path)
    assert (again.created, again.unchanged) == (0, 6)


def test_a_file_with_a_header_row(tmp_path):
    data = b"Name,Phone number\r\nJane,020 7946 0001\r\nBob,020 7946 0002\r\n"
    job = suppress_file(tmp_path, data, suppression_reason=Suppression.Reason.REQUESTED)
    assert job.has_header and job.mapping == ["ignore", "phone"]
    assert Suppression.objects.filter(reason="requested").count() == 2


def test_suppressed_numbers_are_never_handed_out_in_any_campaign(tmp_path):
    campaigns = [make_campaign(targets=6, **AT_ANY_HOUR), make_campaign(targets=6, **AT_ANY_HOUR)]
    numbers = [list(c.targets.values_list("phone", flat=True)) for c in campaigns]
    listed = numbers[0][:3] + numbers[1][:2]
    volunteer = make_volunteer(campaigns[0])
    held = rules.claim_next(campaigns[0], volunteer)  # someone is on one of them right now
    assert held is not None
    listed.append(held.target.phone)
    suppress_file(tmp_path, "\n".join(listed).encode())
    stopped = CallTarget.objects.filter(phone__in=listed)
    assert set(stopped.values_list("state", flat=True)) == {CallTarget.State.SUPPRESSED}
    assert not stopped.filter(held_by__isnull=False).exists()
    for campaign in campaigns:
        caller = make_volunteer(campaign)
        handed_out = []
        while lease := rules.claim_next(campaign, caller):
            handed_out.append(lease.target.phone)
            CallTarget.objects.filter(pk=lease.target.pk).update(
                state=CallTarget.State.DONE, held_by=None, lease_expires_at=None
            )
        assert handed_out and not set(handed_out) & set(listed)


def test_an_empty_do_not_call_file_is_refused(tmp_path):
    path = tmp_path / "tps.csv"
    path.write_bytes(b"")
    with pytest.raises(services.FileProblem, match="empty"):
        services.create_import(path=path, kind=Import.Kind.SUPPRESSIONS)
