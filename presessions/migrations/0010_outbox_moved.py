"""The outbox became an app of its own (outbox.0001): the calendar app forgets its models, and the tables stay."""

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('presessions', '0009_theme_translations'),
        ('outbox', '0001_initial'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(state_operations=[
        migrations.RemoveField(
            model_name='email',
            name='content_type',
        ),
        migrations.DeleteModel(
            name='EmailTemplate',
        ),
        migrations.DeleteModel(
            name='Email',
        ),
        ]),
    ]
