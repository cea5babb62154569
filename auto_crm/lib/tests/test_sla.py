from datetime import datetime, timedelta

import pytest
import sla

RECEIVED = datetime(2026, 3, 2, 9, 0)
ACK_BY = RECEIVED + timedelta(hours=4)
RESOLVE_BY = RECEIVED + timedelta(hours=48)


def state(now, acknowledged=None, resolved=None):
    return sla.sla_state(now, RECEIVED, ACK_BY, RESOLVE_BY, acknowledged=acknowledged, resolved=resolved)


def test_no_deadline_is_no_sla():
    assert sla.sla_state(RECEIVED, RECEIVED, None, RESOLVE_BY) == "none"
    assert sla.sla_state(RECEIVED, RECEIVED, ACK_BY, None) == "none"


@pytest.mark.parametrize(
    ("hours", "expected"),
    [(0, "on_track"), (2.9, "on_track"), (3.1, "at_risk"), (4, "at_risk"), (4.1, "overdue")],
)
def test_acknowledgement_deadline_runs_first(hours, expected):
    assert state(RECEIVED + timedelta(hours=hours)) == expected


def test_after_acknowledgement_the_resolution_deadline_runs():
    acknowledged = RECEIVED + timedelta(hours=1)
    assert state(RECEIVED + timedelta(hours=10), acknowledged) == "on_track"
    # less than a quarter of the 47 hours left
    assert state(RESOLVE_BY - timedelta(hours=11), acknowledged) == "at_risk"
    assert state(RESOLVE_BY + timedelta(minutes=1), acknowledged) == "overdue"


def test_late_acknowledgement_is_at_risk_at_best():
    acknowledged = ACK_BY + timedelta(hours=1)
    assert state(acknowledged + timedelta(hours=1), acknowledged) == "at_risk"
    assert state(RESOLVE_BY + timedelta(hours=1), acknowledged) == "overdue"


def test_met_and_missed_once_resolved():
    acknowledged = RECEIVED + timedelta(hours=1)
    assert state(RESOLVE_BY + timedelta(days=9), acknowledged, RECEIVED + timedelta(hours=20)) == "met"
    assert state(RESOLVE_BY, acknowledged, RESOLVE_BY + timedelta(hours=1)) == "missed"
    late_ack = ACK_BY + timedelta(minutes=5)
    assert state(RESOLVE_BY, late_ack, RECEIVED + timedelta(hours=20)) == "missed"
