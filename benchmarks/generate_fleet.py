"""Grow a generated database's fleet to FLEET_VEHICLES cars with FLEET_READINGS odometer readings in all,
for the nightly service forecast and the reminder rules at scale (issue 13: 1,000,000 cars, 10,000,000
readings).

Run it in Odoo's shell after ``benchmarks/generate_data.py`` (``tools/dev bench --size fleet`` does both):

    FLEET_VEHICLES=1000000 FLEET_READINGS=10000000 tools/dev odoo shell -d DB --no-http < benchmarks/generate_fleet.py

The cars the generator made keep their customers, visits and readings. The new cars are copies of
them, each with a VIN of its own (with its check digit), a purchase date spread over nine years, and
a new customer for every two cars (a copy of one of the generator's customers: consent, do-not-disturb,
birthday and channel as generated, without an ID card number, which is unique); their history is the
readings the maker's connected-car feed reports, imported (``source = 'import'``): 6 to 16 dated readings per
car, each car with its own usual kilometres per day (10 to 130), an odometer replaced in the middle of
the history for one car in fifty (the new series starts near zero). The car's odometer is its latest
reading, as the ORM keeps it. Everything is bulk SQL (``INSERT ... SELECT`` over ``generate_series``,
the VINs by ``COPY``); the checks at the end count what must be 0 and exit 1 when one is not.
"""

import io
import os
import sys
import time

from odoo.addons.auto_crm.lib.vin import with_check_digit

env = globals()["env"]  # provided by `odoo-bin shell`
cr = env.cr
TARGET_VEHICLES = int(os.environ.get("FLEET_VEHICLES", "1000000"))
TARGET_READINGS = int(os.environ.get("FLEET_READINGS", "10000000"))
started = time.time()


def scalar(query, params=None):
    cr.execute(query, params)
    return cr.fetchone()[0]


def copied_columns(table, excluded):
    """The column lists ("a", "b" and src."a", src."b") of ``table``'s columns a copy takes as they are."""
    cr.execute(
        """SELECT column_name FROM information_schema.columns
            WHERE table_name = %s AND column_name <> ALL(%s) ORDER BY ordinal_position""",
        [table, list(excluded)],
    )
    names = [row[0] for row in cr.fetchall()]
    return ", ".join(f'"{c}"' for c in names), ", ".join(f'src."{c}"' for c in names)


def say(message):
    print(f"  {message} ({time.time() - started:.0f}s)", flush=True)


env.flush_all()
cars_before = scalar("SELECT count(*) FROM auto_crm_vehicle")
readings_before = scalar("SELECT count(*) FROM auto_crm_vehicle_odometer")
new_cars = TARGET_VEHICLES - cars_before
if new_cars <= 0:
    print(f"the database already has {cars_before:,} cars: nothing to add")
    sys.exit(0)
new_readings = max(TARGET_READINGS - readings_before, 0)
per_car = new_readings / new_cars  # the average number of readings of a new car (6..16 around it)
low = max(int(round(per_car)) - 5, 1)
high = int(round(per_car)) + 5
uid = env.ref("base.user_admin").id
say(f"{cars_before:,} cars and {readings_before:,} readings: adding {new_cars:,} cars, ~{per_car:.1f} readings each")

# --- customers: one for every two new cars, copies of the generator's customers ---------------------
columns, source_columns = copied_columns(
    "res_partner",
    ("id", "name", "complete_name", "commercial_partner_id", "auto_id_card_number", "create_date", "write_date"),
)
max_partner = scalar("SELECT max(id) FROM res_partner")
cr.execute(
    f"""WITH src AS (SELECT *, row_number() OVER (ORDER BY id) - 1 AS rn FROM res_partner WHERE auto_customer),
             total AS (SELECT count(*) AS n FROM src)
        INSERT INTO res_partner ({columns}, name, complete_name, create_date, write_date)
        SELECT {source_columns}, src.name || '·' || g, src.name || '·' || g, now(), now()
          FROM generate_series(0, %s - 1) AS g CROSS JOIN total JOIN src ON src.rn = g %% total.n""",
    [(new_cars + 1) // 2],
)
cr.execute("UPDATE res_partner SET commercial_partner_id = id WHERE id > %s", [max_partner])
say(f"{cr.rowcount:,} customers")

# --- cars: copies of the generator's cars with VINs of their own -------------------------------------
buffer = io.StringIO()
for n in range(new_cars):
    # LFF (no WMI of the generator's), the millions, ZZZZ, the check digit, year P, plant 9, six digits
    buffer.write(f"{n}\t{with_check_digit(f'LFF{n // 10**6}ZZZZ0P9{n % 10**6:06d}')}\n")
buffer.seek(0)
cr.execute("CREATE TEMP TABLE fleet_vin (n integer PRIMARY KEY, vin varchar) ON COMMIT DROP")
cr.copy_expert("COPY fleet_vin (n, vin) FROM STDIN", buffer)
columns, source_columns = copied_columns(
    "auto_crm_vehicle",
    (
        "id",
        "vin",
        "partner_id",
        "purchase_date",
        "warranty_end_date",
        "model_year",
        "odometer",
        "odometer_date",
        "plate",
        "create_date",
        "write_date",
        "next_service_date",
        "next_service_mileage",
        "km_per_day",
        "km_per_day_source",
        "service_forecast_note",
        "next_inspection_date",
        "first_service_date",
    ),
)
max_vehicle = scalar("SELECT max(id) FROM auto_crm_vehicle")
cr.execute(
    f"""WITH src AS (SELECT *, row_number() OVER (ORDER BY id) - 1 AS rn FROM auto_crm_vehicle WHERE active),
             total AS (SELECT count(*) AS n FROM src),
             owner AS (SELECT id, row_number() OVER (ORDER BY id) - 1 AS rn FROM res_partner WHERE id > %(max_partner)s)
        INSERT INTO auto_crm_vehicle ({columns}, vin, partner_id, purchase_date, warranty_end_date, model_year,
                                      plate, odometer, create_date, write_date)
        SELECT {source_columns}, f.vin, owner.id, day.purchase, day.purchase + 365 * 3,
               EXTRACT(YEAR FROM day.purchase)::int, '粤A·F' || lpad(f.n::text, 7, '0'), 0, now(), now()
          FROM fleet_vin f CROSS JOIN total
          JOIN src ON src.rn = f.n %% total.n
          JOIN owner ON owner.rn = f.n / 2
         CROSS JOIN LATERAL (SELECT CURRENT_DATE - (30 + (f.n::bigint * 7919) %% 3255)::int AS purchase) day""",
    {"max_partner": max_partner},
)
say(f"{cr.rowcount:,} cars")
cr.execute(
    """INSERT INTO auto_crm_vehicle_ownership (vehicle_id, partner_id, date_start, company_id,
                                                create_uid, create_date, write_uid, write_date)
       SELECT id, partner_id, purchase_date, company_id, %s, now(), %s, now() FROM auto_crm_vehicle WHERE id > %s""",
    [uid, uid, max_vehicle],
)

# --- readings: each car's own pace, one car in fifty with a replaced odometer ------------------------
# Reading i of k (1..k) on day purchase + i * span / k, at the car's rate (10..130 km/day) with a
# small steady wobble; a replaced odometer (i = the middle one) starts a new series near zero.
cr.execute(
    """INSERT INTO auto_crm_vehicle_odometer (vehicle_id, company_id, date, value, source, is_replacement,
                                              recorded_by_id, create_uid, create_date, write_uid, write_date)
       SELECT car.id, car.company_id, r.day, r.value, 'import', r.replaced, %(uid)s, %(uid)s, now(), %(uid)s, now()
         FROM (SELECT v.id, v.company_id, v.purchase_date,
                      %(low)s + (v.id * 31) %% (%(high)s - %(low)s + 1) AS k,
                      10 + (v.id * 17) %% 121 AS rate,
                      v.id %% 50 = 0 AS swapped,
                      CURRENT_DATE - 1 - v.purchase_date AS span
                 FROM auto_crm_vehicle v WHERE v.id > %(max_vehicle)s) car
        CROSS JOIN LATERAL (
               SELECT i, car.purchase_date + (i * car.span) / car.k AS day,
                      car.swapped AND i = car.k / 2 + 1 AS replaced,
                      CASE WHEN car.swapped AND i > car.k / 2
                           THEN car.rate * ((i * car.span) / car.k - ((car.k / 2) * car.span) / car.k) + i * 3
                           ELSE car.rate * ((i * car.span) / car.k) + i * 3 + (car.id %% 7) * 11 END AS value
                 FROM generate_series(1, car.k) AS i) r""",
    {"uid": uid, "low": low, "high": high, "max_vehicle": max_vehicle},
)
say(f"{cr.rowcount:,} readings")
cr.execute(
    """UPDATE auto_crm_vehicle v SET odometer = last.value, odometer_date = last.date
         FROM (SELECT DISTINCT ON (vehicle_id) vehicle_id, value, date FROM auto_crm_vehicle_odometer
                WHERE vehicle_id > %s ORDER BY vehicle_id, date DESC, id DESC) last
        WHERE v.id = last.vehicle_id""",
    [max_vehicle],
)
env.cr.commit()
env.invalidate_all()
cr.execute("ANALYZE res_partner, auto_crm_vehicle, auto_crm_vehicle_ownership, auto_crm_vehicle_odometer")

# --- checks (each must count 0) --------------------------------------------------------------------
CHECKS = [
    ("cars short of the target", f"SELECT GREATEST({TARGET_VEHICLES} - count(*), 0) FROM auto_crm_vehicle"),
    (
        "readings short of 99% of the target",
        f"SELECT GREATEST({int(TARGET_READINGS * 0.99)} - count(*), 0) FROM auto_crm_vehicle_odometer",
    ),
    ("duplicate active VINs", "SELECT count(*) - count(DISTINCT vin) FROM auto_crm_vehicle WHERE active"),
    (
        "new cars without a customer or a store",
        f"SELECT count(*) FROM auto_crm_vehicle WHERE id > {max_vehicle} "
        "AND (partner_id IS NULL OR company_id IS NULL)",
    ),
    (
        "new customers who are not their own commercial entity",
        f"SELECT count(*) FROM res_partner WHERE id > {max_partner} AND commercial_partner_id <> id",
    ),
    (
        "readings in the future or before the purchase",
        "SELECT count(*) FROM auto_crm_vehicle_odometer o JOIN auto_crm_vehicle v ON v.id = o.vehicle_id "
        f"WHERE v.id > {max_vehicle} AND (o.date > CURRENT_DATE OR o.date < v.purchase_date)",
    ),
    (
        "readings going down without a replaced odometer",
        "SELECT count(*) FROM (SELECT value, is_replacement, "
        "lag(value) OVER (PARTITION BY vehicle_id ORDER BY date, id) "
        f"AS prev FROM auto_crm_vehicle_odometer WHERE vehicle_id > {max_vehicle}) r "
        "WHERE r.value < r.prev AND NOT r.is_replacement",
    ),
    (
        "car odometer other than its latest reading",
        "SELECT count(*) FROM auto_crm_vehicle c JOIN LATERAL (SELECT value FROM auto_crm_vehicle_odometer o "
        "WHERE o.vehicle_id = c.id ORDER BY date DESC, id DESC LIMIT 1) r ON TRUE "
        f"WHERE c.id > {max_vehicle} AND c.odometer <> r.value",
    ),
]
failed = 0
for label, query in CHECKS:
    count = scalar(query)
    print(f"  check {label}: {count}")
    failed += bool(count)
cars = scalar("SELECT count(*) FROM auto_crm_vehicle")
readings = scalar("SELECT count(*) FROM auto_crm_vehicle_odometer")
customers = scalar("SELECT count(*) FROM res_partner WHERE auto_customer")
print(f"fleet: {cars:,} cars, {readings:,} odometer readings, {customers:,} customers in {time.time() - started:.0f}s")
sys.exit(1 if failed else 0)
