"""``ringround import FILE``: import contacts (or numbers not to call) from the command line.

Runs in the foreground with a progress bar on stderr. Run the same command again after a
crash or Ctrl+C and it carries on from the last saved batch.
"""

import sys
import time
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from ringround.accounts.models import Team
from ringround.campaigns.models import Campaign
from ringround.contacts.models import Suppression
from ringround.imports import jobs, services
from ringround.imports.mapping import FIELD_CODES, normalise_header
from ringround.imports.models import Import, SavedMapping
from ringround.imports.readers import FileProblem


class Command(BaseCommand):
    help = "Import a CSV or XLSX file of contacts (or, with --suppressions, numbers not to call)."
    requires_system_checks = []  # loading every URL and view to check them is not needed here

    def add_arguments(self, parser):
        parser.add_argument("file", metavar="FILE", help="a .csv or .xlsx file")
        parser.add_argument(
            "--country", default="GB", help="country of numbers typed without +code (GB)"
        )
        parser.add_argument(
            "--team",
            metavar="NAME",
            help="the team whose contacts (or list) these are: its name or id (needed when "
            "there is more than one team and no --campaign)",
        )
        parser.add_argument(
            "--campaign", metavar="PUBLIC_ID", help="add the contacts to this campaign"
        )
        parser.add_argument(
            "--tag", action="append", default=[], help="tag every contact (repeatable)"
        )
        parser.add_argument(
            "--repeats",
            default=Import.Repeats.FILL_BLANKS,
            choices=Import.Repeats.values,
            help="a person twice in the file, or stored already: later rows only fill empty "
            "fields (fill_blanks, the default), change nothing (keep_first) or overwrite "
            "(keep_last)",
        )
        parser.add_argument("--mapping", metavar="NAME", help="use a saved column mapping")
        parser.add_argument("--save-mapping", metavar="NAME", help="keep this mapping by name")
        parser.add_argument(
            "--map",
            action="append",
            default=[],
            metavar="HEADER=FIELD",
            help=f"set one column's field ({', '.join(sorted(FIELD_CODES))})",
        )
        parser.add_argument(
            "--suppressions", action="store_true", help="the file lists numbers not to call"
        )
        parser.add_argument(
            "--every-team",
            action="store_true",
            help="with --suppressions: the list applies to every team (the TPS list)",
        )
        parser.add_argument(
            "--reason",
            default=Suppression.Reason.TPS,
            choices=Suppression.Reason.values,
            help="why the numbers are suppressed (with --suppressions)",
        )
        parser.add_argument("--rejected", metavar="PATH", help="where to write rejected rows")
        parser.add_argument("--restart", action="store_true", help="do not resume, start over")
        parser.add_argument("--workers", type=int, help="processes for phone parsing")
        parser.add_argument("--batch-size", type=int, help="rows per batch (10000)")
        parser.add_argument("--no-progress", action="store_true", help="no progress bar")

    def handle(self, *args, **options):
        path = Path(options["file"]).expanduser()
        if not path.is_file():
            raise CommandError(f"No such file: {path}")
        kind = Import.Kind.SUPPRESSIONS if options["suppressions"] else Import.Kind.CONTACTS
        checksum = services.file_checksum(path)
        campaign = self._campaign(options)
        team = self._team(options, campaign)
        job = None if options["restart"] else self._unfinished(path, kind, checksum, team)
        if job is not None:
            self.stderr.write(
                f"Resuming import {job.public_id} of {job.original_name} after "
                f"{job.position:,} rows."
            )
        else:
            job = self._create(path, kind, options, checksum, campaign, team)
        progress = ProgressBar(self.stderr._out, enabled=not options["no_progress"])
        services.start_import(job, background=False)
        started = time.monotonic()
        try:
            job = jobs.run_import(
                job,
                on_progress=progress.update,
                workers=options["workers"],
                batch_size=options["batch_size"],
            )
        except KeyboardInterrupt:
            progress.end()
            raise CommandError(
                "Stopped. Everything up to the last saved batch is imported; run the same "
                "command again to carry on."
            ) from None
        except (FileProblem, services.ImportBusy) as exc:
            progress.end()
            raise CommandError(str(exc)) from exc
        progress.end()
        self._report(job, time.monotonic() - started, options)

    def _unfinished(self, path, kind, checksum, team):
        """An unfinished import of this file, for the same team, to carry on."""
        job = (
            Import.objects.filter(
                team=team,
                kind=kind,
                checksum=checksum,
                file_path=str(path.resolve()),
                status__in=Import.UNFINISHED,
            )
            .order_by("-created_at")
            .first()
        )
        if job is not None and job.status == Import.Status.RUNNING and not jobs.is_dead(job):
            raise CommandError(
                f"Import {job.public_id} of this file is running now. Wait for it, or use "
                "--restart to import it again from the start."
            )
        return job

    def _team(self, options, campaign):
        """The team named, the campaign's, or the only one there is."""
        if options["every_team"]:
            if not options["suppressions"]:
                raise CommandError("--every-team is for a list of numbers (--suppressions).")
            return None
        if options["team"]:
            wanted = options["team"]
            team = Team.objects.filter(public_id=wanted).first()
            team = team or Team.objects.filter(name__iexact=wanted).first()
            if team is None:
                raise CommandError(f"No team “{wanted}”.")
            if campaign is not None and campaign.team_id != team.pk:
                raise CommandError(f"Campaign {campaign.public_id} is not {team.name}’s.")
            return team
        if campaign is not None:
            return campaign.team
        teams = list(Team.objects.all()[:2])
        if len(teams) == 1:
            return teams[0]
        names = ", ".join(Team.objects.values_list("name", flat=True)) or "none yet"
        raise CommandError(f"Say which team with --team (teams: {names}).")

    def _campaign(self, options):
        if not options["campaign"]:
            return None
        campaign = Campaign.objects.filter(public_id=options["campaign"]).first()
        if campaign is None:
            raise CommandError(f"No campaign with id {options['campaign']}.")
        return campaign

    def _create(self, path, kind, options, checksum, campaign, team):
        saved = None
        if options["mapping"]:
            mappings = SavedMapping.objects.filter(team=team)
            saved = mappings.filter(name=options["mapping"]).first()
            if saved is None:
                names = ", ".join(mappings.values_list("name", flat=True)) or "none"
                raise CommandError(f"No saved mapping “{options['mapping']}” (saved: {names}).")
        try:
            job = services.create_import(
                path=path,
                kind=kind,
                team=team,
                campaign=campaign,
                default_country=options["country"],
                tags=options["tag"],
                saved_mapping=saved,
                suppression_reason=options["reason"],
                checksum=checksum,
                repeats=options["repeats"],
            )
        except FileProblem as exc:
            raise CommandError(str(exc)) from exc
        mapping = self._overrides(job, options["map"])
        try:
            services.set_mapping(job, mapping, save_as=options["save_mapping"] or "")
        except services.MappingProblem as exc:
            raise CommandError(
                f"{exc} Use --map 'Header=field' to say which column is which."
            ) from exc
        self.stderr.write(f"Detected: {services.describe_file(job)}.")
        for header, code in zip(job.headers, job.mapping, strict=True):
            self.stderr.write(f"  {header:<30} → {code}")
        return job

    def _overrides(self, job, pairs):
        mapping = list(job.mapping)
        headers = [normalise_header(h) for h in job.headers]
        for pair in pairs:
            header, _, code = pair.rpartition("=")
            if not header or code not in FIELD_CODES:
                raise CommandError(f"--map needs HEADER=FIELD with a field from: {FIELD_CODES}")
            try:
                mapping[headers.index(normalise_header(header))] = code
            except ValueError:
                raise CommandError(f"No column “{header}” in this file.") from None
        return mapping

    def _report(self, job, seconds, options):
        rate = job.rows_read / seconds if seconds else 0
        self.stdout.write(
            f"Read {job.rows_read:,} rows in {seconds:.1f} s ({rate:,.0f} rows/s): "
            f"{job.created:,} created, {job.updated:,} updated, {job.unchanged:,} unchanged, "
            f"{job.rejected:,} rejected."
        )
        if job.duplicates:
            self.stdout.write(f"{job.duplicates:,} rows repeated a person earlier in the file.")
        if job.kind == Import.Kind.CONTACTS and (job.duplicates or job.stored_matches):
            self.stdout.write(f"With “{job.repeats_name}”, {job.repeats_effect}.")
        if job.targets_added:
            self.stdout.write(f"{job.targets_added:,} added to {job.campaign}.")
        if job.rejected:
            target = Path(options["rejected"] or _rejected_path(Path(job.file_path)))
            try:
                with open(target, "w", encoding="utf-8", newline="") as out:
                    for line in services.rejected_rows_csv(job):
                        out.write(line)
            except OSError as exc:
                self.stderr.write(f"Could not write the rejected rows to {target}: {exc}")
            else:
                self.stdout.write(f"Rejected rows, with the reason for each: {target}")


def _rejected_path(path: Path) -> Path:
    return path.with_name(f"{path.stem}-rejected.csv")


class ProgressBar:
    """A one-line progress bar on a terminal; occasional lines when writing to a file."""

    WIDTH = 30

    def __init__(self, stream=None, *, enabled: bool = True):
        self.stream = stream or sys.stderr
        self.enabled = enabled
        self.tty = hasattr(self.stream, "isatty") and self.stream.isatty()
        self.started = time.monotonic()
        self.last_draw = 0.0
        self.last_step = -1
        self.drawn = False

    def update(self, job) -> None:
        if not self.enabled:
            return
        fraction = job.progress_done / job.progress_total if job.progress_total else 0.0
        fraction = max(0.0, min(1.0, fraction))
        elapsed = time.monotonic() - self.started
        rate = job.rows_read / elapsed if elapsed > 0 else 0
        filled = int(self.WIDTH * fraction)
        line = (
            f"[{'#' * filled}{'.' * (self.WIDTH - filled)}] {fraction * 100:3.0f}%  "
            f"{job.rows_read:,} rows  {rate:,.0f} rows/s  {job.rejected:,} rejected"
        )
        if self.tty:
            now = time.monotonic()
            if now - self.last_draw >= 0.1 or fraction >= 1:
                self.stream.write("\r" + line + "\033[K")
                self.stream.flush()
                self.last_draw, self.drawn = now, True
        else:
            step = int(fraction * 10)
            if step != self.last_step:
                self.stream.write(line + "\n")
                self.stream.flush()
                self.last_step = step

    def end(self) -> None:
        if self.enabled and self.tty and self.drawn:
            self.stream.write("\n")
            self.stream.flush()
