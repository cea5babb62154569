"""Next-visit forecast and the risk of losing a customer: pure Python, no Odoo import (pytest alone).

For one customer of one store, from what the store knows of them:

* **Rhythm** (``own_interval``): the median of the days between their successive visits (one visit
  per day counts once), never less than :data:`MIN_INTERVAL_DAYS` (a come-back for a rework two days
  later is not a rhythm). With fewer than two visits the store's rhythm is used (the nightly job
  passes the median of the days between the successive visits of all the store's customers, or
  :data:`DEFAULT_INTERVAL_DAYS` when there is none).
* **Expected next visit**: the earlier of the last visit + the rhythm and the earliest next service
  date of the customer's cars (the service forecast of ``lib/forecast.py``); a visit already booked
  (an appointment, or the car in the workshop) is the expected visit itself.
* **Days overdue**: today - the expected next visit, 0 when it is not yet due or a visit is booked.
* **Risk score**, 0 to 100: the sum of named components, each kept with its points so that the
  screen says why (capped at 100):

  ============== ================================================================================
  ``overdue``     ``round(50 x overdue / rhythm)``, at most 50: a whole rhythm overdue gives 50
                  (95 days overdue against a 120-day rhythm: 40)
  ``complaint``   a complaint still open: 20; else one received in the last 90 days: 15
  ``csi``         last satisfaction index (0-100) below 60: 20; below 80: 10
  ``grade``       value grade C (or not graded): 10; B: 5; A: 0
  ``single``      only one visit so far (no rhythm of their own yet): 10
  ``booked``      a visit booked or in the workshop: the score is 0 whatever the rest
  ============== ================================================================================

* **Value at stake**: the average yearly spend, the money paid over the relationship divided by
  its length in years (first visit to today, at least one year).

The weights are data (:data:`WEIGHTS`), the Odoo side only formats the components in the store's
language. ``benchmarks/backtest_at_risk.py`` checks the score against generated histories.
"""

import itertools
from dataclasses import dataclass, field
from datetime import date, timedelta
from statistics import median

#: A rhythm is never shorter than this (days).
MIN_INTERVAL_DAYS = 30
#: The store's rhythm when none of its customers has one yet (days).
DEFAULT_INTERVAL_DAYS = 180
#: Days a closed complaint still counts.
COMPLAINT_DAYS = 90
#: The points of each component.
WEIGHTS = {
    "overdue_max": 50,
    "complaint_open": 20,
    "complaint_recent": 15,
    "csi_low": 20,
    "csi_fair": 10,
    "grade_c": 10,
    "grade_b": 5,
    "single": 10,
}
#: Satisfaction bands: below the first is low, below the second fair.
CSI_LOW, CSI_FAIR = 60, 80
MAX_SCORE = 100


@dataclass(frozen=True)
class Customer:
    """What the store knows of one customer (the nightly job fetches it in one query per batch)."""

    visit_dates: tuple = ()  # the days of their visits (delivered), any order, repeats allowed
    next_service_date: date | None = None  # the earliest next service of their cars
    value_grade: str | None = None  # "A", "B", "C" or None (not graded yet)
    open_complaints: int = 0
    recent_complaints: int = 0  # received in the last COMPLAINT_DAYS days (closed or not)
    last_csi: float | None = None  # the satisfaction index of their last done callback
    total_paid: float = 0.0
    booked_date: date | None = None  # a visit booked or in the workshop


@dataclass(frozen=True)
class Component:
    """One named part of the score: ``code`` (see the module's table), its points and the figures
    the explanation quotes."""

    code: str
    points: int
    values: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Risk:
    last_visit: date | None
    interval_days: int
    interval_source: str  # "own" or "store"
    expected_date: date | None
    days_overdue: int
    score: int
    components: tuple
    value_at_stake: float


def visit_days(dates):
    """The distinct days, oldest first."""
    return sorted(set(dates))


def intervals(dates):
    """The days between successive distinct visit days."""
    days = visit_days(dates)
    return [(later - earlier).days for earlier, later in itertools.pairwise(days)]


def own_interval(dates):
    """The customer's rhythm in days (median of their intervals, at least MIN_INTERVAL_DAYS), or
    None with fewer than two distinct visit days."""
    gaps = intervals(dates)
    if not gaps:
        return None
    return max(round(median(gaps)), MIN_INTERVAL_DAYS)


def store_interval(own_intervals):
    """The store's rhythm: the median of the given intervals (None ignored; the nightly job gives the
    median of all its customers' gaps), at least MIN_INTERVAL_DAYS, else the default."""
    known = [value for value in own_intervals if value]
    if not known:
        return DEFAULT_INTERVAL_DAYS
    return max(round(median(known)), MIN_INTERVAL_DAYS)


def overdue_points(days_overdue, interval_days):
    """``round(50 x overdue / rhythm)`` capped at 50; 0 when not overdue."""
    if days_overdue <= 0 or interval_days <= 0:
        return 0
    return min(WEIGHTS["overdue_max"], round(WEIGHTS["overdue_max"] * days_overdue / interval_days))


def value_at_stake(total_paid, first_visit, today):
    """The average yearly spend: the money paid divided by the years since the first visit (at least one)."""
    if not total_paid or first_visit is None:
        return 0.0
    years = max((today - first_visit).days / 365.25, 1.0)
    return round(total_paid / years, 2)


def score(customer, today, store_rhythm=DEFAULT_INTERVAL_DAYS):
    """The :class:`Risk` of ``customer`` on ``today`` (``store_rhythm``: the store's rhythm in days)."""
    days = visit_days(customer.visit_dates)
    last = days[-1] if days else None
    rhythm = own_interval(days)
    source = "own"
    if rhythm is None:
        rhythm, source = max(int(store_rhythm or DEFAULT_INTERVAL_DAYS), MIN_INTERVAL_DAYS), "store"
    candidates = [day for day in (last + timedelta(days=rhythm) if last else None, customer.next_service_date) if day]
    expected = min(candidates) if candidates else None
    components = []
    if customer.booked_date:
        expected = customer.booked_date
        overdue = 0
        components.append(Component("booked", 0, {"date": customer.booked_date}))
    else:
        overdue = max((today - expected).days, 0) if expected else 0
        points = overdue_points(overdue, rhythm)
        if points:
            components.append(Component("overdue", points, {"days": overdue, "interval": rhythm, "source": source}))
        if customer.open_complaints:
            components.append(
                Component("complaint_open", WEIGHTS["complaint_open"], {"count": customer.open_complaints})
            )
        elif customer.recent_complaints:
            components.append(
                Component(
                    "complaint_recent",
                    WEIGHTS["complaint_recent"],
                    {"count": customer.recent_complaints, "days": COMPLAINT_DAYS},
                )
            )
        if customer.last_csi is not None and customer.last_csi < CSI_LOW:
            components.append(Component("csi_low", WEIGHTS["csi_low"], {"csi": round(customer.last_csi)}))
        elif customer.last_csi is not None and customer.last_csi < CSI_FAIR:
            components.append(Component("csi_fair", WEIGHTS["csi_fair"], {"csi": round(customer.last_csi)}))
        if customer.value_grade == "B":
            components.append(Component("grade_b", WEIGHTS["grade_b"], {"grade": "B"}))
        elif customer.value_grade != "A":
            components.append(Component("grade_c", WEIGHTS["grade_c"], {"grade": customer.value_grade or "C"}))
        if len(days) == 1:
            components.append(Component("single", WEIGHTS["single"], {}))
    total = min(sum(component.points for component in components), MAX_SCORE)
    return Risk(
        last_visit=last,
        interval_days=rhythm,
        interval_source=source,
        expected_date=expected,
        days_overdue=overdue,
        score=total,
        components=tuple(components),
        value_at_stake=value_at_stake(customer.total_paid, days[0] if days else None, today),
    )


def flag_no_visit(visit_dates, today, days=180):
    """The plain rule the score is compared with: no visit for ``days`` days."""
    last = max(visit_dates) if visit_dates else None
    return last is not None and (today - last).days >= days
