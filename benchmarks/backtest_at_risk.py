"""Backtest of the risk score (auto_crm/lib/risk.py) on generated customer histories, without Odoo.

    python benchmarks/backtest_at_risk.py [--n 5000] [--seed 13] [--horizon 365]

Customers of one store are generated with a known behaviour, over three years before a cut date:

* regular returners (55 %): their own rhythm (90 to 240 days) with noise (a standard deviation of
  15 % of the rhythm); a few of them (one in ten) stop silently at some point, with no warning sign;
* drifters (20 %): regular, until a visit that goes wrong (a complaint, or a satisfaction index
  around 55 instead of around 88) after which they never come back; the bad visit falls in the last
  year before the cut;
* seasonal customers (15 %): once a year, around the same week (the winter check before the Spring
  Festival), rhythm 365 days;
* one-visit customers (10 %): a single visit in the last two years; half come back one day.

Each customer's cars are due for service 12 months after their last visit (the plan's months). At
the cut, every customer is scored with ``risk.score`` from what the store knew then (visits, the
complaint, the last satisfaction index, the value grade from the last 12 months' spend); the
truth is whether they came back within the horizon after the cut (a year by default: long enough
for a seasonal customer or a 240-day rhythm to come round). A customer *flagged* by a rule is
counted as right when they did not come back: precision = right / flagged, recall = right / all who
did not come back. The score at three thresholds is printed beside the plain "no visit for 180
days" rule. A fixed seed gives the same table every time.
"""

import argparse
import sys
from datetime import date, timedelta
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "auto_crm" / "lib"))
import risk

CUT = date(2026, 1, 1)
HISTORY_DAYS = 3 * 365
THRESHOLDS = (40, 50, 60)
KINDS = ("regular", "drifter", "seasonal", "one_visit")
SHARES = (0.55, 0.20, 0.15, 0.10)
#: Value grade from the spend of the last 12 months (the store's defaults, simplified).
GRADE_A_SPEND, GRADE_B_SPEND = 8000, 3000


def _regular(rng, start, end, rhythm):
    """Visit days from ``start`` to ``end`` every ``rhythm`` days with noise."""
    days, day = [], start + int(rng.integers(0, rhythm))
    while day < end:
        days.append(day)
        day += max(int(rng.normal(rhythm, 0.15 * rhythm)), 20)
    return days


def customer(rng, kind, horizon):
    """One customer's history: (visit days as offsets from the cut, bad visit, complaint at it)."""
    start, end = -HISTORY_DAYS, horizon + 1
    bad, complaint, stop = None, False, None
    if kind == "regular":
        rhythm = int(rng.integers(90, 241))
        days = _regular(rng, start, end, rhythm)
        if rng.random() < 0.10:
            stop = int(rng.integers(-365, horizon))
    elif kind == "drifter":
        rhythm = int(rng.integers(90, 241))
        days = _regular(rng, start, end, rhythm)
        before = [day for day in days if -365 <= day <= -30]
        if before:
            bad = before[int(rng.integers(0, len(before)))]
            stop = bad + 1
            complaint = rng.random() < 0.5
    elif kind == "seasonal":
        week = int(rng.integers(-40, -10))  # some days before the cut, every year
        days = [week - 365 * year + int(rng.normal(0, 7)) for year in range(3, -1, -1)]
        days.append(week + 365 + int(rng.normal(0, 7)))
        days = [day for day in days if start <= day]
    else:
        days = [int(rng.integers(-730, -1))]
        if rng.random() < 0.5:
            days.append(days[0] + int(rng.integers(60, 900)))
    if stop is not None:
        days = [day for day in days if day < stop]
    return sorted(set(days)), bad, complaint


def features(rng, days, bad, complaint):
    """What the store knew at the cut (``risk.Customer``) and whether it is empty."""
    known = [day for day in days if day <= 0]
    if not known:
        return None
    dates = tuple(CUT + timedelta(days=day) for day in known)
    spend_per_visit = float(rng.lognormal(7.4, 0.5))  # around 1,600 a visit
    spend_12m = spend_per_visit * sum(1 for day in known if day > -365)
    grade = "A" if spend_12m >= GRADE_A_SPEND else "B" if spend_12m >= GRADE_B_SPEND else "C"
    last = known[-1]
    went_wrong = bad is not None and bad == last
    csi = float(np.clip(rng.normal(55 if went_wrong and not complaint else 88, 8), 0, 100))
    recent = 1 if went_wrong and complaint and last > -risk.COMPLAINT_DAYS else 0
    return risk.Customer(
        visit_dates=dates,
        next_service_date=dates[-1] + timedelta(days=365),
        value_grade=grade,
        open_complaints=0,
        recent_complaints=recent,
        last_csi=csi,
        total_paid=spend_per_visit * len(known),
    )


def run(n=5000, seed=13, horizon=365):
    """Generate ``n`` customers, score them at the cut and compare with what they did next: a dict
    with the counts and, per rule, flagged / right / precision / recall."""
    rng = np.random.default_rng(seed)
    kinds = rng.choice(len(KINDS), size=n, p=SHARES)
    histories = [customer(rng, KINDS[kind], horizon) for kind in kinds]
    known, lost = [], []
    for days, bad, complaint in histories:
        customer_now = features(rng, days, bad, complaint)
        if customer_now is not None:
            known.append(customer_now)
            lost.append(not any(0 < day <= horizon for day in days))
    # The store's rhythm as the nightly job works it out: the median of every gap between visits.
    store_rhythm = risk.store_interval(
        [float(np.median([gap for item in known for gap in risk.intervals(item.visit_dates)] or [0])) or None]
    )
    flags = {f"risk score >= {threshold}": [] for threshold in THRESHOLDS}
    flags["no visit for 180 days"] = []
    for customer_now in known:
        result = risk.score(customer_now, CUT, store_rhythm=store_rhythm)
        for threshold in THRESHOLDS:
            flags[f"risk score >= {threshold}"].append(result.score >= threshold)
        flags["no visit for 180 days"].append(risk.flag_no_visit(customer_now.visit_dates, CUT, 180))
    lost = np.array(lost, dtype=bool)
    rows = {}
    for name, flagged in flags.items():
        flagged = np.array(flagged, dtype=bool)
        right = int(np.sum(flagged & lost))
        rows[name] = {
            "flagged": int(flagged.sum()),
            "right": right,
            "precision": right / flagged.sum() if flagged.sum() else float("nan"),
            "recall": right / lost.sum() if lost.sum() else float("nan"),
        }
    return {
        "n": n,
        "seed": seed,
        "horizon": horizon,
        "scored": len(known),
        "lost": int(lost.sum()),
        "store_rhythm": store_rhythm,
        "rules": rows,
    }


def table(result):
    """The printed table (a list of lines)."""
    lines = [
        f"Backtest of the risk score (auto_crm/lib/risk.py): N = {result['n']:,} customers generated "
        f"(seed {result['seed']}), {result['scored']:,} with a visit before the cut {CUT}",
        f"did not come back within {result['horizon']} days: {result['lost']:,} "
        f"({100 * result['lost'] / max(result['scored'], 1):.1f} %); the store's rhythm: {result['store_rhythm']} days",
        "",
        f"{'rule':<24} {'flagged':>8} {'did not return':>15} {'precision':>10} {'recall':>8}",
    ]
    for name, row in result["rules"].items():
        lines.append(
            f"{name:<24} {row['flagged']:>8,} {row['right']:>15,} {100 * row['precision']:>9.1f}% "
            f"{100 * row['recall']:>7.1f}%"
        )
    return lines


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=5000)
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--horizon", type=int, default=365)
    args = parser.parse_args(argv)
    print("\n".join(table(run(args.n, args.seed, args.horizon))))


if __name__ == "__main__":
    main()
