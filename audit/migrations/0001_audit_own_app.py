# The audit trail moves to its own app; the table servicelog_auditevent stays as it is.

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


def move_content_type(apps, schema_editor):
    """On a database of before the move: the model's content type (and so its permissions) now
    belongs to the audit app, instead of a stale servicelog row beside a new one."""
    ContentType = apps.get_model('contenttypes', 'ContentType')
    old = ContentType.objects.filter(app_label='servicelog', model='auditevent').first()
    if old is not None and not ContentType.objects.filter(app_label='audit', model='auditevent').exists():
        old.app_label = 'audit'
        old.save(update_fields=['app_label'])


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ('registry', '0002_person_identification_request_mo'),
        # The table (and its append-only trigger) was made by servicelog; here only the state moves.
        ('servicelog', '0009_package_external_id'),
        ('contenttypes', '0002_remove_content_type_name'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
        migrations.CreateModel(
            name='AuditEvent',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('at', models.DateTimeField(auto_now_add=True, db_index=True, verbose_name='когда')),
                ('username', models.CharField(db_index=True, max_length=150, verbose_name='имя пользователя')),
                ('workplace', models.CharField(blank=True, max_length=32, verbose_name='АРМ')),
                ('ip', models.GenericIPAddressField(blank=True, null=True, verbose_name='адрес')),
                ('action', models.CharField(choices=[('login', 'Вход в систему'), ('logout', 'Выход из системы'), ('login_failed', 'Неудачная попытка входа'), ('login_refused', 'Вход отклонён'), ('workplace', 'Выбор места работы'), ('token', 'Выдача токена API'), ('person_view', 'Просмотр карточки человека'), ('package_view', 'Просмотр персональных данных пакета'), ('download', 'Скачивание файла'), ('upload', 'Загрузка файла'), ('export', 'Экспорт'), ('resend', 'Повторная отправка'), ('do_not_send', 'Флаг «Не отправлять пакет»'), ('manual_start', 'Ручной запуск сервиса'), ('identify', 'Запрос идентификации'), ('delete', 'Удаление')], db_index=True, max_length=16, verbose_name='действие')),
                ('object_type', models.CharField(blank=True, max_length=64, verbose_name='объект')),
                ('object_id', models.CharField(blank=True, max_length=64, verbose_name='ид объекта')),
                ('outcome', models.CharField(default='успешно', max_length=250, verbose_name='результат')),
                ('details', models.JSONField(blank=True, default=dict, verbose_name='подробности')),
                ('mo', models.ForeignKey(blank=True, db_constraint=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='registry.mo', verbose_name='МО')),
                ('user', models.ForeignKey(blank=True, db_constraint=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to=settings.AUTH_USER_MODEL, verbose_name='пользователь')),
            ],
            options={
                'verbose_name': 'запись аудита',
                'verbose_name_plural': 'журнал аудита',
                'db_table': 'servicelog_auditevent',
                'ordering': ['-at', '-id'],
                'indexes': [models.Index(fields=['action', 'at'], name='audit_action_at_idx')],
            },
        ),
            ],
            database_operations=[],
        ),
        migrations.RunPython(move_content_type, migrations.RunPython.noop),
    ]
