"""Demo pharmacy organisations: one sent most directories, one without any (the page warns), one
switched off."""

from __future__ import annotations

import datetime as dt
import random

from registry.checkdigits import make_ogrn

from .models import Directory, Mode
from .services import DirectoryChoice, organisation_save

ORGANISATIONS = (
    ("ГУП ПК «Фармация»", "102590010001", "FARM59", True, "pharmacy.farm59", tuple(Directory.values)),
    ("ООО «Аптека Здоровье»", "102590010002", "APT0002", True, "pharmacy.apt0002", ()),
    ("АО «Городские аптеки»", "102590010003", "APT0003", False, "pharmacy.apt0003", ("mo", "staff")),
)


def pharmacy_demo(today: dt.date, rng: random.Random) -> dict[str, int]:
    for name, ogrn12, code, active, queue, sent in ORGANISATIONS:
        organisation_save(
            organisation=None,
            fields={"name": name, "ogrn": make_ogrn(ogrn12), "code": code, "active": active, "queue": queue},
            directories={
                directory: DirectoryChoice(
                    True, Mode.FULL if directory.startswith(("F", "V")) else Mode.CHANGES
                )
                for directory in sent
            },
            request=None,
        )
    return {"аптечных организаций": len(ORGANISATIONS)}
