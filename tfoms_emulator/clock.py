"""The fund's clock: the region's local date (TIME_ZONE, as the portal's), never the container's UTC."""

from __future__ import annotations

import datetime as dt
import os
from zoneinfo import ZoneInfo


def today() -> dt.date:
    return dt.datetime.now(ZoneInfo(os.environ.get("TIME_ZONE", "Asia/Yekaterinburg"))).date()
