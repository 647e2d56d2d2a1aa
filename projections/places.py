"""Where a destination is, said without its address: its country, read from its IANA time
zone (the one chosen for it, else the one at its coordinates, as the write side derives it)
in the time zone database's own table (`zone.tab`), and a 0.1-degree cell around it."""

from __future__ import annotations

from functools import cache
from importlib import resources

import tzfpy


@cache
def _countries() -> dict[str, str]:
    """Zone name → ISO 3166-1 alpha-2 code, from the `tzdata` package's zone.tab."""
    table = resources.files("tzdata").joinpath("zoneinfo", "zone.tab").read_text()
    found = {}
    for line in table.splitlines():
        if line and not line.startswith("#"):
            code, _, zone = line.split("\t")[:3]
            found[zone] = code
    return found


def country_of(time_zone: str | None) -> str | None:
    """The country a zone is in; None for no zone or one of no single country (`UTC`)."""
    return None if time_zone is None else _countries().get(time_zone)


def cell_of(lat: float, lng: float) -> str:
    """The 0.1° cell (about 11 km) holding a point, as `"lat,lng"`: near enough to say which
    city, too coarse to say which house."""
    return f"{round(lat, 1) + 0.0:.1f},{round(lng, 1) + 0.0:.1f}"  # + 0.0: no "-0.0"


def zone_at(lat: float, lng: float) -> str:
    """The IANA zone at a point (offline, tzfpy's boundaries; at sea, `Etc/GMT±N`)."""
    return str(tzfpy.get_tz(lng, lat))
