import secrets

from django.db import migrations, models

import panels.models


def fill_keys(apps, schema_editor):
    PanelMember = apps.get_model("panels", "PanelMember")
    for member in PanelMember.objects.filter(statement_key__isnull=True).only("pk").iterator():
        PanelMember.objects.filter(pk=member.pk).update(statement_key=secrets.token_urlsafe(24))


class Migration(migrations.Migration):
    dependencies = [("panels", "0002_schedule")]

    operations = [
        migrations.AddField(
            model_name="panelmember",
            name="statement_key",
            field=models.CharField(editable=False, max_length=64, null=True),
        ),
        migrations.RunPython(fill_keys, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="panelmember",
            name="statement_key",
            field=models.CharField(default=panels.models.new_key, editable=False, max_length=64, unique=True),
        ),
    ]
