"""Customer value grade and lifecycle stage: pure rules, no Odoo.

``thresholds`` is any object with the attributes the rules read (the store's settings in Odoo,
a ``SimpleNamespace`` in the tests).
"""


def grade_value(spend, visits, thresholds):
    """Customer value grade from 12-month paid spend and delivered visits: A when either reaches the
    A thresholds, B when either reaches the B thresholds, C otherwise."""
    if spend >= thresholds.value_a_spend or visits >= thresholds.value_a_visits:
        return "A"
    if spend >= thresholds.value_b_spend or visits >= thresholds.value_b_visits:
        return "B"
    return "C"


def lifecycle_stage(visits_total, last_delivered, today, thresholds):
    """potential (never served) -> new (1 delivered visit) -> satisfied (came back) -> retained -> loyal
    by delivered visits; at risk / lost when the last delivery is older than the configured days."""
    if not visits_total:
        return "potential"
    idle = (today - last_delivered).days
    if idle > thresholds.lost_days:
        return "lost"
    if idle > thresholds.at_risk_days:
        return "at_risk"
    if visits_total >= thresholds.loyal_visits:
        return "loyal"
    if visits_total >= thresholds.retained_visits:
        return "retained"
    if visits_total >= thresholds.satisfied_visits:
        return "satisfied"
    return "new"
