"""The services of the journal (issue 3 item 4); later issues register their jobs with them."""

from django.db import migrations

SERVICES = [
    ("tfoms_auto", "Сервис автоматизированного взаимодействия с ТФОМС", True, True),
    ("dispplan_exchange", "Обмен планами профилактических осмотров", True, True),
    ("iszl263", "Сервис сопровождения застрахованных лиц (263 приказ)", True, True),
    ("ident_batch", "Пакетная идентификация ТФОМС: формирование пакетов", True, False),
    ("ident_responses", "Пакетная идентификация ТФОМС: загрузка ответов", True, False),
]


def create(apps, schema_editor):
    Service = apps.get_model("servicelog", "Service")
    for code, name, manual_start, carries_packages in SERVICES:
        Service.objects.update_or_create(
            code=code,
            defaults={"name": name, "manual_start": manual_start, "carries_packages": carries_packages},
        )


def remove(apps, schema_editor):
    apps.get_model("servicelog", "Service").objects.filter(code__in=[s[0] for s in SERVICES]).delete()


class Migration(migrations.Migration):
    dependencies = [("servicelog", "0003_exchange_engine")]
    operations = [migrations.RunPython(create, remove)]
