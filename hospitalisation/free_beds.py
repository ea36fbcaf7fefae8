"""Free beds when a referral is written: order 263 stage 3, an RPC to the fund (SPEC C2, formats §3.7).

The referral form asks the fund (FREE_BEDS_REQUEST on `iszl.rpc`) for the free beds of a bed profile
(V020), optionally in one hospital; the reply lists them per hospital, department and profile
(total, adult, child, the figure's date). Each row is matched to our department by its DIVISION
code (MCOD + building + department, formats §3.3), so a click fills the referral's target. No answer
within TFOMS_RPC_FREE_BEDS_SECONDS: "ТФОМС не ответил …" and the form still works.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path
from typing import Any

from django.conf import settings
from django.utils import timezone
from lxml import etree

from registry.models import BedProfile, Mo
from servicelog.envelope import TAI, Envelope
from servicelog.formats import answer_parse
from servicelog.models import RpcCall
from servicelog.rpc import ReplyUnreadable, RpcReply, rpc_call_start

from . import formats as f

KIND = "free_beds"
PACKAGE_TYPE = "FREE_BEDS_REQUEST"
RESPONSE = "FREE_BEDS_RESPONSE"
XSD = Path(__file__).resolve().parent / "xsd" / "free_beds_rpc.xsd"
ENVELOPE = Envelope(
    TAI,
    PACKAGE_TYPE,
    header=("CODE_MO", "CODE_MO_TO"),
    body=("STRUCTURE_BED", "BEDPROFIL", "CARETYPE", "ACTUAL_DATE"),
    date_tag="DATA",
)
NO_ANSWER = "ТФОМС не ответил, данные о свободных койках недоступны"


class UnknownProfile(ValueError):
    """A bed profile no hospital of the region has; the text is Russian."""


def profile_choices() -> list[tuple[str, str]]:
    """The V020 bed profiles the region's hospitals have, by code: what may be asked about."""
    names: dict[str, str] = {}
    for code, name in BedProfile.objects.order_by("profile_code", "pk").values_list("profile_code", "name"):
        names.setdefault(code, name)
    ordered = sorted(names.items(), key=lambda item: (len(item[0]), item[0]))  # 3 before 10, as numbers
    return [(code, f"{code} — {name}") for code, name in ordered]


def free_beds_start(*, mo: Mo, user: Any, profile_code: str, to_mo: Mo | None) -> RpcCall:
    """Ask the fund now; the page polls the returned call. The same question of the same user still
    waiting is that call again (a double click asks once)."""
    if profile_code not in dict(profile_choices()):
        raise UnknownProfile(f"Профиль коек «{profile_code}» не найден у стационаров региона (V020).")
    today = timezone.localdate()
    payload = {
        "CODE_MO": mo.code,
        "CODE_MO_TO": to_mo.code if to_mo else "",
        "BEDPROFIL": profile_code,
        "ACTUAL_DATE": today.isoformat(),
    }
    question = f"{getattr(user, 'pk', '')}:{profile_code}:{to_mo.code if to_mo else ''}"
    return rpc_call_start(
        kind=KIND,
        mo=mo,
        user=user,
        subject=hashlib.sha256(question.encode()).hexdigest()[:32],
        payload=payload,
        request={"profile": profile_code, "to_mo": to_mo.code if to_mo else ""},
    )


def timeout_seconds() -> float:
    return float(settings.TFOMS_RPC_FREE_BEDS_SECONDS)


def _int(element: etree._Element, tag: str) -> int | None:
    value = (element.findtext(tag) or "").strip()
    return int(value) if value else None


def _day(value: str | None) -> str:
    """ACTUAL_DATE as ГГГГ-ММ-ДД: xs:date may carry a zone (2026-12-07Z, 2026-12-07+05:00)."""
    text = (value or "").strip()[:10]
    if not text:
        return ""
    try:
        return dt.date.fromisoformat(text).isoformat()
    except ValueError as exc:
        raise ReplyUnreadable(f"дата сведений о койках «{value}» не прочитана") from exc


def _rows(n: int) -> str:
    """«1 строка», «3 строки», «5 строк»."""
    if n % 10 == 1 and n % 100 != 11:
        return f"{n} строка"
    if n % 10 in (2, 3, 4) and n % 100 not in (12, 13, 14):
        return f"{n} строки"
    return f"{n} строк"


def reply_read(root: etree._Element) -> RpcReply:
    if root.tag == "ANSWER":
        answer = answer_parse(root)
        texts = [f"{code} {text}".strip() for code, text in answer.errors] or ["RESULT=ERROR без описания"]
        if answer.ok:
            raise ReplyUnreadable("ответ ANSWER без сведений о койках")
        return RpcReply(False, {"errors": texts}, "ТФОМС вернул ошибку: " + "; ".join(texts))
    if root.tag != RESPONSE:
        raise ReplyUnreadable(f"ожидался {RESPONSE}, получен {root.tag}")
    items = [
        {
            "lpu": (item.findtext("LPU") or "").strip(),
            "division": (item.findtext("DIVISION") or "").strip(),
            "profile": (item.findtext("BEDPROFIL") or "").strip(),
            "date": _day(item.findtext("ACTUAL_DATE")),
            "planned": _int(item, "BEDPLANNED"),
            "free": _int(item, "BEDFREE"),
            "adult": _int(item, "BEDFREEADULT"),
            "child": _int(item, "BEDFREECHILD"),
        }
        for item in root.iterfind("BODY/FREE_BEDS_INFORMATION")
    ]
    if not items:
        return RpcReply(True, {"items": []}, "У ТФОМС нет сведений о свободных койках этого профиля.")
    return RpcReply(True, {"items": items}, f"Свободные койки по данным ТФОМС: {_rows(len(items))}.")


def pane_context(call: RpcCall) -> dict[str, Any]:
    """The reply's rows with our hospital, department and bed profile where their codes match ours:
    those can be clicked to fill the referral's target."""
    items = (call.reply or {}).get("data", {}).get("items", []) if call.reply else []
    if not items:
        return {"rows": []}
    profiles = BedProfile.objects.filter(
        profile_code__in={item["profile"] for item in items},
        department__subdivision__mo__code__in={item["lpu"] for item in items},
    ).select_related("department__subdivision__mo")
    ours = {
        (
            profile.department.subdivision.mo.code,
            f.division_code(profile.department),
            profile.profile_code,
        ): profile
        for profile in profiles
    }
    rows = []
    for item in items:
        profile = ours.get((item["lpu"], item["division"], item["profile"]))
        rows.append(
            {
                **item,
                "ours": profile,
                "mo": profile.department.subdivision.mo if profile else None,
                "day": dt.date.fromisoformat(item["date"]) if item.get("date") else None,
            }
        )
    rows.sort(key=lambda row: (-(row["free"] or 0), row["lpu"], row["division"]))
    return {"rows": rows}
