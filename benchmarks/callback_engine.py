"""Benchmark of the callback engine: fill a throw-away database with delivered service visits
and time one engine run (not a test; it prints figures).

Run it in an Odoo shell on a database that has auto_crm installed and that you can throw away:

    tools/dev odoo -d bench_callbacks -i auto_crm --stop-after-init --without-demo=all
    BENCH_SIZE=200000 tools/dev odoo shell -d bench_callbacks --log-level=warn < benchmarks/callback_engine.py

(or, with plain Odoo: ``odoo-bin shell --addons-path=<odoo>/odoo/addons,<repo> -d bench_callbacks
< benchmarks/callback_engine.py``). BENCH_SIZE is the number of delivered visits (default 200,000);
BENCH_COMMIT=1 keeps the data and the callbacks, otherwise everything is rolled back at the end.

The data is valid: one customer (with callback consent, 1 % of them do-not-disturb), one car
(a real VIN with its check digit) and one visit delivered 3 to 6 days ago per row, inserted with
SQL in bulk. The engine then runs once (every active rule, like the daily job) and a second time
(which must create nothing); the script prints callbacks created, seconds and queries for each.
"""

import os
import time

from odoo.addons.auto_crm.lib.vin import with_check_digit

SIZE = int(os.environ.get("BENCH_SIZE", "200000"))
COMMIT = os.environ.get("BENCH_COMMIT") == "1"

env = env(context=dict(env.context, tracking_disable=True, mail_notrack=True))  # noqa: F821 - the shell's env
cr = env.cr
company = env.company
advisor = env.ref("base.user_admin")
tag = f"B{int(time.time()) % 100000:05d}"

print(f"filling {SIZE} delivered visits (tag {tag}) ...", flush=True)
started = time.monotonic()
cr.execute(
    """INSERT INTO res_partner (name, complete_name, active, type, auto_customer, auto_callback_consent,
                                auto_do_not_disturb, mobile, create_date, write_date, create_uid, write_uid)
       SELECT '客户 ' || %(tag)s || '-' || n, '客户 ' || %(tag)s || '-' || n, TRUE, 'contact', TRUE, TRUE,
              n %% 100 = 0, '+86 138 ' || lpad(n::text, 8, '0'), now(), now(), 1, 1
         FROM generate_series(1, %(size)s) AS n
    RETURNING id""",
    {"tag": tag, "size": SIZE},
)
partner_ids = [row[0] for row in cr.fetchall()]
# VINs: a WMI, a 5-letter tag-derived block and the serial, with the check digit in position 9.
wmi = "LBV" + "ABCDEFGHJKLMNPRSTUVWXYZ"[int(tag[1:]) % 23]
vins = [
    with_check_digit(f"{wmi}A2180{(n // 1000000) % 10}{chr(65 + (int(tag[1:]) // 23) % 8)}{n % 1000000:06d}")
    for n in range(1, SIZE + 1)
]
cr.execute(
    """INSERT INTO auto_crm_vehicle (vin, partner_id, company_id, active, sold_here, purchase_date,
                                     create_date, write_date, create_uid, write_uid)
       SELECT vin, partner_id, %(company)s, TRUE, FALSE, (now() - interval '2 years')::date, now(), now(), 1, 1
         FROM unnest(%(vins)s::varchar[], %(partners)s::int[]) AS row(vin, partner_id)
    RETURNING id, partner_id""",
    {"company": company.id, "vins": vins, "partners": partner_ids},
)
vehicles = cr.fetchall()
cr.execute(
    """INSERT INTO auto_crm_service_visit (name, company_id, partner_id, vehicle_id, advisor_id, state, visit_type,
                                           mileage_in, date_appointment, date_reception, date_delivered,
                                           amount_labour, amount_parts, amount_total, amount_paid, payment_method,
                                           kanban_state, inspection_failures,
                                           create_date, write_date, create_uid, write_uid)
       SELECT %(tag)s || '/' || lpad(row.n::text, 7, '0'), %(company)s, row.partner_id, row.vehicle_id, %(advisor)s,
              'followup', 'maintenance', 10000 + row.n %% 50000, day - interval '2 hours', day - interval '1 hour', day,
              260, 398, 658, 658, 'mobile', 'normal', 0, now(), now(), 1, 1
         FROM (SELECT vehicle_id, partner_id, row_number() OVER () AS n
                 FROM unnest(%(vehicles)s::int[], %(partners)s::int[]) AS v(vehicle_id, partner_id)) row
        CROSS JOIN LATERAL (SELECT now() at time zone 'UTC' - (3 + row.n %% 4) * interval '1 day' AS day) d""",
    {
        "tag": tag,
        "company": company.id,
        "advisor": advisor.id,
        "vehicles": [v for v, _p in vehicles],
        "partners": [p for _v, p in vehicles],
    },
)
cr.execute("ANALYZE res_partner; ANALYZE auto_crm_vehicle; ANALYZE auto_crm_service_visit; ANALYZE auto_crm_callback")
env.invalidate_all()
print(f"filled in {time.monotonic() - started:.1f} s", flush=True)

Rule = env["auto_crm.callback.rule"].sudo()
Rule.search([]).filtered(lambda r: r.trigger != "complaint_closed")  # warm the registry and caches
for label in ("first run", "second run"):
    queries = cr.sql_log_count
    started = time.monotonic()
    runs = env["auto_crm.callback.engine"].sudo()._cron_run()
    env.flush_all()
    seconds = time.monotonic() - started
    queries = cr.sql_log_count - queries
    created = sum(runs.mapped("created_count"))
    skipped = sum(runs.mapped("skipped_dnd_count")) + sum(runs.mapped("skipped_consent_count"))
    failed = runs.filtered(lambda r: r.state == "failed")
    print(
        f"{label}: visits={SIZE} callbacks_created={created} skipped={skipped} seconds={seconds:.2f} "
        f"queries={queries} failed_rules={len(failed)}",
        flush=True,
    )

if COMMIT:
    cr.commit()
    print("committed")
else:
    cr.rollback()
    print("rolled back (BENCH_COMMIT=1 keeps the data)")
