"""The mileage forecast (lib/forecast.py) against cases computed by hand."""

from datetime import date, timedelta

import forecast
import pytest
from forecast import InspectionRule, Plan, Reading

D0 = date(2026, 1, 1)
PLAN = Plan(first_km=5000, first_months=6, interval_km=10000, interval_months=12)
CN_PRIVATE = InspectionRule(first_years=6, second_years=10, interval_months=12, old_years=15, old_interval_months=6)


def day(n):
    return D0 + timedelta(days=n)


def test_steady_car_rate():
    # 3,000 km every 100 days: every pair says 30 km/day.
    readings = [Reading(day(0), 0), Reading(day(100), 3000), Reading(day(200), 6000)]
    assert forecast.km_per_day(readings) == (30.0, 3)


def test_one_odd_reading_does_not_move_the_rate():
    # A reading typed 100 km instead of 3,100 on day 200 (the odometer check allows it: it is not lower
    # than the 3,000 before). Pair rates: 30, 15.5, 30, 1, 30, 59 -> median (30 + 30) / 2 = 30.
    readings = [Reading(day(0), 0), Reading(day(100), 3000), Reading(day(200), 3100), Reading(day(300), 9000)]
    assert forecast.km_per_day(readings) == (30.0, 4)
    # With only three readings, the last one odd, the median of 30, 15.25 and 0.5 is 15.25: one odd
    # reading in three cannot be outvoted.
    odd_last = [Reading(day(0), 0), Reading(day(100), 3000), Reading(day(200), 3050)]
    assert forecast.km_per_day(odd_last) == (15.25, 3)


def test_replaced_odometer_starts_a_new_series():
    # The old odometer: 0 -> 4,000 in 100 days (40/day). Replaced on day 150 reading 10 km, then 2,010
    # on day 250 (20/day). Pairs never span the replacement: rates 40 and 20, median 30.
    readings = [
        Reading(day(0), 0),
        Reading(day(100), 4000),
        Reading(day(150), 10, is_replacement=True),
        Reading(day(250), 2010),
    ]
    assert forecast.km_per_day(readings) == (30.0, 4)
    # Without the flag the pair 100 -> 150 (-79.8/day) would count; with it nothing is negative.
    assert [len(part) for part in forecast.series(readings)] == [2, 2]


def test_one_reading_has_no_rate():
    assert forecast.km_per_day([Reading(day(0), 1000)]) == (None, 0)
    assert forecast.km_per_day([]) == (None, 0)
    # Two readings the same day: one reading.
    assert forecast.km_per_day([Reading(day(0), 1000), Reading(day(0), 1200)]) == (None, 0)


def test_only_recent_readings_count():
    # 30 old readings at 10 km/day, then 24 at 50 km/day: only the 24 most recent count.
    readings = [Reading(day(i), 10 * i) for i in range(30)]
    readings += [Reading(day(30 + i), 300 + 50 * i) for i in range(1, 25)]
    assert forecast.km_per_day(readings) == (50.0, 24)


def test_car_driven_zero_km_has_no_mileage_date():
    readings = [Reading(day(0), 500), Reading(day(100), 500)]
    rate, used = forecast.km_per_day(readings)
    assert rate == 0.0
    result = forecast.next_service(PLAN, readings, rate, purchase_date=day(0), readings_used=used)
    assert result.mileage_date is None
    assert result.time_date == date(2026, 7, 1)  # 6 months after the purchase
    assert result.due_date == date(2026, 7, 1)


def test_first_service_by_mileage_before_time():
    # 50 km/day from 0 km on 2026-01-01: 5,000 km on day 100 (2026-04-11), before 2026-07-01.
    readings = [Reading(day(0), 0), Reading(day(40), 2000)]
    rate, used = forecast.km_per_day(readings)
    result = forecast.next_service(PLAN, readings, rate, purchase_date=day(0), readings_used=used)
    assert (rate, result.next_mileage) == (50.0, 5000)
    assert result.mileage_date == date(2026, 4, 11)
    assert result.due_date == date(2026, 4, 11)


def test_next_service_after_the_last_one_by_time_before_mileage():
    # Serviced at 8,000 km on 2026-03-01; 10 km/day: 18,000 km 1,000 days after the last reading,
    # 12 months after the service (2027-03-01) comes first.
    service = Reading(date(2026, 3, 1), 8000)
    readings = [Reading(date(2025, 11, 1), 6800), service, Reading(date(2026, 4, 10), 8400)]
    rate, _used = forecast.km_per_day(readings)
    assert rate == 10.0  # 120 days 1,200 km; 40 days 400 km; 160 days 1,600 km
    result = forecast.next_service(PLAN, readings, rate, purchase_date=date(2025, 1, 1), last_service=service)
    assert result.next_mileage == 18000
    assert result.mileage_date == date(2026, 4, 10) + timedelta(days=960)
    assert result.time_date == date(2027, 3, 1)
    assert result.due_date == date(2027, 3, 1)


def test_no_reading_new_car_starts_at_zero_on_its_purchase_date():
    # A fallback rate of 25 km/day: 5,000 km 200 days after the purchase (2026-07-20), after 2026-07-01.
    result = forecast.next_service(PLAN, [], 25.0, purchase_date=D0)
    assert result.mileage_date == date(2026, 7, 20)
    assert result.due_date == date(2026, 7, 1)
    # No purchase date, no reading: nothing to forecast from.
    nothing = forecast.next_service(PLAN, [], 25.0)
    assert (nothing.mileage_date, nothing.time_date, nothing.due_date) == (None, None, None)


def test_already_past_the_mileage_is_due_in_the_past():
    # Serviced at 1,000 km on day 0, 12,000 km on day 100 (110 km/day): 11,000 km was reached on day 91
    # (ceil(-1000 / 110) = -9 days before day 100).
    service = Reading(day(0), 1000)
    readings = [service, Reading(day(100), 12000)]
    rate, _used = forecast.km_per_day(readings)
    result = forecast.next_service(PLAN, readings, rate, purchase_date=day(0), last_service=service)
    assert (rate, result.next_mileage, result.mileage_date) == (110.0, 11000, day(91))
    assert result.due_date == day(91)


def test_no_service_on_record_due_at_the_next_milestone():
    # 142,300 km on 2026-11-01, bought 2019-12-01, never serviced here: the next milestone is 145,000 km
    # (5,000 + 14 x 10,000), 78 days at 35 km/day (2,700 / 35 = 77.1) -> 2027-01-18; by time the
    # first milestone from the reading on: 2020-06-01 + 7 x 12 months = 2027-06-01.
    readings = [Reading(date(2026, 11, 1), 142300)]
    result = forecast.next_service(PLAN, readings, 35.0, purchase_date=date(2019, 12, 1))
    assert result.next_mileage == 145000
    assert result.mileage_date == date(2027, 1, 18)
    assert result.time_date == date(2027, 6, 1)
    assert result.due_date == date(2027, 1, 18)
    assert not result.first_service
    # Still before its first maintenance: the first one.
    young = forecast.next_service(PLAN, [Reading(date(2026, 3, 1), 3000)], 35.0, purchase_date=date(2026, 1, 1))
    assert (young.next_mileage, young.time_date, young.first_service) == (5000, date(2026, 7, 1), True)


def test_replaced_odometer_after_the_service_counts_both_odometers():
    # Serviced at 20,000 km; 3,000 more km on the old odometer; the new one starts at 0: the next
    # service is at 7,000 km on the new odometer.
    service = Reading(day(0), 20000)
    readings = [service, Reading(day(60), 23000), Reading(day(61), 0, is_replacement=True), Reading(day(121), 3000)]
    rate, _used = forecast.km_per_day(readings)
    assert rate == 50.0
    result = forecast.next_service(PLAN, readings, rate, purchase_date=date(2024, 1, 1), last_service=service)
    assert result.next_mileage == 7000
    assert result.mileage_date == day(121 + 80)


@pytest.mark.parametrize(
    ("today", "due"),
    [
        (date(2026, 1, 1), date(2026, 5, 10)),  # year 6
        (date(2026, 5, 10), date(2026, 5, 10)),
        (date(2026, 5, 11), date(2030, 5, 10)),  # exempt from 6 to 10: year 10
        (date(2030, 5, 11), date(2031, 5, 10)),  # yearly after 10
        (date(2034, 6, 1), date(2035, 5, 10)),  # year 15
        (date(2035, 5, 11), date(2035, 11, 10)),  # half-yearly after 15
        (date(2036, 1, 1), date(2036, 5, 10)),
    ],
)
def test_private_car_inspection(today, due):
    assert forecast.next_inspection(CN_PRIVATE, date(2020, 5, 10), today) == due


def test_inspection_without_second_exemption():
    # The rule before 2022: year 6, then yearly (no step at year 10).
    rule = InspectionRule(first_years=6, second_years=0, interval_months=12, old_years=15, old_interval_months=6)
    assert forecast.next_inspection(rule, date(2020, 5, 10), date(2026, 6, 1)) == date(2027, 5, 10)
    assert forecast.next_inspection(rule, None, date(2026, 6, 1)) is None


def test_month_arithmetic_clamps_month_ends():
    assert forecast.add_months(date(2026, 1, 31), 1) == date(2026, 2, 28)
    assert forecast.add_months(date(2024, 2, 29), 12) == date(2025, 2, 28)
    assert forecast.add_months(date(2026, 11, 15), 3) == date(2027, 2, 15)
    assert forecast.months_between(date(2026, 1, 15), date(2026, 4, 14)) == 2
    assert forecast.months_between(date(2026, 1, 15), date(2026, 4, 15)) == 3
    # Every 12 months from 2020-02-29: the first on or after 2026-03-01 is 2027-02-28.
    assert forecast.first_step_on_or_after(date(2020, 2, 29), 12, date(2026, 3, 1)) == date(2027, 2, 28)
    assert forecast.first_step_on_or_after(date(2020, 2, 29), 12, date(2020, 1, 1)) == date(2020, 2, 29)
