from datetime import date, timedelta
from types import SimpleNamespace

import pytest
import segments

THRESHOLDS = SimpleNamespace(
    value_a_spend=20000,
    value_a_visits=6,
    value_b_spend=5000,
    value_b_visits=3,
    satisfied_visits=2,
    retained_visits=3,
    loyal_visits=5,
    at_risk_days=180,
    lost_days=365,
)
TODAY = date(2026, 6, 30)


@pytest.mark.parametrize(
    ("spend", "visits", "grade"),
    [(25000, 0, "A"), (0, 6, "A"), (5000, 0, "B"), (100, 3, "B"), (4999, 2, "C"), (0, 0, "C")],
)
def test_value_grade_either_threshold(spend, visits, grade):
    assert segments.grade_value(spend, visits, THRESHOLDS) == grade


@pytest.mark.parametrize(
    ("visits", "idle_days", "stage"),
    [
        (0, None, "potential"),
        (1, 10, "new"),
        (2, 10, "satisfied"),
        (3, 10, "retained"),
        (5, 10, "loyal"),
        (9, 181, "at_risk"),
        (9, 180, "loyal"),
        (1, 366, "lost"),
    ],
)
def test_lifecycle_stage(visits, idle_days, stage):
    last = TODAY - timedelta(days=idle_days) if idle_days is not None else None
    assert segments.lifecycle_stage(visits, last, TODAY, THRESHOLDS) == stage
