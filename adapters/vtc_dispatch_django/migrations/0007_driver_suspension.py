from django.db import migrations, models


class Migration(migrations.Migration):
    """An operator's suspension, apart from the block his ratings decide."""

    dependencies = [("vtc_dispatch", "0006_payments_and_user_references")]

    operations = [
        migrations.AddField(
            model_name="driverpresence",
            name="suspended",
            field=models.BooleanField(default=False),
        ),
    ]
