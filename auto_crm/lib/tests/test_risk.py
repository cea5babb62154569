"""The next-visit forecast and risk score (lib/risk.py) against cases computed by hand."""

from datetime import date, timedelta

import risk
from risk import Customer

TODAY = date(2026, 12, 1)


def ago(days):
    return TODAY - timedelta(days=days)


def codes(result):
    return {component.code: component.points for component in result.components}


def test_own_interval_is_the_median_of_the_gaps():
    # gaps 100, 120, 200 -> median 120; a repeated day counts once.
    dates = [ago(420), ago(320), ago(200), ago(200), ago(0)]
    assert risk.intervals(dates) == [100, 120, 200]
    assert risk.own_interval(dates) == 120


def test_own_interval_needs_two_days_and_has_a_floor():
    assert risk.own_interval([ago(10)]) is None
    assert risk.own_interval([ago(10), ago(10)]) is None
    # a rework two days later is not a rhythm: 30 days at least
    assert risk.own_interval([ago(12), ago(10)]) == risk.MIN_INTERVAL_DAYS


def test_store_interval_median_or_default():
    assert risk.store_interval([90, None, 150, 200]) == 150
    assert risk.store_interval([None]) == risk.DEFAULT_INTERVAL_DAYS
    assert risk.store_interval([10, 12]) == risk.MIN_INTERVAL_DAYS


def test_overdue_95_days_against_a_120_day_rhythm():
    # visits every 120 days, the last 215 days ago: expected 95 days ago; 50 x 95 / 120 = 39.58 -> 40.
    customer = Customer(visit_dates=(ago(455), ago(335), ago(215)), value_grade="A")
    result = risk.score(customer, TODAY)
    assert result.interval_days == 120 and result.interval_source == "own"
    assert result.expected_date == ago(95)
    assert result.days_overdue == 95
    assert codes(result) == {"overdue": 40}
    assert result.score == 40
    overdue = result.components[0]
    assert overdue.values == {"days": 95, "interval": 120, "source": "own"}


def test_overdue_points_capped_at_a_whole_rhythm():
    assert risk.overdue_points(240, 120) == 50
    assert risk.overdue_points(0, 120) == 0
    assert risk.overdue_points(-5, 120) == 0
    assert risk.overdue_points(12, 120) == 5


def test_car_service_date_earlier_than_the_rhythm():
    # rhythm 200 days from a visit 100 days ago -> 100 days ahead; the car is due in 10 days: expected then.
    customer = Customer(visit_dates=(ago(300), ago(100)), next_service_date=TODAY + timedelta(days=10), value_grade="A")
    result = risk.score(customer, TODAY)
    assert result.expected_date == TODAY + timedelta(days=10)
    assert result.days_overdue == 0
    assert result.score == 0
    # a car overdue 30 days against the 200-day rhythm: round(50 x 30 / 200) = 8 (7.5 rounds to even 8)
    late = Customer(visit_dates=(ago(300), ago(100)), next_service_date=ago(30), value_grade="A")
    assert risk.score(late, TODAY).days_overdue == 30
    assert codes(risk.score(late, TODAY)) == {"overdue": 8}


def test_single_visit_uses_the_store_rhythm():
    customer = Customer(visit_dates=(ago(250),), value_grade="B")
    result = risk.score(customer, TODAY, store_rhythm=150)
    # expected 250 - 150 = 100 days ago: 50 x 100 / 150 = 33.3 -> 33; B +5; single visit +10
    assert result.interval_source == "store" and result.interval_days == 150
    assert result.days_overdue == 100
    assert codes(result) == {"overdue": 33, "grade_b": 5, "single": 10}
    assert result.score == 48


def test_complaint_csi_and_grade_components():
    base = (ago(400), ago(220), ago(40))  # rhythm 180, not overdue
    open_case = risk.score(Customer(visit_dates=base, open_complaints=1, recent_complaints=1, last_csi=55), TODAY)
    assert codes(open_case) == {"complaint_open": 20, "csi_low": 20, "grade_c": 10}
    assert open_case.score == 50
    recent = risk.score(Customer(visit_dates=base, recent_complaints=2, last_csi=62, value_grade="A"), TODAY)
    assert codes(recent) == {"complaint_recent": 15, "csi_fair": 10}
    assert recent.score == 25
    happy = risk.score(Customer(visit_dates=base, last_csi=80, value_grade="A"), TODAY)
    assert happy.score == 0 and happy.components == ()


def test_score_capped_at_100():
    customer = Customer(visit_dates=(ago(900),), open_complaints=1, last_csi=20, value_grade="C")
    result = risk.score(customer, TODAY, store_rhythm=100)
    # overdue 50 + complaint 20 + csi 20 + grade 10 + single 10 = 110 -> 100
    assert sum(component.points for component in result.components) == 110
    assert result.score == 100


def test_a_booked_visit_means_no_risk():
    booked = TODAY + timedelta(days=3)
    customer = Customer(visit_dates=(ago(900), ago(600)), open_complaints=1, booked_date=booked)
    result = risk.score(customer, TODAY)
    assert result.expected_date == booked
    assert result.days_overdue == 0
    assert result.score == 0
    assert codes(result) == {"booked": 0}


def test_value_at_stake_is_the_average_yearly_spend():
    # 12,000 paid over four years (1,461 days) -> 3,000 a year; a newcomer counts one year at least.
    assert risk.value_at_stake(12000, ago(1461), TODAY) == 3000.0
    assert risk.value_at_stake(3000, ago(30), TODAY) == 3000.0
    assert risk.value_at_stake(0, ago(30), TODAY) == 0.0
    result = risk.score(Customer(visit_dates=(ago(1461), ago(365)), total_paid=9000), TODAY)
    assert result.value_at_stake == 2250.0


def test_no_visit_at_all():
    result = risk.score(Customer(next_service_date=ago(20), value_grade="A"), TODAY, store_rhythm=200)
    assert result.last_visit is None
    assert result.expected_date == ago(20)
    assert codes(result) == {"overdue": 5}  # 50 x 20 / 200
    nothing = risk.score(Customer(), TODAY)
    assert nothing.expected_date is None and nothing.days_overdue == 0


def test_flag_no_visit():
    assert risk.flag_no_visit([ago(181), ago(500)], TODAY)
    assert risk.flag_no_visit([ago(180)], TODAY)
    assert not risk.flag_no_visit([ago(179)], TODAY)
    assert not risk.flag_no_visit([], TODAY)
