"""Writes of batch identification: forming request packages, loading responses, deleting (B2–B6)."""

from __future__ import annotations

import datetime as dt
import logging
import os
import time
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from registry import checkdigits
from registry.models import IdentityDocument, Mo, Person, Policy, Smo, TreatmentCase
from registry.services import FundPolicy, PolicyRefused, policy_merge, smo_by_fund_codes
from servicelog.families import for_each_mo
from servicelog.models import LogEntry, ServiceRun
from servicelog.runs import run_beat
from servicelog.statuses import log_write
from tfoms_portal.db import bulk_update_fast

from .formats import (
    ResponseRejected,
    ResponseRow,
    name_mcod,
    repl_errors,
    request_dbf,
    request_key,
    request_name,
    response_rows,
)
from .models import IdentificationPackage, IdentificationRecord, RecordStatus

logger = logging.getLogger(__name__)
INCOMPLETE = "Ошибка. Не все необходимые данные заполнены"
NO_DATA = "Данные от ТФОМС не получены"
Reason = Person.IdentificationReason


# --- folders ---------------------------------------------------------------------------------


def out_dir() -> Path:
    """Where request files go for the fund (the exchange out-folder)."""
    return Path(settings.STORAGE_ROOT) / "identification" / "out"


def in_dir() -> Path:
    """Where the fund's responses arrive (the exchange in-folder)."""
    return Path(settings.STORAGE_ROOT) / "identification" / "in"


def _write_atomically(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    temporary.write_bytes(data)
    os.replace(temporary, path)


# --- forming (B2, B3) ------------------------------------------------------------------------


@dataclass
class Candidate:
    person: Person
    source: str
    period_from: dt.date
    period_to: dt.date
    case: TreatmentCase | None = None


def _request_values(candidate: Candidate) -> dict[str, object]:
    """The 15 fields of §1.3 for one person and period, from the person's latest documents."""
    person = candidate.person
    documents = sorted(person.documents.all(), key=lambda d: d.issued_at or dt.date.min, reverse=True)
    document: IdentityDocument | None = documents[0] if documents else None
    policies = sorted(person.policies.all(), key=lambda p: p.valid_from, reverse=True)
    policy: Policy | None = policies[0] if policies else None
    return {
        "FAM": person.last_name.upper(),
        "IM": person.first_name.upper(),
        "OT": person.middle_name.upper(),
        "DR": person.birth_date.isoformat(),
        "W": person.sex,
        "SS": checkdigits.snils_format(person.snils) if person.snils else "",
        "C_DOC": document.doc_type if document else None,
        "S_DOC": document.series if document else "",
        "N_DOC": document.number if document else "",
        "OPDOC": policy.policy_type if policy and policy.policy_type <= 9 else None,
        "SPOL": policy.series if policy else "",
        "NPOL": policy.number if policy else "",
        "ENP": policy.enp if policy else "",
        "DIN": candidate.period_from.isoformat(),
        "DOUT": candidate.period_to.isoformat(),
    }


def _complete(values: dict[str, object]) -> bool:
    """FAM+DR+W and at least one of SNILS, document type, policy type (formats §1.1)."""
    return bool(values["FAM"] and values["DR"] and values["W"]) and bool(
        values["SS"] or values["C_DOC"] or values["OPDOC"]
    )


def _candidates(mo: Mo, today: dt.date) -> list[Candidate]:
    """Requested persons of the МО (period today) and yesterday's ОМС cases without a valid policy."""
    persons = Person.objects.prefetch_related("documents", "policies")
    found = [
        Candidate(person, person.identification_request_reason or Reason.MANUAL, today, today)
        for person in persons.filter(identification_requested_at__isnull=False, identification_request_mo=mo)
    ]
    yesterday = today - dt.timedelta(days=1)
    cases = (
        TreatmentCase.objects.filter(mo=mo, payment=TreatmentCase.Payment.OMS, date_begin=yesterday)
        .exclude(
            pk__in=IdentificationRecord.objects.filter(treatment_case__isnull=False).values("treatment_case")
        )
        .select_related("person")
        .prefetch_related("person__documents", "person__policies")
    )
    for case in cases:
        end = case.date_end or case.date_begin
        valid = Policy.objects.filter(person=case.person, valid_from__lte=case.date_begin).filter(
            Q(valid_to__isnull=True) | Q(valid_to__gte=end)
        )
        if not valid.exists():
            found.append(Candidate(case.person, Reason.TREATMENT_CASE, case.date_begin, end, case))
    return found


@transaction.atomic
def ident_packages_form(
    *, run: ServiceRun | None, mo: Mo, today: dt.date | None = None
) -> list[IdentificationPackage]:
    """Form the МО's request packages (at most IDENT_RECORDS_PER_FILE records each) and write their
    files to the out-folder; incomplete persons get their record with the error, not a file row."""
    today = today or timezone.localdate()
    candidates = _candidates(mo, today)
    if not candidates:
        return []
    complete: list[tuple[Candidate, dict[str, object]]] = []
    incomplete: list[tuple[Candidate, dict[str, object]]] = []
    for candidate in candidates:
        values = _request_values(candidate)
        (complete if _complete(values) else incomplete).append((candidate, values))
    per_file = settings.IDENT_RECORDS_PER_FILE
    chunks = [complete[i : i + per_file] for i in range(0, len(complete), per_file)] or [[]]
    prefix = f"{mo.code}_{today:%d%m%Y}_"
    taken = IdentificationPackage.objects.filter(name__startswith=prefix).values_list("name", flat=True)
    # the highest N + 1, not a count: a deleted package must not make the next name collide
    number = max((int(name[len(prefix) :]) for name in taken if name[len(prefix) :].isdigit()), default=0)
    packages = []
    now = timezone.now()
    for index, chunk in enumerate(chunks):
        number += 1
        data = request_dbf([values for _, values in chunk]) if chunk else None
        package = IdentificationPackage.objects.create(
            name=request_name(mo.code, today, number), mo=mo, run=run, formed_at=now, request_file=data
        )
        rows: list[tuple[Candidate, dict[str, object], str, int | None]] = [
            (c, v, RecordStatus.WAITING, n) for n, (c, v) in enumerate(chunk, start=1)
        ]
        if index == 0:  # the incomplete ones are shown with the first package of the day's formation
            rows += [(c, v, RecordStatus.INCOMPLETE, None) for c, v in incomplete]
        IdentificationRecord.objects.bulk_create(
            IdentificationRecord(
                package=package,
                row_number=row_number,
                person=candidate.person,
                source=candidate.source,
                period_from=candidate.period_from,
                period_to=candidate.period_to,
                treatment_case=candidate.case,
                status=status,
                status_date=today,
                error_text=INCOMPLETE if status == RecordStatus.INCOMPLETE else "",
                request=values,
            )
            for candidate, values, status, row_number in rows
        )
        if data is not None:
            transaction.on_commit(partial(_write_atomically, out_dir() / package.file_name, data))
        packages.append(package)
        if run is not None:
            log_write(
                run=run,
                mo=mo,
                message=f"Сформирован пакет {package.name}: записей в файле {len(chunk)}"
                + (f", не все данные заполнены у {len(incomplete)}" if index == 0 and incomplete else ""),
                level=LogEntry.Level.WARNING if index == 0 and incomplete else LogEntry.Level.INFO,
            )
    Person.objects.filter(pk__in={c.person.pk for c in candidates}).update(
        identification_requested_at=None, identification_request_reason="", identification_request_mo=None
    )
    return packages


def ident_batch_job(*, run: ServiceRun, mo: Mo | None) -> None:
    """ident_batch step: one МО, or every МО of the region, each in its own transaction (one МО's
    failure is logged on the run and does not hold back the others)."""

    def step(one: Mo) -> None:
        ident_packages_form(run=run, mo=one)

    for_each_mo(run=run, mo=mo, step=step, what="Формирование пакетов идентификации")


ident_batch_job.own_transactions = True  # type: ignore[attr-defined]


# --- loading a response (B4, B5, B6) ---------------------------------------------------------


class ResponseRefused(Exception):
    """The response is not loaded at all; the message is shown (upload) or logged (the folder job)."""


@dataclass
class LoadResult:
    package: IdentificationPackage
    identified: int = 0
    not_identified: int = 0
    no_data: int = 0
    unmatched: int = 0
    messages: list[str] = field(default_factory=list)

    @property
    def summary(self) -> str:
        return (
            f"Ответ на пакет {self.package.name} загружен: идентифицировано {self.identified}, "
            f"не идентифицировано {self.not_identified}, нет данных от ТФОМС {self.no_data}"
            + (f", строк ответа без записи запроса {self.unmatched}" if self.unmatched else "")
        )


def _package_for(file_name: str, *, only_mo: Mo | None) -> IdentificationPackage:
    stem, _, extension = file_name.rpartition(".")
    if extension.upper() != "DBF" or not stem:
        raise ResponseRefused("Загружать можно только файлы ответа в формате .DBF.")
    package = IdentificationPackage.objects.select_for_update().filter(name__iexact=stem).first()
    if package is None:
        raise ResponseRefused(
            f"Пакет «{stem}» не найден: имя файла ответа должно совпадать с именем файла запроса."
        )
    if only_mo is not None and (name_mcod(stem) != only_mo.code or package.mo_id != only_mo.pk):
        raise ResponseRefused(f"Файл ответа «{file_name}» относится к другой МО: загрузить его нельзя.")
    if package.response_loaded_at is not None:
        raise ResponseRefused(
            f"Ответ на пакет «{package.name}» уже загружен "
            f"{timezone.localtime(package.response_loaded_at):%d.%m.%Y %H:%M}."
        )
    return package


class _Applier:
    """Applies matched rows in memory, then writes everything in bulk (one file = one transaction)."""

    def __init__(self, records: list[IdentificationRecord], today: dt.date) -> None:
        self.today = today
        self.policies: dict[int, list[Policy]] = defaultdict(list)
        persons = {record.person_id for record in records}
        for policy in Policy.objects.select_for_update().filter(person_id__in=persons).order_by("pk"):
            self.policies[policy.person_id].append(policy)
        self.smos: dict[tuple[str, str], Smo | PolicyRefused] = {}
        self.to_save: dict[int, Policy] = {}  # id(policy) → policy, new ones included
        self.identified: set[int] = set()

    def smo(self, code: str, ogrn: str) -> Smo:
        key = (code, ogrn)
        if key not in self.smos:
            try:
                self.smos[key] = smo_by_fund_codes(code, ogrn)
            except PolicyRefused as exc:
                self.smos[key] = exc
        found = self.smos[key]
        if isinstance(found, PolicyRefused):
            raise found
        return found

    def apply(self, record: IdentificationRecord, row: ResponseRow) -> bool:
        """One matched row: not identified (EERP, REPL), or the policy fitted and the person identified."""
        record.response_row = row.raw
        record.status_date = self.today
        if row.not_identified:
            errors = repl_errors(row.repl) or [("", f"EERP={row.eerp}")]
            record.status = RecordStatus.NOT_IDENTIFIED
            record.error_codes = [code for code, _ in errors]
            record.error_text = "; ".join(f"{code}={text}" if code else text for code, text in errors)
            return False
        try:
            if row.policy_type is None or row.valid_from is None:
                raise PolicyRefused(f"Отсутствует тип полиса или дата начала: ROPDOC={row.policy_type}")
            changed = policy_merge(
                person=record.person,
                existing=self.policies[record.person_id],
                new=FundPolicy(
                    smo=self.smo(row.smo_code, row.smo_ogrn),
                    policy_type=row.policy_type,
                    series=row.policy_series,
                    number=row.policy_number,
                    enp=row.enp,
                    valid_from=row.valid_from,
                    valid_to=row.valid_to,
                ),
                source=Policy.Source.IDENTIFICATION,
            )
        except PolicyRefused as exc:
            record.status, record.error_codes, record.error_text = RecordStatus.NOT_IDENTIFIED, [], str(exc)
            return False
        for policy in changed:
            self.to_save[id(policy)] = policy
        self.identified.add(record.person_id)
        record.status, record.error_codes, record.error_text = RecordStatus.IDENTIFIED, [], ""
        return True

    def save(self) -> None:
        policies = list(self.to_save.values())
        Policy.objects.bulk_create([p for p in policies if p.pk is None], batch_size=1000)
        bulk_update_fast(
            [p for p in policies if p.pk is not None],
            ["policy_type", "form", "series", "number", "enp", "smo", "valid_from", "valid_to", "source"],
        )
        # Their policies changed: the person's change time moves (order 263 looks at it); the fund's
        # "data changed in the register" (PERSCHANGE) is answered by this identification.
        Person.objects.filter(pk__in=self.identified).update(
            identified_in_tfoms=True,
            identified_at=self.today,
            updated_at=timezone.now(),
            fund_changed_at=None,
        )


def response_rows_limit(requested: int) -> int:
    """A response holds a row per request record; duplicates of a record (B6) are allowed up to as
    many again, plus a few: anything larger is not an answer to this request (issue 19 item 6)."""
    return 2 * requested + 10


@transaction.atomic
def identification_response_load(*, file_name: str, data: bytes, only_mo: Mo | None = None) -> LoadResult:
    """Load one response file in the order of B4, in one transaction: every row is read and checked
    before anything is applied, and everything is written in bulk, so a refused file changes nothing."""
    package = _package_for(file_name, only_mo=only_mo)
    try:
        rows = response_rows(data, max_rows=response_rows_limit(package.records.count()))
    except ResponseRejected as exc:
        raise ResponseRefused(f"Файл «{file_name}» не загружен: {exc}") from exc
    waiting = list(
        package.records.filter(status=RecordStatus.WAITING).select_related("person").order_by("row_number")
    )
    by_key: dict[tuple[str, ...], list[IdentificationRecord]] = defaultdict(list)
    for record in waiting:
        by_key[request_key(record.request)].append(record)
    pairs: list[tuple[IdentificationRecord, ResponseRow]] = []
    unmatched_rows = []
    for row in rows:
        candidates = by_key.get(row.key)
        if not candidates:  # no request record, or a duplicate row for one already answered (B6)
            unmatched_rows.append({"number": row.number, **row.raw})
            continue
        pairs.append((candidates.pop(0), row))
    result = LoadResult(package=package, unmatched=len(unmatched_rows))
    if not pairs:
        raise ResponseRefused(
            f"Файл «{file_name}»: ни одна строка ответа не соответствует записям пакета {package.name}; "
            f"ответ не загружен."
        )
    today = timezone.localdate()
    applier = _Applier([record for record, _ in pairs], today)
    for record, row in pairs:
        if applier.apply(record, row):
            result.identified += 1
        else:
            result.not_identified += 1
    answered = {record.pk for record, _ in pairs}
    changed = [record for record, _ in pairs]
    for record in waiting:
        if record.pk not in answered:
            record.status, record.status_date, record.error_text = RecordStatus.NOT_IDENTIFIED, today, NO_DATA
            record.error_codes = []
            changed.append(record)
            result.no_data += 1
    applier.save()
    bulk_update_fast(changed, ["status", "status_date", "error_codes", "error_text", "response_row"])
    package.unmatched_rows = unmatched_rows
    package.response_loaded_at = timezone.now()
    package.response_file_name = file_name
    package.request_file = None  # §4.3.4: the files are removed once the response is loaded
    package.save(update_fields=["response_loaded_at", "response_file_name", "request_file", "unmatched_rows"])
    transaction.on_commit(partial(_remove_files, package.file_name))
    return result


def _remove_files(file_name: str) -> None:
    for folder in (out_dir(), in_dir()):
        for candidate in folder.glob("*"):
            if candidate.is_file() and candidate.name.upper() == file_name.upper():
                candidate.unlink(missing_ok=True)


@transaction.atomic
def identification_package_delete(*, package: IdentificationPackage) -> int:
    """ "Удалить": the package, its records and its files on the server. Persons still waiting for
    the answer go back to the queue (with their reason and МО), so nobody's request is lost;
    returns how many went back (a case's record comes back with the next day's cases rule)."""
    name = package.file_name
    waiting = list(
        package.records.filter(status=RecordStatus.WAITING, treatment_case__isnull=True).select_related(
            "person"
        )
    )
    now = timezone.now()
    for record in waiting:
        record.person.identification_requested_at = now
        record.person.identification_request_reason = record.source
        record.person.identification_request_mo = package.mo
    Person.objects.bulk_update(
        [r.person for r in waiting],
        ["identification_requested_at", "identification_request_reason", "identification_request_mo"],
    )
    package.delete()
    transaction.on_commit(lambda: _remove_files(name))
    return len(waiting)


# --- the scheduled job: responses from the in-folder -----------------------------------------


def _claim(path: Path) -> Path | None:
    """Take a file by atomic rename into the processing folder: two workers never take the same file."""
    processing = path.parent / ".processing"
    processing.mkdir(parents=True, exist_ok=True)
    claimed = processing / f"{path.name}.{uuid.uuid4().hex}"
    try:
        os.rename(path, claimed)
    except FileNotFoundError:
        return None
    return claimed


def _recover_stale_claims(folder: Path, older_than: float = 3600) -> None:
    """A worker that died while loading left its file in `.processing/`: put it back in the folder."""
    processing = folder / ".processing"
    if not processing.is_dir():
        return
    for claimed in processing.iterdir():
        if claimed.is_file() and time.time() - claimed.stat().st_mtime > older_than:
            os.replace(claimed, folder / claimed.name.rsplit(".", 1)[0])


def identification_responses_collect(*, run: ServiceRun) -> int:
    """ident_responses step: load every response waiting in the in-folder; a refused file is moved
    to `rejected/` with its reason beside it and logged on the run."""
    folder = in_dir()
    folder.mkdir(parents=True, exist_ok=True)
    _recover_stale_claims(folder)
    loaded = 0
    for path in sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.upper() == ".DBF"):
        claimed = _claim(path)
        if claimed is None:
            continue
        run_beat(run)
        try:
            result = identification_response_load(file_name=path.name, data=claimed.read_bytes())
        except ResponseRefused as exc:
            rejected = folder / "rejected"
            rejected.mkdir(exist_ok=True)
            os.replace(claimed, rejected / path.name)
            (rejected / f"{path.name}.txt").write_text(str(exc), encoding="utf-8")
            mcod = name_mcod(path.name.rsplit(".", 1)[0])
            owner = Mo.objects.filter(code=mcod).first() if mcod else None
            log_write(run=run, mo=owner, level=LogEntry.Level.ERROR, message=str(exc))
            continue
        except BaseException:
            os.replace(claimed, folder / path.name)  # not lost: the next run takes it again
            raise
        claimed.unlink(missing_ok=True)
        log_write(run=run, mo=result.package.mo, message=result.summary)
        loaded += 1
    return loaded


def ident_responses_job(*, run: ServiceRun, mo: Mo | None) -> None:
    """The folder is shared by the region: the run takes every file, whatever the МО in its name."""
    identification_responses_collect(run=run)


# One transaction per loaded file, each committed before its file is deleted.
ident_responses_job.own_transactions = True  # type: ignore[attr-defined]
