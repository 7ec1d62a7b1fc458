"""Where to go: the nearest right facility from the US facility directory, by great-circle distance.

The directory is built at training time from ``shared/data/facilities`` (CMS / HRSA lists as
packaged with Synthea) and the Synthea export's general-practice providers, and shipped in the
bundle as ``places.npz`` (plain arrays, no pickle). Distances are haversine on a scikit-learn
``BallTree`` per need. Locations come as ``(lat, lon)``, a US ZIP code or "City, ST", resolved
from the directory itself (the mean position of its facilities there; no internet geocoding).
"""

from __future__ import annotations

import math
import re
from difflib import get_close_matches
from pathlib import Path
from string import capwords

import numpy as np

from medcore.core.errors import InvalidInputError

__all__ = ["NEEDS", "EARTH_KM", "MAX_KM", "build_directory", "Directory", "haversine_km", "parse_location"]

EARTH_KM = 6371.0088
# Farther than this from every facility of the directory: outside its area.
MAX_KM = 250.0
# need -> (facility kind, only those with an emergency department, what it is for)
NEEDS: dict[str, tuple[str, bool, str]] = {
    "emergency": ("hospital", True, "hospital with an emergency department"),
    "urgent care": ("urgent care", False, "urgent care centre (walk-in, same day)"),
    "hospital": ("hospital", False, "hospital"),
    "dialysis": ("dialysis", False, "dialysis facility"),
    "rehabilitation": ("rehabilitation", False, "inpatient rehabilitation facility"),
    "nursing home": ("nursing home", False, "nursing home"),
    "hospice": ("hospice", False, "hospice"),
    "home health": ("home health", False, "home health agency"),
    "long-term care": ("long-term care", False, "long-term care hospital"),
    "VA": ("VA", False, "Veterans Affairs facility"),
    "primary care": ("primary care", False, "general-practice doctor (Synthea directory, Nebraska only)"),
}
_FILES = {
    "hospital": "hospitals.csv",
    "urgent care": "urgent_care_facilities.csv",
    "dialysis": "dialysis.csv",
    "rehabilitation": "rehab.csv",
    "nursing home": "nursing.csv",
    "hospice": "hospice.csv",
    "home health": "home_health_agencies.csv",
    "long-term care": "longterm.csv",
    "VA": "va_facilities.csv",
}
STATES = {
    "AL": "alabama", "AK": "alaska", "AZ": "arizona", "AR": "arkansas", "CA": "california", "CO": "colorado",
    "CT": "connecticut", "DE": "delaware", "DC": "district of columbia", "FL": "florida", "GA": "georgia",
    "HI": "hawaii", "ID": "idaho", "IL": "illinois", "IN": "indiana", "IA": "iowa", "KS": "kansas",
    "KY": "kentucky", "LA": "louisiana", "ME": "maine", "MD": "maryland", "MA": "massachusetts",
    "MI": "michigan", "MN": "minnesota", "MS": "mississippi", "MO": "missouri", "MT": "montana",
    "NE": "nebraska", "NV": "nevada", "NH": "new hampshire", "NJ": "new jersey", "NM": "new mexico",
    "NY": "new york", "NC": "north carolina", "ND": "north dakota", "OH": "ohio", "OK": "oklahoma",
    "OR": "oregon", "PA": "pennsylvania", "RI": "rhode island", "SC": "south carolina", "SD": "south dakota",
    "TN": "tennessee", "TX": "texas", "UT": "utah", "VT": "vermont", "VA": "virginia", "WA": "washington",
    "WV": "west virginia", "WI": "wisconsin", "WY": "wyoming", "PR": "puerto rico", "GU": "guam",
    "VI": "virgin islands", "AS": "american samoa", "MP": "northern mariana islands",
}  # fmt: skip
_STATE_BY_NAME = {name: code for code, name in STATES.items()}
# Rough extents (lat_min, lat_max, lon_min, lon_max) of the states and territories outside the
# contiguous 48 (US Census Bureau state and territory extents, rounded out by about 0.5 degree); the
# others share the contiguous box. A facility placed outside its own state's box is misplaced.
_EXTENTS = {
    "AK": (51.0, 72.0, -180.0, -129.0),
    "HI": (18.5, 22.8, -160.8, -154.3),
    "PR": (17.5, 18.9, -67.8, -65.0),
    "VI": (17.3, 18.8, -65.5, -64.3),
    "GU": (12.9, 14.0, 144.2, 145.3),
    "MP": (13.8, 21.0, 144.5, 146.5),
    "AS": (-15.0, -10.5, -171.5, -167.5),
}
_CONTIGUOUS = (24.0, 50.0, -125.5, -66.5)


def misplaced_state(state: str, lat: float, lon: float) -> bool:
    """Whether a facility's coordinates fall outside its own state's (rough) extent."""
    low_lat, high_lat, low_lon, high_lon = _EXTENTS.get(state, _CONTIGUOUS)
    if state == "AK" and lon > 170:  # the western Aleutians lie east of the antimeridian
        return not low_lat <= lat <= high_lat
    return not (low_lat <= lat <= high_lat and low_lon <= lon <= high_lon)


COLUMNS = ("kind", "name", "street", "city", "state", "zip", "phone", "emergency", "quality", "lat", "lon", "detail")


def _text(value) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return " ".join(str(value).split())


def _zip5(value) -> str:
    digits = re.sub(r"\D", "", _text(value))
    if not digits:
        return ""
    return digits[:5] if len(digits) >= 9 or len(digits) == 5 else digits.zfill(5)[:5]


def _phone(value) -> str:
    """US numbers as (402) 219-7700; anything else (extensions, two numbers) as written."""
    text = _text(value)
    digits = re.sub(r"\D", "", text)
    if len(digits) == 11 and digits.startswith("1"):
        digits = digits[1:]
    return f"({digits[:3]}) {digits[3:6]}-{digits[6:]}" if len(digits) == 10 else text


def build_directory(facilities: Path, synthea: Path | None = None) -> dict[str, np.ndarray]:
    """Read the facility CSVs (and Synthea's providers) into the arrays of ``places.npz``.

    Rows without valid coordinates are dropped. ``quality`` is the CMS star rating (NaN when
    "Not Available"); ``detail`` keeps what distinguishes a facility (hospital type; home-health
    services; beds).
    """
    import pandas as pd

    rows: dict[str, list] = {column: [] for column in COLUMNS}

    def add(kind, frame, emergency, quality, detail):
        for i, record in enumerate(frame.to_dict("records")):
            lat, lon = (
                pd.to_numeric(record.get("LAT"), errors="coerce"),
                pd.to_numeric(record.get("LON"), errors="coerce"),
            )
            if not (np.isfinite(lat) and np.isfinite(lon)) or (lat == 0 and lon == 0):
                continue
            rows["kind"].append(kind)
            name = _text(record.get("name") or record.get("NAME"))
            # Synthea's synthetic doctor names carry digits ("Jarvis643 Ankunding277").
            rows["name"].append(capwords(re.sub(r"(?<=[^\W\d_])\d+", "", name)))
            rows["street"].append(capwords(_text(record.get("address") or record.get("ADDRESS"))))
            rows["city"].append(capwords(_text(record.get("city") or record.get("CITY"))))
            rows["state"].append(_text(record.get("state") or record.get("STATE")).upper())
            rows["zip"].append(_zip5(record.get("zip") or record.get("ZIP")))
            rows["phone"].append(_phone(record.get("phone") or record.get("PHONE")))
            rows["emergency"].append(bool(emergency[i]))
            rows["quality"].append(float(quality[i]))
            rows["lat"].append(float(lat))
            rows["lon"].append(float(lon))
            rows["detail"].append(_text(detail[i]))

    for kind, file_name in _FILES.items():
        frame = pd.read_csv(Path(facilities) / file_name, dtype=str, keep_default_na=False)
        frame.columns = [column.strip() for column in frame.columns]
        n = len(frame)
        emergency = (
            frame["emergency"].str.strip().str.lower().eq("yes").to_numpy()
            if "emergency" in frame
            else np.zeros(n, bool)
        )
        quality = (
            pd.to_numeric(frame["quality"], errors="coerce").to_numpy(dtype=float)
            if "quality" in frame
            else np.full(n, np.nan)
        )
        if kind == "hospital":
            detail = frame["type"].str.replace("Childrens", "Children's hospital").tolist()
        elif kind == "home health":
            services = ("nursing", "physical_therapy", "occupational_therapy", "speech", "social", "healthaide")
            detail = [
                ", ".join(s.replace("_", " ") for s in services if str(r[s]).lower() == "true")
                for r in frame.to_dict("records")
            ]
        elif "beds" in frame:
            detail = [f"{b} beds" if b else "" for b in frame["beds"]]
        else:
            detail = [""] * n
        add(kind, frame, emergency, quality, detail)
    if synthea is not None and (Path(synthea) / "providers.csv").is_file():
        providers = pd.read_csv(Path(synthea) / "providers.csv", dtype=str, keep_default_na=False)
        organizations = pd.read_csv(Path(synthea) / "organizations.csv", dtype=str, keep_default_na=False)
        phones = dict(zip(organizations["Id"], organizations["PHONE"]))
        clinics = dict(zip(organizations["Id"], organizations["NAME"]))
        providers = providers.assign(PHONE=[phones.get(o, "") for o in providers["ORGANIZATION"]])
        detail = [
            f"{s.title()}; {clinics.get(o, '').title()}"
            for s, o in zip(providers["SPECIALITY"], providers["ORGANIZATION"])
        ]
        n = len(providers)
        add("primary care", providers, np.zeros(n, bool), np.full(n, np.nan), detail)
    arrays = {column: np.array(values) for column, values in rows.items()}
    arrays["emergency"] = arrays["emergency"].astype(bool)
    arrays["quality"] = arrays["quality"].astype(np.float32)
    arrays.update(place_centres(arrays))
    return arrays


def _densest_centre(lat: np.ndarray, lon: np.ndarray, radius_km: float) -> tuple[float, float] | None:
    """The median of the largest group of points within ``radius_km`` of one of them (None for two far apart)."""
    if len(lat) == 0:
        return None
    if len(lat) > 400:  # a sample keeps the pairwise distances small; the median is then taken over all near points
        pick = np.linspace(0, len(lat) - 1, 400).astype(int)
        seeds_lat, seeds_lon = lat[pick], lon[pick]
    else:
        seeds_lat, seeds_lon = lat, lon
    near = haversine_km(seeds_lat[:, None], seeds_lon[:, None], lat[None, :], lon[None, :]) <= radius_km
    counts = near.sum(axis=1)
    best = int(np.argmax(counts))
    if counts[best] < 2 and len(lat) > 1:
        return None
    members = near[best]
    return float(np.median(lat[members])), float(np.median(lon[members]))


def place_centres(arrays: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Where cities and ZIP codes lie, and how far each facility sits from its own city.

    Facility coordinates in the directory are sometimes far off (a Lincoln hospital placed 110 km
    north). A city's centre is the median of its densest group of facilities (within 15 km of one
    of them); ``offset_km`` is each facility's distance from its city's centre; a ZIP code's centre
    is the median of its facilities within 40 km of their city's centre, or else that city's centre.
    """
    lat, lon, codes = arrays["lat"], arrays["lon"], arrays["zip"]

    def groups(keys) -> dict[str, np.ndarray]:
        found: dict[str, list[int]] = {}
        for row, key in enumerate(keys):
            if key:
                found.setdefault(key, []).append(row)
        return {key: np.array(rows) for key, rows in found.items()}

    wrong_state = np.array(
        [misplaced_state(str(st), float(a), float(b)) for st, a, b in zip(arrays["state"], lat, lon)]
    )
    # Cities and ZIP codes are placed only by facilities inside their own state.
    keys = [
        f"{str(c).lower()}|{str(s).upper()[:2]}" if c and s and not bad else ""
        for c, s, bad in zip(arrays["city"], arrays["state"], wrong_state)
    ]
    offset = np.full(len(lat), np.nan, dtype=np.float32)
    city_centre: dict[str, tuple[float, float]] = {}
    for key, rows in groups(keys).items():
        centre = _densest_centre(lat[rows], lon[rows], 15.0)
        if centre is None:  # two facilities far apart: no way to tell which is right
            centre = (float(np.median(lat[rows])), float(np.median(lon[rows])))
        else:
            offset[rows] = haversine_km(centre[0], centre[1], lat[rows], lon[rows])
        city_centre[key] = centre
    offset[wrong_state] = np.inf  # placed outside its own state: never used for distances
    consistent = ~(offset > 40)  # NaN (cannot tell) counts as consistent
    zip_keys, zip_lat, zip_lon = [], [], []
    for code, rows in groups([str(code) if len(str(code)) == 5 else "" for code in codes]).items():
        good = rows[consistent[rows]]
        if len(good):
            centre = (float(np.median(lat[good])), float(np.median(lon[good])))
        elif keys[rows[0]] in city_centre:
            centre = city_centre[keys[rows[0]]]
        else:
            continue
        zip_keys.append(code)
        zip_lat.append(centre[0])
        zip_lon.append(centre[1])
    return {
        "offset_km": offset,
        "zip_keys": np.array(zip_keys),
        "zip_lat": np.array(zip_lat),
        "zip_lon": np.array(zip_lon),
        "city_keys": np.array(list(city_centre)),
        "city_lat": np.array([centre[0] for centre in city_centre.values()]),
        "city_lon": np.array([centre[1] for centre in city_centre.values()]),
    }


def parse_location(text: str | None):
    """What a person typed as a location: "LAT, LON" -> a pair of numbers; a ZIP code or "City, ST" stays
    text (``Directory.resolve`` reads it); blank -> None."""
    if text is None or not text.strip():
        return None
    parts = text.split(",")
    if len(parts) == 2:
        try:
            return float(parts[0]), float(parts[1])
        except ValueError:
            pass
    return text.strip()


def haversine_km(lat1, lon1, lat2, lon2):
    """Great-circle distance in km (inputs in degrees; broadcasts)."""
    lat1, lon1, lat2, lon2 = (np.radians(np.asarray(v, dtype=float)) for v in (lat1, lon1, lat2, lon2))
    a = np.sin((lat2 - lat1) / 2) ** 2 + np.cos(lat1) * np.cos(lat2) * np.sin((lon2 - lon1) / 2) ** 2
    return 2 * EARTH_KM * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0)))


class Directory:
    """The facility directory with one BallTree per need (built on first use)."""

    def __init__(self, arrays: dict[str, np.ndarray]):
        self.arrays = arrays
        self.size = len(arrays["kind"])
        self._trees: dict[str, tuple] = {}
        self.counts = {kind: int((arrays["kind"] == kind).sum()) for kind in dict.fromkeys(arrays["kind"].tolist())}
        self.zips = {
            str(code): (float(a), float(b))
            for code, a, b in zip(arrays["zip_keys"], arrays["zip_lat"], arrays["zip_lon"])
        }
        self.cities = {
            tuple(str(key).split("|")): (float(a), float(b))
            for key, a, b in zip(arrays["city_keys"], arrays["city_lat"], arrays["city_lon"])
        }
        offsets = arrays.get("offset_km")
        self.misplaced_cities = {
            (str(city).lower(), str(state).upper()[:2])
            for city, state, off in zip(arrays["city"], arrays["state"], offsets if offsets is not None else [])
            if np.isinf(off)
        } - set(self.cities)
        self._zip_numbers = np.array(sorted(int(code) for code in self.zips))

    def _tree(self, need: str):
        if need not in self._trees:
            from sklearn.neighbors import BallTree

            kind, emergency_only, _ = NEEDS[need]
            mask = self.arrays["kind"] == kind
            if emergency_only:
                mask &= self.arrays["emergency"]
            if "offset_km" in self.arrays:  # placed outside its own state by the directory: left out
                mask &= ~np.isinf(self.arrays["offset_km"])
            rows = np.flatnonzero(mask)
            points = np.radians(np.column_stack([self.arrays["lat"][rows], self.arrays["lon"][rows]]))
            self._trees[need] = (BallTree(points, metric="haversine"), rows) if len(rows) else (None, rows)
        return self._trees[need]

    # -- locations -----------------------------------------------------------------------------
    def resolve(self, location) -> tuple[tuple[float, float], str]:
        """``(lat, lon)`` and a description of where it came from.

        Raises:
            InvalidInputError: naming ``location``: impossible coordinates, an unknown ZIP or city
                (with the nearest known ones), or a place outside the directory's area.
        """
        if isinstance(location, dict):
            keys = {str(key).lower(): value for key, value in location.items()}
            if "lat" in keys and ("lon" in keys or "lng" in keys):
                location = (keys["lat"], keys.get("lon", keys.get("lng")))
            elif "zip" in keys:
                location = keys["zip"]
            elif "city" in keys:
                location = f"{keys['city']}, {keys.get('state', '')}"
            else:
                raise InvalidInputError(
                    f"location: a dict needs 'lat' and 'lon', 'zip', or 'city' and 'state'; got keys {sorted(location)}."
                )
        if isinstance(location, (int, np.integer)) and not isinstance(location, bool) and 0 <= location <= 99999:
            location = f"{int(location):05d}"
        if isinstance(location, str) and isinstance(parse_location(location), tuple):
            location = parse_location(location)
        if isinstance(location, (tuple, list)):
            if len(location) != 2:
                raise InvalidInputError(f"location: give (latitude, longitude); got {len(location)} values.")
            try:
                lat, lon = (float(value) for value in location)
            except (TypeError, ValueError):
                raise InvalidInputError(
                    f"location: latitude and longitude must be numbers; got {location!r}."
                ) from None
            if not (math.isfinite(lat) and -90 <= lat <= 90 and math.isfinite(lon) and -180 <= lon <= 180):
                raise InvalidInputError(
                    f"location: ({location[0]}, {location[1]}) is impossible; latitude is -90..90 and longitude -180..180 "
                    "(US longitudes are negative, e.g. (40.81, -96.70) for Lincoln, NE)."
                )
            self._check_area(lat, lon, f"({lat:.4f}, {lon:.4f})")
            return (lat, lon), f"{lat:.4f}, {lon:.4f}"
        if not isinstance(location, str) or not location.strip():
            raise InvalidInputError(
                "location: give (latitude, longitude), a US ZIP code such as '68508', or a city such as 'Lincoln, NE'; "
                f"got {location!r}."
            )
        text = " ".join(location.split())
        if len(text) > 100:
            raise InvalidInputError("location: at most 100 characters (a ZIP code or 'City, ST').")
        if re.fullmatch(r"\d{5}(-\d{4})?", text):
            code = text[:5]
            if code not in self.zips:
                near = self._near_zips(int(code))
                raise InvalidInputError(
                    f"location: ZIP code {code} is not in the facility directory. Nearest known ZIP codes: "
                    f"{', '.join(near)}. Or give latitude and longitude."
                )
            return self.zips[code], f"ZIP {code}"
        match = re.fullmatch(r"(.+?)[,\s]+([A-Za-z .]+)", text)
        if match:
            city, state = match.group(1).strip().lower(), match.group(2).strip()
            state = state.upper() if len(state) == 2 else _STATE_BY_NAME.get(state.lower(), state.upper())
            if (city, state) in self.cities:
                return self.cities[(city, state)], f"{city.title()}, {state}"
            if (city, state) in self.misplaced_cities:
                raise InvalidInputError(
                    f"location: the directory places every facility of {city.title()}, {state} outside {state}, so it "
                    "cannot tell what is near there. Give latitude and longitude, or call 911 in an emergency."
                )
            if len(state) == 2 and state not in STATES:
                raise InvalidInputError(
                    f"location: {text!r} is not in the US ({state} is not a US state); the facility directory covers "
                    "US facilities only."
                )
            if state in STATES:
                known = [c for c, s in self.cities if s == state]
                close = get_close_matches(city, known, n=3, cutoff=0.6)
                hint = (
                    f"Did you mean {', '.join(f'{c.title()}, {state}' for c in close)}?"
                    if close
                    else (f"The directory has {len(known)} places in {state}; try a nearby town or a ZIP code.")
                )
                raise InvalidInputError(f"location: {text!r} is not a place in the facility directory. {hint}")
        raise InvalidInputError(
            f"location: {text!r} is neither a US ZIP code nor 'City, ST'. Give a ZIP code such as '68508', "
            "'Lincoln, NE', or latitude and longitude."
        )

    def _near_zips(self, code: int, n: int = 3) -> list[str]:
        order = np.argsort(np.abs(self._zip_numbers - code), kind="stable")[:n]
        return [f"{self._zip_numbers[i]:05d}" for i in order]

    def _check_area(self, lat: float, lon: float, shown: str) -> None:
        usable = ~np.isinf(self.arrays["offset_km"]) if "offset_km" in self.arrays else np.ones(self.size, bool)
        distances = np.where(usable, haversine_km(lat, lon, self.arrays["lat"], self.arrays["lon"]), np.inf)
        nearest = int(np.argmin(distances))
        if distances[nearest] > MAX_KM:
            a = self.arrays
            raise InvalidInputError(
                f"location {shown} is outside the facility directory's area (US facilities only): the nearest facility "
                f"is {distances[nearest]:.0f} km away ({a['name'][nearest]}, {a['city'][nearest]}, {a['state'][nearest]} "
                f"{a['zip'][nearest]}). Give a US location. (The directory places the facilities of Guam, the Northern "
                "Mariana Islands, American Samoa and the US Virgin Islands outside those places, so they are left out.)"
            )

    # -- search --------------------------------------------------------------------------------
    def nearest(self, lat: float, lon: float, need: str, k: int) -> list[dict]:
        """The ``k`` nearest facilities for ``need``, nearest first, with the reason for each."""
        tree, rows = self._tree(need)
        if tree is None:
            return []
        k = min(k, len(rows))
        distance, index = tree.query(np.radians([[lat, lon]]), k=k)
        a = self.arrays
        _, _, label = NEEDS[need]
        found = []
        for rank, (d, i) in enumerate(zip(distance[0], index[0]), start=1):
            row = rows[i]
            quality = float(a["quality"][row])
            detail = str(a["detail"][row])
            why = [f"{'Nearest' if rank == 1 else f'Number {rank} by distance:'} {label}, {d * EARTH_KM:.1f} km away"]
            if need == "hospital":
                why.append("emergency department: " + ("yes" if a["emergency"][row] else "no"))
            if np.isfinite(quality):
                why.append(f"CMS overall rating {quality:.0f} of 5 stars")
            if detail:
                why.append(detail)
            offset = float(a["offset_km"][row]) if "offset_km" in a else float("nan")
            if offset > 40:
                why.append(
                    f"note: the directory places it {offset:.0f} km from the other facilities of its own town, so its "
                    "position (and this distance) may be wrong: check the address"
                )
            address = ", ".join(
                part
                for part in (str(a["street"][row]), str(a["city"][row]), f"{a['state'][row]} {a['zip'][row]}".strip())
                if part
            )
            found.append(
                {
                    "name": str(a["name"][row]),
                    "kind": str(a["kind"][row]),
                    "address": address,
                    "phone": str(a["phone"][row]),
                    "lat": float(a["lat"][row]),
                    "lon": float(a["lon"][row]),
                    "distance_km": round(float(d * EARTH_KM), 2),
                    "emergency": bool(a["emergency"][row]),
                    "quality": int(quality) if np.isfinite(quality) else None,
                    "why": "; ".join(why) + ".",
                }
            )
        return found
