"""Mileage forecast and service due dates: pure Python, no Odoo import (tested by pytest alone).

A car's usual kilometres per day come from its own dated odometer readings, by the Theil-Sen
estimator: the median of the rates between every pair of readings of the same odometer. One odd
reading moves only the pairs it is part of, a minority once a car has four readings or more, so it
cannot pull the median far. A reading flagged ``is_replacement`` (the odometer was replaced or reset)
starts a new series: no pair spans it. Readings of the same day count once (the highest value).

The next service is due at the plan's mileage or after the plan's months, whichever comes first:
the mileage date is the day the car is expected to reach the service mileage at its usual rate
(none when the car is not driven), the time date is the plan's months after the last service (or
after the purchase for the first service).
"""

import calendar
import math
from dataclasses import dataclass
from datetime import date, timedelta
from statistics import median

#: Only the most recent readings count: a car's use changes over the years, and the pairs grow as n².
MAX_READINGS = 24


@dataclass(frozen=True)
class Reading:
    """One dated odometer reading (km)."""

    date: date
    value: int
    is_replacement: bool = False


@dataclass(frozen=True)
class Plan:
    """The service intervals of a plan (auto_crm.service.plan)."""

    first_km: int
    first_months: int
    interval_km: int
    interval_months: int


@dataclass(frozen=True)
class Forecast:
    """What the forecast says, and what it was computed from (for the explanation on the car)."""

    km_per_day: float | None
    readings_used: int
    next_mileage: int
    mileage_date: date | None
    time_date: date | None
    due_date: date | None
    last_service_date: date | None
    first_service: bool = False


def add_months(day, months):
    """``day`` plus ``months`` months, the day of the month clamped to the month's last (as
    dateutil's relativedelta does; this is the nightly job's inner loop, so plain arithmetic)."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    month += 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def months_between(start, end):
    """Whole months from ``start`` to ``end`` (rounded down; ``end`` before ``start`` gives a negative)."""
    months = (end.year - start.year) * 12 + end.month - start.month
    if add_months(start, months) > end:
        months -= 1
    return months


def first_step_on_or_after(start, every_months, since):
    """The first of ``start``, ``start`` + ``every_months``, + 2 x ``every_months``... on or after ``since``."""
    if start >= since:
        return start
    step = -(-months_between(start, since) // every_months)
    due = add_months(start, step * every_months)
    while due < since:  # a clamped month end can fall a few days short
        step += 1
        due = add_months(start, step * every_months)
    return due


def series(readings):
    """The readings cut into series of one odometer each, oldest first, one reading per day."""
    ordered = sorted(readings, key=lambda r: (r.date, r.value))
    result = []
    for reading in ordered:
        if reading.is_replacement or not result:
            result.append([reading])
        elif result[-1][-1].date == reading.date:
            # The same day twice: the highest value (a replacement reading stays the series' first).
            if reading.value > result[-1][-1].value:
                result[-1][-1] = Reading(reading.date, reading.value, result[-1][-1].is_replacement)
        else:
            result[-1].append(reading)
    return result


def km_per_day(readings, max_readings=MAX_READINGS):
    """``(rate, readings used)``: the Theil-Sen rate in km per day over the most recent readings, or
    ``(None, n)`` when no two readings of the same odometer on different days exist."""
    parts = series(readings)
    kept, budget = [], max_readings
    for part in reversed(parts):
        if budget <= 0:
            break
        kept.append(part[-budget:])
        budget -= len(kept[-1])
    slopes = []
    for part in kept:
        for i, first in enumerate(part):
            for second in part[i + 1 :]:
                days = (second.date - first.date).days
                slopes.append((second.value - first.value) / days)
    used = sum(len(part) for part in kept if len(part) > 1)
    if not slopes:
        return None, used
    return max(median(slopes), 0.0), used


def mileage_date(last, target_km, rate):
    """The day a car whose last reading is ``last`` reaches ``target_km`` at ``rate`` km per day: in
    the past when it is already beyond it; None when it is not driven (no rate, or 0)."""
    if not rate or rate <= 0:
        return None
    return last.date + timedelta(days=math.ceil((target_km - last.value) / rate))


def next_service(plan, readings, rate, purchase_date=None, last_service=None, readings_used=0):
    """The forecast of the next service of a car.

    ``readings``: the car's readings (the last one is where the projection starts; with none, a
    new car's 0 km at its purchase date); ``rate``: its usual km per day (its own, or the fallback
    the caller chose); ``last_service``: the reading of its last maintenance (date and km), if any.
    The next service is due at the last service's km + the interval or its date + the interval months;
    without a service on record, at the plan's next milestone (see below)."""
    parts = series(readings) if readings else []
    current = parts[-1] if parts else []
    last = current[-1] if current else (Reading(purchase_date, 0) if purchase_date else None)
    if last_service:
        next_km = last_service.value + plan.interval_km
        time_date = add_months(last_service.date, plan.interval_months)
        if current and last_service.date < current[0].date:
            # The odometer was replaced after the last service: what was driven on the old one since the
            # service counts against the interval, the rest is on the new one.
            driven = max(parts[-2][-1].value - last_service.value, 0) if len(parts) > 1 else 0
            next_km = current[0].value + max(plan.interval_km - driven, 0)
    else:
        # No service on record: the plan's milestones (first_km, then every interval_km; first_months
        # after the purchase, then every interval_months), the first one not yet passed. A car already
        # past its first maintenance was serviced elsewhere or not at all: it is due at the next one.
        start = last.value if last else 0
        next_km = plan.first_km
        if start > plan.first_km:
            next_km += math.ceil((start - plan.first_km) / plan.interval_km) * plan.interval_km
        time_date = None
        if purchase_date:
            since = last.date if last else purchase_date
            first = add_months(purchase_date, plan.first_months)
            if first >= since:
                time_date = first
            else:
                # purchase + first + k x interval months (from the purchase date, as the plan counts)
                step = -(-(months_between(purchase_date, since) - plan.first_months) // plan.interval_months)
                time_date = add_months(purchase_date, plan.first_months + step * plan.interval_months)
                while time_date < since:
                    step += 1
                    time_date = add_months(purchase_date, plan.first_months + step * plan.interval_months)
    when_km = mileage_date(last, next_km, rate) if last else None
    due = min((d for d in (when_km, time_date) if d), default=None)
    return Forecast(
        km_per_day=rate,
        readings_used=readings_used,
        next_mileage=next_km,
        mileage_date=when_km,
        time_date=time_date,
        due_date=due,
        last_service_date=last_service.date if last_service else None,
        first_service=not last_service and next_km == plan.first_km,
    )


@dataclass(frozen=True)
class InspectionRule:
    """The periodic safety inspection (年检) of a private car (auto_crm.service.plan)."""

    first_years: int
    second_years: int
    interval_months: int
    old_years: int
    old_interval_months: int


def next_inspection(rule, registered, today):
    """The first on-site inspection due on or after ``today`` for a car registered on ``registered``:
    at ``first_years`` and ``second_years``, then every ``interval_months`` until ``old_years``, then
    every ``old_interval_months``. (0 for ``second_years`` means no second exemption step.)"""
    if not registered:
        return None
    steps = [add_months(registered, 12 * rule.first_years)]
    if rule.second_years and rule.second_years > rule.first_years:
        steps.append(add_months(registered, 12 * rule.second_years))
    for due in steps:
        if due >= today:
            return due
    start, old = steps[-1], add_months(registered, 12 * rule.old_years)
    # Every interval_months from the last exempt step, until the old-car age.
    due = first_step_on_or_after(start, max(rule.interval_months, 1), min(today, old) if old > start else today)
    if due >= today and (due <= old or old <= start):
        return due
    # Past the old-car age: every old_interval_months from that age.
    return first_step_on_or_after(max(old, start), max(rule.old_interval_months, 1), today)
