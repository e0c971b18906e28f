from typing import Any

from django.db import migrations, models
from django.db.models import F


def _heard_when_updated(apps: Any, schema_editor: Any) -> None:
    # Rows written before presence: their phone was last heard from at their last update.
    apps.get_model("vtc_dispatch", "DriverPresence").objects.update(seen_at=F("updated_at"))


class Migration(migrations.Migration):
    dependencies = [
        ("vtc_dispatch", "0004_command_log"),
    ]

    operations = [
        migrations.AddField(
            model_name="driverpresence",
            name="seen_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.RunPython(_heard_when_updated, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="driverpresence",
            name="seen_at",
            field=models.DateTimeField(),
        ),
        migrations.AddField(
            model_name="driverpresence",
            name="presence",
            field=models.CharField(
                choices=[
                    ("present", "present"),
                    ("silent", "silent"),
                    ("unreachable", "unreachable"),
                ],
                default="present",
                max_length=16,
            ),
        ),
        migrations.AddField(
            model_name="driverpresence",
            name="offline_reason",
            field=models.CharField(blank=True, max_length=32, null=True),
        ),
        migrations.AddIndex(
            model_name="driverpresence",
            index=models.Index(fields=["online", "presence", "seen_at"], name="vtc_presence_heard"),
        ),
        migrations.AddField(
            model_name="driverprofile",
            name="vehicle",
            field=models.CharField(
                blank=True, help_text="Make, model and colour, as customers see it", max_length=100
            ),
        ),
    ]
