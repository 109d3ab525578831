"""The rule for repeated people, chosen per import, and rejections summed up by reason.

Imports made before keep the rule they ran under (later rows overwrite: ``keep_last``), so
resuming one carries on as it began; new imports default to filling blanks."""

from django.db import migrations, models

CHOICES = [
    ("fill_blanks", "Fill blanks: later rows only fill empty fields"),
    ("keep_first", "Keep first: later rows change nothing"),
    ("keep_last", "Keep last: later rows overwrite"),
]
HELP = "The rule for a person who appears twice in the file, or is stored already."


class Migration(migrations.Migration):
    dependencies = [
        ("imports", "0004_worker_heartbeat"),
    ]

    operations = [
        migrations.AddField(
            model_name="import",
            name="rejection_summary",
            field=models.JSONField(
                blank=True,
                default=dict,
                help_text="Rejected rows by kind of reason: {reason: [rows, [first row numbers]]}.",
            ),
        ),
        migrations.AddField(
            model_name="import",
            name="repeats",
            field=models.CharField(
                choices=CHOICES, default="keep_last", help_text=HELP, max_length=16
            ),
        ),
        migrations.AlterField(
            model_name="import",
            name="repeats",
            field=models.CharField(
                choices=CHOICES, default="fill_blanks", help_text=HELP, max_length=16
            ),
        ),
    ]
