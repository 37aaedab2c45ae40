import json
from pathlib import Path

from django.db import migrations, models

THEMES_FILE = Path(__file__).resolve().parent.parent / "data" / "upr-themes.json"


def fill_translations(apps, schema_editor):
    """Give the themes already loaded their French and Spanish labels from the shipped list."""
    Theme = apps.get_model("presessions", "Theme")
    issues = json.loads(THEMES_FILE.read_text(encoding="utf-8"))["issues"]
    labels = {item["slug"]: (item.get("label_fr", ""), item.get("label_es", "")) for item in issues}
    themes = list(Theme.objects.filter(slug__in=labels))
    for theme in themes:
        theme.label_fr, theme.label_es = labels[theme.slug]
    Theme.objects.bulk_update(themes, ["label_fr", "label_es"])


class Migration(migrations.Migration):
    dependencies = [
        ("presessions", "0008_council_sessions"),
    ]

    operations = [
        migrations.AddField(
            model_name="theme",
            name="label_fr",
            field=models.CharField(blank=True, max_length=160, verbose_name="label in French"),
        ),
        migrations.AddField(
            model_name="theme",
            name="label_es",
            field=models.CharField(blank=True, max_length=160, verbose_name="label in Spanish"),
        ),
        migrations.RunPython(fill_translations, migrations.RunPython.noop),
    ]
