"""Customer value grade and lifecycle stage: pure rules, no Odoo.

Each rule is written once, as data: a *ladder* of rungs tried top down, the first rung one of whose
conditions holds gives the result, the default is the bottom. Both the Python functions (one
customer) and the SQL ``CASE`` expressions (the nightly job grades every customer in one ``UPDATE``)
are generated from the same ladder, so they cannot drift apart; ``lib/tests/test_segments.py``
proves they agree on a grid of inputs.

``thresholds`` is any object with the attributes the rules read (:data:`THRESHOLDS`: the store's
settings in Odoo, a ``SimpleNamespace`` in the tests). A figure that is ``None`` (SQL ``NULL``)
reaches no threshold.
"""

import math
import operator

#: The store's settings the rules read (attributes of ``thresholds``).
THRESHOLDS = (
    "value_a_spend",
    "value_a_visits",
    "value_b_spend",
    "value_b_visits",
    "satisfied_visits",
    "retained_visits",
    "loyal_visits",
    "at_risk_days",
    "lost_days",
)

#: Value grade from the 12-month paid spend (``spend``) and delivered visits (``visits``): A when
#: either reaches the A thresholds, B when either reaches the B thresholds, C otherwise.
VALUE_GRADE_LADDER = (
    ("A", (("spend", ">=", "value_a_spend"), ("visits", ">=", "value_a_visits"))),
    ("B", (("spend", ">=", "value_b_spend"), ("visits", ">=", "value_b_visits"))),
)
VALUE_GRADE_DEFAULT = "C"

#: Lifecycle stage from all delivered visits (``visits``) and the days since the last delivery
#: (``idle_days``): potential (never served) -> new (1 delivered visit) -> satisfied (came back) ->
#: retained -> loyal by delivered visits; at risk / lost when the last delivery is older than the
#: configured days. A number instead of a threshold name is a constant.
LIFECYCLE_LADDER = (
    ("potential", (("visits", "<", 1),)),
    ("lost", (("idle_days", ">", "lost_days"),)),
    ("at_risk", (("idle_days", ">", "at_risk_days"),)),
    ("loyal", (("visits", ">=", "loyal_visits"),)),
    ("retained", (("visits", ">=", "retained_visits"),)),
    ("satisfied", (("visits", ">=", "satisfied_visits"),)),
)
LIFECYCLE_DEFAULT = "new"

_OPERATORS = {">=": operator.ge, ">": operator.gt, "<": operator.lt}


def _threshold(thresholds, name):
    if isinstance(name, int | float):
        return name
    value = getattr(thresholds, name)
    return value or 0  # an empty setting (False in Odoo) counts as 0, as in SQL (see threshold_values)


def climb(ladder, default, figures, thresholds):
    """The result of ``ladder`` for ``figures`` ({figure name: number or None})."""
    for result, conditions in ladder:
        for figure, op, name in conditions:
            value = figures[figure]
            if value is not None and _OPERATORS[op](value, _threshold(thresholds, name)):
                return result
    return default


def literal(number):
    """A number as an SQL literal (only finite ints and floats: nothing else is ever pasted into SQL)."""
    if isinstance(number, bool) or not isinstance(number, int | float) or not math.isfinite(number):
        raise ValueError(f"not a finite number: {number!r}")
    return repr(number)


def case_sql(ladder, default, figures, thresholds):
    """The SQL ``CASE`` expression of ``ladder``.

    ``figures``: {figure name: SQL expression}; ``thresholds``: {threshold name: SQL expression}
    (a column of a table of the stores' settings, see :func:`threshold_columns`, or a literal).
    Results are quoted string literals of the ladder itself."""
    whens = []
    for result, conditions in ladder:
        condition = " OR ".join(
            f"({figures[figure]}) {op} ({literal(name) if isinstance(name, int | float) else thresholds[name]})"
            for figure, op, name in conditions
        )
        whens.append(f"WHEN {condition} THEN '{result}'")
    return f"(CASE {' '.join(whens)} ELSE '{default}' END)"


def threshold_columns(alias):
    """{threshold name: ``alias.name``}: the thresholds read from a table with one column per setting."""
    return {name: f"{alias}.{name}" for name in THRESHOLDS}


def threshold_values(thresholds):
    """The settings of one store as a row of numbers, in :data:`THRESHOLDS` order (empty counts as 0)."""
    return tuple(_threshold(thresholds, name) for name in THRESHOLDS)


# ---------------------------------------------------------------------- value grade
def grade_value(spend, visits, thresholds):
    """Customer value grade from 12-month paid spend and delivered visits: A when either reaches the
    A thresholds, B when either reaches the B thresholds, C otherwise."""
    return climb(VALUE_GRADE_LADDER, VALUE_GRADE_DEFAULT, {"spend": spend, "visits": visits}, thresholds)


def grade_value_sql(spend, visits, thresholds):
    """SQL of :func:`grade_value`: ``spend`` and ``visits`` are SQL expressions."""
    return case_sql(VALUE_GRADE_LADDER, VALUE_GRADE_DEFAULT, {"spend": spend, "visits": visits}, thresholds)


# ---------------------------------------------------------------------- lifecycle stage
def lifecycle_stage_idle(visits_total, idle_days, thresholds):
    """Lifecycle stage from the delivered visits and the days since the last delivery (None: never)."""
    return climb(
        LIFECYCLE_LADDER,
        LIFECYCLE_DEFAULT,
        {"visits": visits_total or 0, "idle_days": idle_days},
        thresholds,
    )


def lifecycle_stage(visits_total, last_delivered, today, thresholds):
    """potential (never served) -> new (1 delivered visit) -> satisfied (came back) -> retained -> loyal
    by delivered visits; at risk / lost when the last delivery is older than the configured days."""
    idle_days = (today - last_delivered).days if last_delivered else None
    return lifecycle_stage_idle(visits_total, idle_days, thresholds)


def lifecycle_stage_sql(visits_total, idle_days, thresholds):
    """SQL of :func:`lifecycle_stage_idle`: ``visits_total`` (not NULL) and ``idle_days`` (an integer
    number of days, NULL when never delivered) are SQL expressions."""
    return case_sql(LIFECYCLE_LADDER, LIFECYCLE_DEFAULT, {"visits": visits_total, "idle_days": idle_days}, thresholds)
