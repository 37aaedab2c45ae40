"""
The outbox's models, moved from the calendar app (presessions) with their tables and rows.

Only Django's idea of the models moves (state_operations); the tables stay as they are, under
their old names (db_table). The content types move too, so that permissions (the Coordinator
group's included), admin log entries and emails' links to them follow the models.
"""

import django.db.models.deletion
import django.utils.timezone
from django.db import migrations, models

MODELS = ("email", "emailtemplate")


def _move(apps, source: str, target: str) -> None:
    """
    Give the models' content types to `target`. If `target` has its own already (Django creates
    them after every migrate, so after a migration backwards and forwards again both exist), the
    target's are dropped first, with the permissions Django made for them: the source's carry the
    history (admin log entries, groups' permissions), and their permissions have the same codenames.
    """
    ContentType = apps.get_model("contenttypes", "ContentType")
    for model in MODELS:
        moving = ContentType.objects.filter(app_label=source, model=model)
        if moving.exists():
            ContentType.objects.filter(app_label=target, model=model).delete()
            moving.update(app_label=target)


def move_content_types(apps, schema_editor):
    _move(apps, "presessions", "outbox")


def move_content_types_back(apps, schema_editor):
    _move(apps, "outbox", "presessions")


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ('contenttypes', '0002_remove_content_type_name'),
        ('presessions', '0009_theme_translations'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(state_operations=[
        migrations.CreateModel(
            name='EmailTemplate',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('name', models.CharField(help_text='For example decision-selected, decision-reserve, decision-not-selected.', max_length=50, verbose_name='email')),
                ('language', models.CharField(choices=[('en', 'English'), ('fr', 'French'), ('es', 'Spanish')], max_length=10, verbose_name='language')),
                ('subject', models.CharField(max_length=300, verbose_name='subject')),
                ('body', models.TextField(verbose_name='text')),
                ('active', models.BooleanField(default=True, verbose_name='in use')),
                ('updated_at', models.DateTimeField(auto_now=True, verbose_name='updated at')),
            ],
            options={
                'verbose_name': 'email template',
                'verbose_name_plural': 'email templates',
                'db_table': 'presessions_emailtemplate',
                'ordering': ['name', 'language'],
                'constraints': [models.UniqueConstraint(fields=('name', 'language'), name='one_template_per_email_and_language')],
            },
        ),
        migrations.CreateModel(
            name='Email',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('to', models.EmailField(max_length=254, verbose_name='recipient')),
                ('kind', models.CharField(db_index=True, max_length=50, verbose_name='kind')),
                ('subject', models.CharField(max_length=300, verbose_name='subject')),
                ('body_text', models.TextField(verbose_name='text body')),
                ('body_html', models.TextField(blank=True, verbose_name='HTML body')),
                ('language', models.CharField(default='en', max_length=10, verbose_name='language')),
                ('headers', models.JSONField(blank=True, default=dict, verbose_name='extra headers')),
                ('object_id', models.PositiveBigIntegerField(blank=True, null=True)),
                ('status', models.CharField(choices=[('queued', 'Queued'), ('sending', 'Sending'), ('sent', 'Sent'), ('failed', 'Failed'), ('draft', 'Draft, waiting for approval'), ('approved', 'Approved, not sent yet'), ('discarded', 'Discarded: replaced before it was sent')], db_index=True, default='queued', max_length=20, verbose_name='status')),
                ('attempts', models.PositiveSmallIntegerField(default=0, verbose_name='attempts')),
                ('last_error', models.TextField(blank=True, verbose_name='last error')),
                ('next_attempt_at', models.DateTimeField(db_index=True, default=django.utils.timezone.now, verbose_name='next attempt at')),
                ('created_at', models.DateTimeField(auto_now_add=True, verbose_name='created at')),
                ('sent_at', models.DateTimeField(blank=True, null=True, verbose_name='sent at')),
                ('dedupe_key', models.CharField(max_length=200, unique=True, verbose_name='deduplication key')),
                ('batch', models.CharField(blank=True, db_index=True, max_length=50, verbose_name='batch')),
                ('lease_until', models.DateTimeField(blank=True, null=True, verbose_name='held by a worker until')),
                ('lease_expiries', models.PositiveSmallIntegerField(default=0, help_text='The message may have left before the worker stopped: the recipient may have it twice (with the same Message-ID).', verbose_name='sent again after a worker stopped')),
                ('content_type', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, to='contenttypes.contenttype')),
            ],
            options={
                'verbose_name': 'email',
                'verbose_name_plural': 'emails (outbox)',
                'db_table': 'presessions_email',
                'ordering': ['-created_at'],
                'indexes': [models.Index(fields=['content_type', 'object_id'], name='presessions_content_4da97b_idx')],
            },
        ),
        ]),
        migrations.RunPython(move_content_types, move_content_types_back),
    ]
