"""The fund's error reply (OSHIB_PR) to an order-88 export or an S_DPM send, loaded by hand or by the
API: each refused record marked Ошибка with the fund's code and text (D3, manual §4.5.2.1.4)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.utils import timezone

from registry.models import Mo
from tfoms_portal.formats.xml import XmlRejected, parse_xml, validate
from tfoms_portal.formats.zip import ZipRejected, read_zip

from . import plan_formats as pf
from .models import PlanExport, PlanPerson
from .plans import PlanRefused


@dataclass
class ReplyResult:
    export: PlanExport
    errors: int = 0
    accepted: int = 0
    unknown: list[int] = field(default_factory=list)


def _reply_xml(name: str, data: bytes) -> tuple[str, bytes]:
    if "ERR" not in name.upper():
        raise PlanRefused(f"Файл «{name}» не является ответом ТФОМС: в имени файла нет «ERR».")
    if name.lower().endswith(".zip"):
        try:
            entries = read_zip(data)
        except ZipRejected as exc:
            raise PlanRefused(f"Архив «{name}» не принят: {exc}") from exc
        xml = [(n, content) for n, content in entries.items() if n.lower().endswith(".xml")]
        if len(xml) != 1:
            raise PlanRefused(f"В архиве «{name}» должен быть один XML-файл ответа, найдено: {len(xml)}.")
        inner, content = xml[0]
        if "ERR" not in inner.upper():
            raise PlanRefused(f"Файл «{inner}» в архиве не является ответом ТФОМС: в имени нет «ERR».")
        return inner, content
    return name, data


@transaction.atomic
def error_reply_load(*, mo: Mo | None, name: str, data: bytes, user: Any) -> ReplyResult:
    """OSHIB_PR: the records it names → Ошибка with the code and COMMENT, the export's others → Принята
    ТФОМС. `mo` None: the ЦОД admin, any МО's export."""
    inner, content = _reply_xml(name, data)
    try:
        root = parse_xml(content)
    except XmlRejected as exc:
        raise PlanRefused(f"Файл «{inner}» не принят: {exc}") from exc
    errors = validate(root, pf.OSHIB_PR_XSD)
    if errors:
        raise PlanRefused(f"Файл «{inner}» не соответствует формату OSHIB_PR: {'; '.join(errors[:3])}")
    reply = pf.oshib_parse(root)
    answered = reply.answered.rsplit(".", 1)[0] if "." in reply.answered else reply.answered
    exports = PlanExport.objects.select_for_update().filter(kind=PlanExport.Kind.PROF, file_name=answered)
    if mo is not None:
        exports = exports.filter(mo=mo)
    export = exports.first()
    if export is None:
        raise PlanRefused(f"Выгрузка «{reply.answered}» (FNAME_I) не найдена среди выгрузок вашей МО.")
    if export.reply_loaded_at is not None:
        raise PlanRefused(
            f"Ответ на выгрузку «{export.file_name}» уже загружен "
            f"{timezone.localtime(export.reply_loaded_at):%d.%m.%Y %H:%M} (файл {export.reply_file_name})."
        )
    entries = {e.pk: e for e in PlanPerson.objects.filter(exported_in__export=export)}
    result = ReplyResult(export)
    marked: set[int] = set()
    for code, record, comment in reply.errors:
        entry = entries.get(record)
        if entry is None:
            result.unknown.append(record)
            continue
        again = record in marked  # several errors of one record: every code and text is kept
        entry.status = PlanPerson.Status.ERROR
        entry.error_code = f"{entry.error_code}, {code}"[:20] if again else code
        text = f"{code}: {comment or 'без описания'}"
        entry.error_text = f"{entry.error_text}; {text}" if again else text
        entry.save(update_fields=["status", "error_code", "error_text", "updated_at"])
        marked.add(record)
    result.errors = len(marked)
    result.accepted = (
        PlanPerson.objects.filter(exported_in__export=export, status=PlanPerson.Status.SENT)
        .exclude(pk__in=marked)
        .update(status=PlanPerson.Status.ACCEPTED, error_code="", error_text="", updated_at=timezone.now())
    )
    export.reply_loaded_at = timezone.now()
    export.reply_file_name = inner[:120]
    export.save(update_fields=["reply_loaded_at", "reply_file_name"])
    return result
