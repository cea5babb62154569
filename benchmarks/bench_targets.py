"""Benchmark of the monthly targets' actual figures (set-based: one query per figure for any set of targets).

Run on a database with auto_crm installed; everything it creates is rolled back:

    tools/dev odoo shell -d DB --log-level=warn < benchmarks/bench_targets.py

It inserts N_VISITS visits (a year, 10 stores, 2,000 customers, 5 % cancelled) and N_CALLBACKS callbacks
with SQL, one store target per store and month (120), and prints the queries and the best of three
wall times of reading the actuals of one target and of all, each figure's query, and a raw GROUP BY of
the visits per store and month for scale.
"""

import time

from odoo import fields

env = globals()["env"]  # the environment of `odoo shell`
N_STORES, N_VISITS, N_CALLBACKS = 10, 100000, 50000
cr = env.cr
Company = env["res.company"]
stores = Company.create([{"name": f"Bench Store {i}", "auto_crm_tz": "Asia/Shanghai"} for i in range(N_STORES)])
partners = env["res.partner"].create([{"name": f"Bench {i}", "auto_customer": True} for i in range(2000)])
env.flush_all()
pids = partners.ids
sids = stores.ids
# one car per customer (a visit needs one)
VEHICLES = """
    INSERT INTO auto_crm_vehicle (vin, partner_id, company_id, active, sold_here,
                                  create_date, write_date, create_uid, write_uid)
    SELECT 'BENCH' || lpad(n::text, 12, '0'), p, %s, TRUE, FALSE, now(), now(), 1, 1
      FROM unnest(%s::int[]) WITH ORDINALITY AS t(p, n)
 RETURNING id, partner_id"""
VISITS = """
    INSERT INTO auto_crm_service_visit (
           name, company_id, partner_id, vehicle_id, advisor_id, state, visit_type, mileage_in,
           date_appointment, date_reception, date_delivered, amount_labour, amount_parts, amount_total, amount_paid,
           payment_method, kanban_state, inspection_failures, create_date, write_date, create_uid, write_uid)
    SELECT 'BV/' || n, s.ids[1 + n %% %(ns)s], p.ids[1 + n %% 2000], c.ids[1 + n %% 2000], 2,
           CASE WHEN n %% 20 = 0 THEN 'cancel' ELSE 'followup' END, 'maintenance', 1000,
           d, d, d + interval '4 hours', 100, 200, 300 + n %% 700, 0, 'cash', 'normal', 0, now(), now(), 1, 1
      FROM generate_series(1, %(nv)s) n
      CROSS JOIN (SELECT %(sids)s::int[] AS ids) s
      CROSS JOIN (SELECT %(pids)s::int[] AS ids) p
      CROSS JOIN (SELECT %(cids)s::int[] AS ids) c
      CROSS JOIN LATERAL (
            SELECT TIMESTAMP '2025-12-01' + (n %% 365) * interval '1 day' + (n %% 24) * interval '1 hour' AS d) dd"""
CALLBACKS = """
    INSERT INTO auto_crm_callback (name, company_id, partner_id, visit_id, state, date_due, channel, max_attempts,
                                   create_date, write_date, create_uid, write_uid)
    SELECT 'BC/' || v.id, v.company_id, v.partner_id, v.id,
           (ARRAY['done','failed','expired','cancel','done'])[1 + v.id %% 5],
           (v.date_delivered + interval '3 days')::date, 'phone', 3, now(), now(), 1, 1
      FROM auto_crm_service_visit v
     WHERE v.name LIKE 'BV/%%' AND v.state = 'followup'
  ORDER BY v.id
     LIMIT %s"""
cr.execute(VEHICLES, (sids[0], pids))
cars = {p: v for v, p in cr.fetchall()}
cr.execute(VISITS, {"ns": N_STORES, "nv": N_VISITS, "sids": sids, "pids": pids, "cids": [cars[p] for p in pids]})
cr.execute(CALLBACKS, (N_CALLBACKS,))
cr.execute("ANALYZE auto_crm_service_visit; ANALYZE auto_crm_callback; ANALYZE auto_crm_callback_attempt")
Target = env["auto_crm.target"]
months = [fields.Date.to_date(f"{2025 if m == 12 else 2026}-{m:02d}-01") for m in range(1, 13)]
targets = Target.create(
    [{"company_id": s, "month": m, "target_visits": 800, "target_revenue": 500000} for s in sids for m in months]
)
env.flush_all()
for label, recs in (("1 target", targets[:1]), (f"{len(targets)} targets", targets)):
    best = None
    for _ in range(3):
        env.invalidate_all()
        recs = Target.browse(recs.ids)
        before = cr.sql_log_count
        t0 = time.perf_counter()
        recs.mapped("actual_visits")
        dt = time.perf_counter() - t0
        best = dt if best is None else min(best, dt)
        q = cr.sql_log_count - before
    print(f"BENCH {label}: {q} queries, best of 3 {best * 1000:.0f} ms")
# the per-figure time
for name in ("_actual_callbacks", "_actual_csi", "_actual_retention", "_actual_visits", "_actual_revenue"):
    sql = targets._targets_sql()
    t0 = time.perf_counter()
    getattr(targets, name)(sql)
    print(f"BENCH {name}: {(time.perf_counter() - t0) * 1000:.0f} ms")
# the raw GROUP BY floor of the visit count per store and month (UTC months)
t0 = time.perf_counter()
cr.execute(
    "SELECT company_id, date_trunc('month', date_reception), COUNT(*) "
    "FROM auto_crm_service_visit WHERE state != 'cancel' GROUP BY 1, 2"
)
print(f"BENCH floor visits GROUP BY: {(time.perf_counter() - t0) * 1000:.0f} ms")
cr.rollback()
