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


# ---------------------------------------------------------------------- Python and SQL agree
# The nightly job grades every customer with the SQL CASE expressions; one customer is graded in
# Python. Both come from the same ladders: evaluate the SQL on a grid of inputs and compare.
STORES = {
    1: THRESHOLDS,
    2: SimpleNamespace(
        value_a_spend=10000.5,
        value_a_visits=4,
        value_b_spend=0,
        value_b_visits=1,
        satisfied_visits=3,
        retained_visits=3,
        loyal_visits=8,
        at_risk_days=30,
        lost_days=31,
    ),
    3: SimpleNamespace(  # empty settings count as 0, in Python as in SQL
        value_a_spend=False,
        value_a_visits=9,
        value_b_spend=False,
        value_b_visits=2,
        satisfied_visits=2,
        retained_visits=4,
        loyal_visits=6,
        at_risk_days=90,
        lost_days=365,
    ),
}
SPENDS = (0, 0.01, 4999.99, 5000, 5000.01, 10000.5, 19999, 20000, 25000)
VISITS = (0, 1, 2, 3, 4, 5, 6, 8, 9)
IDLE = (None, 0, 1, 29, 30, 31, 32, 89, 90, 91, 179, 180, 181, 364, 365, 366, 1000)


def grid():
    for store in STORES:
        for spend in SPENDS:
            for visits in VISITS:
                for idle in IDLE:
                    yield store, spend, visits, idle


def expected_rows():
    return [
        (
            store,
            spend,
            visits,
            idle,
            segments.grade_value(spend, visits, STORES[store]),
            segments.lifecycle_stage_idle(visits, idle, STORES[store]),
        )
        for store, spend, visits, idle in grid()
    ]


def query(values_sql, literal_store=None):
    """SELECT of the grid graded in SQL: thresholds from a table of the stores' settings (one row per
    store, joined as the nightly job does), or pasted as literals of one store."""
    if literal_store is None:
        thresholds = segments.threshold_columns("r")
        rules = ", ".join(
            "(" + ", ".join(segments.literal(v) for v in (store, *segments.threshold_values(t))) + ")"
            for store, t in STORES.items()
        )
        ctes = f", r(store, {', '.join(segments.THRESHOLDS)}) AS (VALUES {rules})"
        join, where = "JOIN r ON r.store = g.store", ""
    else:
        values = segments.threshold_values(STORES[literal_store])
        thresholds = {name: segments.literal(v) for name, v in zip(segments.THRESHOLDS, values, strict=True)}
        ctes, join, where = "", "", f"WHERE g.store = {literal_store}"
    grade = segments.grade_value_sql("g.spend", "g.visits", thresholds)
    stage = segments.lifecycle_stage_sql("g.visits", "g.idle", thresholds)
    return (
        f"WITH g(store, spend, visits, idle) AS ({values_sql}){ctes} "
        f"SELECT g.store, g.spend, g.visits, g.idle, {grade}, {stage} FROM g {join} {where} "
        "ORDER BY g.store, g.spend, g.visits, g.idle"
    )


def sort_key(row):
    return row[0], row[1], row[2], -1 if row[3] is None else row[3]


def test_sql_agrees_with_python_sqlite():
    import sqlite3

    db = sqlite3.connect(":memory:")
    db.execute("CREATE TABLE grid (store INTEGER, spend REAL, visits INTEGER, idle INTEGER)")
    db.executemany("INSERT INTO grid VALUES (?, ?, ?, ?)", list(grid()))
    values_sql = "SELECT store, spend, visits, idle FROM grid"
    expected = sorted(expected_rows(), key=sort_key)
    assert len(expected) == len(STORES) * len(SPENDS) * len(VISITS) * len(IDLE)
    got = sorted(db.execute(query(values_sql)).fetchall(), key=sort_key)
    assert got == expected
    for store in STORES:
        rows = sorted(db.execute(query(values_sql, literal_store=store)).fetchall(), key=sort_key)
        assert rows == [row for row in expected if row[0] == store]


def test_sql_agrees_with_python_postgresql():
    """The same in PostgreSQL (numeric spend, integer days), where a server is reachable."""
    psycopg2 = pytest.importorskip("psycopg2")
    import os

    try:
        conn = psycopg2.connect(dbname=os.environ.get("PGDATABASE", "postgres"), connect_timeout=3)
    except psycopg2.OperationalError as error:
        pytest.skip(f"no PostgreSQL server: {error}")
    try:
        with conn.cursor() as cr:
            values = ", ".join(cr.mogrify("(%s::int, %s::numeric, %s::int, %s::int)", row).decode() for row in grid())
            cr.execute(query(f"VALUES {values}"))
            got = [(s, float(spend), v, i, g, st) for s, spend, v, i, g, st in cr.fetchall()]
            expected = sorted(expected_rows(), key=sort_key)
            assert sorted(got, key=sort_key) == expected
            for store in STORES:
                cr.execute(query(f"VALUES {values}", literal_store=store))
                rows = [(s, float(spend), v, i, g, st) for s, spend, v, i, g, st in cr.fetchall()]
                assert sorted(rows, key=sort_key) == [row for row in expected if row[0] == store]
    finally:
        conn.close()


def test_only_numbers_are_pasted_into_sql():
    for bad in ("1; DROP TABLE x", None, True, float("nan"), float("inf")):
        with pytest.raises(ValueError):
            segments.literal(bad)
    assert segments.literal(10000.5) == "10000.5"
    assert segments.literal(3) == "3"
