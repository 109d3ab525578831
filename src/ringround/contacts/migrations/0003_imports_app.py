from django.db import migrations, models


class Migration(migrations.Migration):
    """Imports moved to their own app (imports.0001 takes the models, tables unchanged)."""

    dependencies = [
        ("contacts", "0002_imports"),
        ("imports", "0001_initial"),
    ]

    operations = [
        migrations.AlterField(
            model_name="contact",
            name="external_id",
            field=models.CharField(
                blank=True, default="", max_length=100, verbose_name="membership number / voter id"
            ),
        ),
        migrations.SeparateDatabaseAndState(
            database_operations=[],
            state_operations=[
                migrations.RemoveField(model_name="rejectedrow", name="source_import"),
                migrations.RemoveField(model_name="savedmapping", name="created_by"),
                migrations.DeleteModel(name="Import"),
                migrations.DeleteModel(name="RejectedRow"),
                migrations.DeleteModel(name="SavedMapping"),
            ],
        ),
    ]
