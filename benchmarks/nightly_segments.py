"""Benchmark of the nightly loyalty and segmentation jobs of auto_crm (not a test).

Creates N dealer customers with a car and a few delivered visits each (visits are inserted with
SQL, like `odoo-bin populate`, to keep the set-up short), runs the nightly segmentation
(`res.partner._cron_auto_crm_segments`) and the nightly points expiry and tier evaluation
(`auto_crm.loyalty.member._cron_loyalty_nightly`), and prints seconds and SQL queries for each
size. Everything is rolled back at the end.

Run it in an Odoo shell on a database with auto_crm installed (demo data or not):

    tools/dev odoo shell -d loyalty_bench --no-http < benchmarks/nightly_segments.py

Set BENCH_SIZES=100,1000,10000 to choose the sizes (default 100,1000,5000).
"""

import os
import random
import time

SIZES = [int(size) for size in os.environ.get("BENCH_SIZES", "100,1000,5000").split(",")]
VISITS_PER_CUSTOMER = 3

env = env  # noqa: F821 - provided by `odoo-bin shell`
cr = env.cr
random.seed(42)
company = env.company
program = env["auto_crm.loyalty.program"]._for_company(company)
if not program:
    program = env["auto_crm.loyalty.program"].create({"company_id": company.id})
if not program.tier_ids:
    program.tier_ids = [(0, 0, {"name": "Silver", "threshold": 0}), (0, 0, {"name": "Gold", "threshold": 2000})]


def vin(number):
    from odoo.addons.auto_crm.lib.vin import with_check_digit

    return with_check_digit(f"LBENC2180N2{number:06d}")


def populate(size, offset):
    partners = env["res.partner"].create(
        [{"name": f"Bench {offset + i}", "auto_customer": True, "mobile": f"137{offset + i:08d}"} for i in range(size)]
    )
    vehicles = env["auto_crm.vehicle"].create(
        [{"vin": vin(offset + i), "partner_id": p.id, "plate": f"B{offset + i:06d}"} for i, p in enumerate(partners)]
    )
    env["auto_crm.loyalty.member"].create([{"partner_id": p.id, "program_id": program.id} for p in partners])
    env.flush_all()
    rows = []
    for partner, vehicle in zip(partners, vehicles, strict=False):
        for k in range(random.randint(0, VISITS_PER_CUSTOMER)):
            days = random.randint(1, 700)
            amount = random.choice([300, 800, 1500, 4000])
            rows.append((f"BENCH-{vehicle.id}-{k}", company.id, partner.id, vehicle.id, days, amount, amount))
    if rows:
        cr.execute(
            "INSERT INTO auto_crm_service_visit (name, company_id, partner_id, vehicle_id, state, visit_type, "
            "date_appointment, date_reception, date_delivered, amount_total, amount_paid, payment_method) "
            "SELECT v.name, v.company_id, v.partner_id, v.vehicle_id, 'followup', 'maintenance', "
            "NOW() - make_interval(days => v.days), NOW() - make_interval(days => v.days), "
            "NOW() - make_interval(days => v.days), v.amount_total, v.amount_paid, 'cash' "
            "FROM (VALUES " + ", ".join(["(%s, %s, %s, %s, %s, %s, %s)"] * len(rows)) + ") "
            "AS v(name, company_id, partner_id, vehicle_id, days, amount_total, amount_paid)",
            [value for row in rows for value in row],
        )
    return partners


def measure(label, function):
    env.flush_all()
    env.invalidate_all()
    queries = cr.sql_log_count
    start = time.perf_counter()
    function()
    env.flush_all()
    return label, time.perf_counter() - start, cr.sql_log_count - queries


try:
    total = 0
    print(f"{'customers':>10} {'job':<28} {'seconds':>8} {'queries':>8}")
    for size in SIZES:
        populate(size - total, 900000 - size)  # grow the population to `size` new customers
        total = size
        for label, job in (
            ("segments + completeness", env["res.partner"]._cron_auto_crm_segments),
            ("points expiry + tiers", env["auto_crm.loyalty.member"]._cron_loyalty_nightly),
        ):
            name, seconds, queries = measure(label, job)
            print(f"{size:>10} {name:<28} {seconds:>8.2f} {queries:>8}")
finally:
    cr.rollback()
