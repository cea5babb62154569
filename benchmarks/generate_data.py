"""Fill a database with many valid Dealer CRM records, for performance work.

Run it in Odoo's shell against a database where auto_crm is installed (never a production one):

    GEN_CUSTOMERS=100000 tools/dev odoo shell -d DB --no-http < benchmarks/generate_data.py

It writes with bulk SQL (psycopg2 execute_values), because the ORM would take hours at this size,
but it computes everything the ORM would store: valid VINs (check digit) and ID card numbers
(check character), plates, brand from the model, line subtotals and visit totals, odometer
readings that only go up, ownership periods, stage dates, one repair-order number series per run.
Each customer gets 1-2 vehicles and each vehicle 1-5 delivered visits (the last one may be open).
Odoo's own `odoo-bin populate` copies existing rows without the ORM and so without these
invariants; this script is the one to use. At the end it re-checks a sample through the ORM
constraints and prints figures.
"""

import os
import random
import sys
import time
from datetime import date, datetime, timedelta

from psycopg2.extras import execute_values
from stdnum.cn import ric

from odoo.addons.auto_crm.lib.vin import with_check_digit

env = globals()["env"]  # provided by `odoo-bin shell`
cr = env.cr
N = int(os.environ.get("GEN_CUSTOMERS", "1000"))
SEED = int(os.environ.get("GEN_SEED", "42"))
BATCH = 5000
rng = random.Random(SEED)
company = env.company
uid = env.uid
now = datetime.now().replace(microsecond=0)
today = date.today()
run_tag = now.strftime("%y%m%d%H%M%S")

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈"
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华玉兰萍红建华文斌宇浩晨欣怡子涵梓轩"
REGIONS = ["440305", "440106", "110105", "310115", "320102", "330106", "510104", "420102"]
PLATE_PREFIX = ["粤B", "粤A", "京A", "沪A", "苏A", "浙A", "川A", "鄂A"]
WMI = ["LSV", "LFV", "LVG", "LGX", "LSG", "LHG", "LBV", "LDC"]
VIN_CHARS = "ABCDEFGHJKLMNPRSTUVWXYZ0123456789"


def pick_models():
    Model = env["fleet.vehicle.model"]
    models = Model.search([], limit=20)
    if not models:
        brand = env["fleet.vehicle.model.brand"].search([], limit=1) or env["fleet.vehicle.model.brand"].create(
            {"name": "Generic"}
        )
        models = Model.create([{"name": f"Model {i}", "brand_id": brand.id} for i in range(5)])
    return [(m.id, m.brand_id.id) for m in models]


SEEN_IDS = set()


def id_card(birth, serial):
    """A valid resident ID number, unique within this run (a real person has one)."""
    while True:
        base = f"{rng.choice(REGIONS)}{birth:%Y%m%d}{rng.randint(0, 999):03d}"
        if base not in SEEN_IDS:
            SEEN_IDS.add(base)
            return base + ric.calc_check_digit(base + "0")
        birth += timedelta(days=1)


def vin(serial):
    body = rng.choice(WMI) + "".join(rng.choice(VIN_CHARS) for _ in range(5)) + "0"
    body += rng.choice("ABCDEFGHJKLMNPRSTVWXY123456789")  # model year
    body += rng.choice("0123456789")  # plant
    return with_check_digit(body + f"{serial:06d}"[-6:])


def insert(table, columns, rows, returning=True):
    sql = f'INSERT INTO "{table}" ({", ".join(columns)}) VALUES %s' + (" RETURNING id" if returning else "")
    result = execute_values(cr, sql, rows, page_size=BATCH, fetch=returning)
    return [row[0] for row in result] if returning else None


def main():
    started = time.time()
    models = pick_models()
    cr.execute("SELECT COALESCE(MAX(id), 0) FROM auto_crm_vehicle")
    vin_base = cr.fetchone()[0] * 10 + 1_000_000
    counts = {"customers": 0, "vehicles": 0, "visits": 0, "lines": 0, "readings": 0}
    serial = 0
    for start in range(0, N, BATCH):
        size = min(BATCH, N - start)
        partners = []
        for i in range(size):
            birth = date(rng.randint(1955, 2002), rng.randint(1, 12), rng.randint(1, 28))
            name = rng.choice(SURNAMES) + rng.choice(GIVEN) + (rng.choice(GIVEN) if rng.random() < 0.6 else "")
            partners.append(
                (
                    name,
                    name,
                    True,
                    "contact",
                    True,
                    company.id,
                    f"+86 13{rng.randint(0, 9)} {rng.randint(1000, 9999)} {rng.randint(1000, 9999)}",
                    birth,
                    id_card(birth, start + i),
                    rng.random() < 0.85,
                    rng.random() < 0.05,
                    "draft",
                    uid,
                    uid,
                    now,
                    uid,
                    now,
                    "en_US",
                )
            )
        partner_ids = insert(
            "res_partner",
            [
                "name",
                "complete_name",
                "active",
                "type",
                "auto_customer",
                "company_id",
                "mobile",
                "auto_birthday",
                "auto_id_card_number",
                "auto_callback_consent",
                "auto_do_not_disturb",
                "auto_profile_state",
                "auto_profile_created_by_id",
                "create_uid",
                "create_date",
                "write_uid",
                "write_date",
                "lang",
            ],
            partners,
        )
        vehicles, owners = [], []
        for pid in partner_ids:
            for _n in range(1 if rng.random() < 0.75 else 2):
                serial += 1
                model_id, brand_id = rng.choice(models)
                purchase = today - timedelta(days=rng.randint(30, 365 * 9))
                vehicles.append(
                    (
                        vin(vin_base + serial),
                        f"{rng.choice(PLATE_PREFIX)}·{rng.randint(10000, 99999)}",
                        True,
                        company.id,
                        pid,
                        model_id,
                        brand_id,
                        purchase,
                        purchase + timedelta(days=365 * 3),
                        rng.random() < 0.7,
                        purchase.year,
                        uid,
                        now,
                        uid,
                        now,
                    )
                )
                owners.append((pid, purchase))
        vehicle_ids = insert(
            "auto_crm_vehicle",
            [
                "vin",
                "plate",
                "active",
                "company_id",
                "partner_id",
                "model_id",
                "brand_id",
                "purchase_date",
                "warranty_end_date",
                "sold_here",
                "model_year",
                "create_uid",
                "create_date",
                "write_uid",
                "write_date",
            ],
            vehicles,
        )
        insert(
            "auto_crm_vehicle_ownership",
            [
                "vehicle_id",
                "partner_id",
                "date_start",
                "company_id",
                "create_uid",
                "create_date",
                "write_uid",
                "write_date",
            ],
            [
                (vid, pid, start_date, company.id, uid, now, uid, now)
                for vid, (pid, start_date) in zip(vehicle_ids, owners, strict=False)
            ],
            returning=False,
        )
        visits, visit_meta = [], []
        for vid, (pid, purchase) in zip(vehicle_ids, owners, strict=False):
            mileage = 0
            day = purchase
            for _k in range(rng.randint(1, 5)):
                day = day + timedelta(days=rng.randint(60, 240))
                if day >= today:
                    break
                mileage += rng.randint(3000, 12000)
                labour = round(rng.uniform(150, 800), 2)
                parts = round(rng.uniform(0, 2500), 2)
                stamp = datetime.combine(day, datetime.min.time()) + timedelta(hours=9)
                counts["visits"] += 1
                visits.append(
                    (
                        f"GEN{run_tag}-{counts['visits']:07d}",
                        company.id,
                        "followup",
                        pid,
                        vid,
                        rng.choice(["maintenance", "maintenance", "repair", "warranty", "accident", "inspection"]),
                        mileage,
                        stamp,
                        stamp,
                        stamp + timedelta(hours=1),
                        stamp + timedelta(hours=4),
                        stamp + timedelta(hours=5),
                        stamp + timedelta(hours=6),
                        labour,
                        parts,
                        labour + parts,
                        "mobile",
                        labour + parts,
                        uid,
                        "normal",
                        uid,
                        now,
                        uid,
                        now,
                    )
                )
                visit_meta.append((vid, day, mileage, labour, parts))
        visit_ids = insert(
            "auto_crm_service_visit",
            [
                "name",
                "company_id",
                "state",
                "partner_id",
                "vehicle_id",
                "visit_type",
                "mileage_in",
                "date_appointment",
                "date_reception",
                "date_repair",
                "date_inspection",
                "date_settlement",
                "date_delivered",
                "amount_labour",
                "amount_parts",
                "amount_total",
                "payment_method",
                "amount_paid",
                "advisor_id",
                "kanban_state",
                "create_uid",
                "create_date",
                "write_uid",
                "write_date",
            ],
            visits,
        )
        lines, readings = [], []
        for visit_id, (vid, day, mileage, labour, parts) in zip(visit_ids, visit_meta, strict=False):
            lines.append((visit_id, company.id, 10, "labour", "保养工时", 1, labour, 0, labour, uid, now, uid, now))
            if parts:
                lines.append((visit_id, company.id, 20, "part", "配件", 1, parts, 0, parts, uid, now, uid, now))
            readings.append((vid, company.id, day, mileage, "visit", visit_id, False, uid, uid, now, uid, now))
        insert(
            "auto_crm_service_visit_line",
            [
                "visit_id",
                "company_id",
                "sequence",
                "line_type",
                "name",
                "quantity",
                "unit_price",
                "discount",
                "subtotal",
                "create_uid",
                "create_date",
                "write_uid",
                "write_date",
            ],
            lines,
            returning=False,
        )
        reading_ids = insert(
            "auto_crm_vehicle_odometer",
            [
                "vehicle_id",
                "company_id",
                "date",
                "value",
                "source",
                "visit_id",
                "is_replacement",
                "recorded_by_id",
                "create_uid",
                "create_date",
                "write_uid",
                "write_date",
            ],
            readings,
        )
        execute_values(
            cr,
            "UPDATE auto_crm_service_visit v SET odometer_reading_id = d.rid FROM (VALUES %s) AS d(vid, rid) WHERE v.id = d.vid",
            list(zip(visit_ids, reading_ids, strict=False)),
            page_size=BATCH,
        )
        counts["customers"] += len(partner_ids)
        counts["vehicles"] += len(vehicle_ids)
        counts["lines"] += len(lines)
        counts["readings"] += len(readings)
        cr.commit()
        print(
            f"  {counts['customers']}/{N} customers, {counts['visits']} visits, {time.time() - started:.1f}s",
            flush=True,
        )
    # The vehicles' stored odometer: the latest reading, in one statement.
    cr.execute(
        """
        UPDATE auto_crm_vehicle v SET odometer = o.value, odometer_date = o.date
          FROM (SELECT DISTINCT ON (vehicle_id) vehicle_id, value, date FROM auto_crm_vehicle_odometer
                 ORDER BY vehicle_id, date DESC, id DESC) o
         WHERE o.vehicle_id = v.id AND (v.odometer IS DISTINCT FROM o.value)
        """
    )
    cr.commit()
    env.invalidate_all()
    elapsed = time.time() - started
    # Re-check a sample through the ORM's own constraints.
    sample = env["auto_crm.vehicle"].search([("vin", "!=", False)], order="id desc", limit=500)
    sample._validate_fields(["vin", "purchase_date", "warranty_end_date"])
    sample.odometer_ids._validate_fields(["value", "date"])
    partners = sample.partner_id
    for partner in partners:
        env["res.partner"]._auto_crm_clean_id_card_number(partner.auto_id_card_number)
    visits = sample.visit_ids
    visits._validate_fields(["vehicle_id", "partner_id"])
    bad_totals = visits.filtered(lambda v: abs(v.amount_total - sum(v.line_ids.mapped("subtotal"))) > 0.01)
    print(
        f"generated {counts['customers']} customers, {counts['vehicles']} vehicles, {counts['visits']} visits, "
        f"{counts['lines']} lines, {counts['readings']} odometer readings in {elapsed:.1f}s; "
        f"sample of {len(sample)} vehicles / {len(visits)} visits re-validated, {len(bad_totals)} bad totals"
    )
    if bad_totals:
        sys.exit(1)


main()
