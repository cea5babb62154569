"""Fill a database with many Dealer CRM records that are what the ORM would have made, for performance work.

Run it in Odoo's shell against a database where auto_crm is installed (never a production one):

    GEN_CUSTOMERS=100000 tools/dev odoo shell -d DB --no-http < benchmarks/generate_data.py

(`tools/dev bench --size 10k|100k|1m` builds its database with it.) It writes with bulk SQL
(psycopg2 execute_values, ids drawn from the tables' sequences beforehand), because the ORM would take
hours at this size, but every row holds what the ORM's create would have stored:

- the defaults of every stored field a row does not give (read from the registry: `default_get`);
- every stored computed or related field (commercial partner, partner share, sanitized phone through
  the ORM's own compute, brand of the visit, company of lines, readings, answers and ledger entries,
  line subtotals, visit totals, the vehicle's last odometer reading, answers' score values...);
- what the add-on's create() and hooks add: consent and do-not-disturb dates, one ownership per car,
  repair-order and member-card numbers from the store's own sequences, an odometer reading at each
  reception, stage dates, the loyalty programme's members enrolled at their first paid delivery with
  their earnings in the ledger (the stored balance is the sum of the ledger), the tier each earning
  moved them up to (with its history row), callbacks as the engine's rules make them (after-service,
  after-sale, win-back) for customers who agree to be called, worked by agents (attempts, answers)
  and closed as done, failed or expired, or still open; the satisfaction index of each done
  callback is computed by the add-on's own `_compute_csi_sql()`.

Each customer gets 1-2 vehicles and each vehicle 1-5 delivered visits; a few cars are in the workshop
today (open visits at every stage) and a few visits were cancelled. Sizes: GEN_CUSTOMERS customers
(10,000 -> about 34,000 visits; 200,000 -> about 674,000 visits and 1,000,000 callbacks).

At the end it checks the WHOLE tables with SQL assertions (each must count 0 rows), checks that no
stored field with a default is empty, re-computes every stored computed field of a random 1,000
records of each model through the ORM and compares, re-validates a sample through the ORM's
constraints (after VACUUM ANALYZE), and prints counts and seconds. It exits 1 when a check fails.
Not made: chatter messages and followers (rows as an import with tracking off makes them), the
nightly jobs' results (segments, lifecycle, points expiry, tier downgrades: the nightly benchmarks
make them), complaints (done callbacks' overall score stays above the complaint threshold).
"""

import io
import json
import os
import random
import sys
import time
from collections import defaultdict
from datetime import date, datetime, timedelta

from dateutil.relativedelta import relativedelta
from psycopg2.extras import execute_values
from stdnum.cn import ric

from odoo.tools import float_round

from odoo.addons.auto_crm.lib.vin import with_check_digit

env = globals()["env"]  # provided by `odoo-bin shell`
env = env(context=dict(env.context, tracking_disable=True, mail_notrack=True, mail_create_nolog=True))
cr = env.cr
N = int(os.environ.get("GEN_CUSTOMERS", "1000"))
SEED = int(os.environ.get("GEN_SEED", "42"))
CHECK_SAMPLE = int(os.environ.get("GEN_CHECK_SAMPLE", "1000"))
BATCH = 5000
#: A dealer group's stores, each of about 10,000 customers (the 10k database is one store; 1m is 20).
STORES = int(os.environ.get("GEN_STORES", "0")) or max(1, N // 10000)
ROUND_ROBIN = defaultdict(int)
rng = random.Random(SEED)
company = env.company
uid = env.uid
now = datetime.now().replace(microsecond=0)
today = company._auto_crm_today()
MAGIC = {"create_uid": uid, "create_date": now, "write_uid": uid, "write_date": now}

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈"
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华玉兰萍红建华文斌宇浩晨欣怡子涵梓轩"
REGIONS = ["440305", "440106", "110105", "310115", "320102", "330106", "510104", "420102"]
PLATE_PREFIX = ["粤B", "粤A", "京A", "沪A", "苏A", "浙A", "川A", "鄂A"]
WMI = ["LSV", "LFV", "LVG", "LGX", "LSG", "LHG", "LBV", "LDC"]
VIN_CHARS = "ABCDEFGHJKLMNPRSTUVWXYZ0123456789"
VISIT_TYPES = ["maintenance", "maintenance", "repair", "warranty", "accident", "inspection"]
OPEN_STATES = ["appointment", "appointment", "appointment", "reception", "repair", "inspection", "delivery"]
STAMPS = ["date_reception", "date_repair", "date_inspection", "date_settlement", "date_delivered"]
STATE_ORDER = ["appointment", "reception", "repair", "inspection", "delivery", "followup"]
SCORE_WEIGHTS = [("1", 3), ("2", 5), ("3", 12), ("4", 35), ("5", 45)]


# ---------------------------------------------------------------------------------------------- helpers
DEFAULTS = {}


def column_defaults(model):
    """{column: value} of the stored fields whose default the ORM's create would add (default_get)."""
    if model not in DEFAULTS:
        Model = env[model]
        names = [
            name
            for name, field in Model._fields.items()
            if field.store and field.column_type and field.default is not None and name not in MAGIC and name != "id"
        ]
        values = Model.default_get(names)
        DEFAULTS[model] = {
            name: Model._fields[name].convert_to_column_insert(value, Model)
            for name, value in values.items()
            if name in names
        }
    return DEFAULTS[model]


def new_ids(model, count):
    """Ids drawn from the table's own sequence, so that rows can point at each other before insertion."""
    if not count:
        return []
    cr.execute(
        "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)", (env[model]._table, count)
    )
    return [row[0] for row in cr.fetchall()]


def insert(model, rows):
    """COPY rows (dicts with the same keys, 'id' included) with the ORM's defaults and magic columns."""
    if not rows:
        return
    keys = list(rows[0])
    defaults = column_defaults(model)
    extra = [(name, value) for name, value in defaults.items() if name not in keys]
    extra += [(name, value) for name, value in MAGIC.items() if name not in keys]
    columns = keys + [name for name, _value in extra]
    tail = "\t".join(copy_text(value) for _name, value in extra)
    buffer = io.StringIO()
    for row in rows:
        buffer.write("\t".join(copy_text(row[k]) for k in keys))
        buffer.write("\t" + tail + "\n" if tail else "\n")
    buffer.seek(0)
    # The rows point at rows made in the same batch, in this order: foreign-key triggers would only
    # look each id up again (they are a third of the time); the checks below verify every link.
    cr.execute("SET LOCAL session_replication_role = replica")
    cr._obj.copy_expert(f'COPY "{env[model]._table}" ({", ".join(columns)}) FROM STDIN', buffer)


def copy_text(value):
    """A value in COPY's text format."""
    if value is None:
        return "\\N"
    if value is True or value is False:
        return "t" if value else "f"
    if isinstance(value, str):
        return value.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")
    if isinstance(value, datetime | date):
        return value.isoformat()
    if hasattr(value, "adapted"):  # psycopg2 Json (translated fields)
        return copy_text(json.dumps(value.adapted))
    return str(value)


def orm_compute(model, ids, fnames):
    """Fill these stored computed fields of these rows through the ORM's own compute (then written)."""
    records = env[model].browse(ids)
    for fname in fnames:
        env.add_to_compute(records._fields[fname], records)
    records.flush_recordset(fnames)
    env.invalidate_all()


def sequence_for(code):
    """The store's own copy of the add-on's sequence (made as the add-on makes it), its prefix and padding."""
    env["auto_crm.sequence.mixin"]._auto_crm_next_number(code, company)  # creates the store's copy if missing
    seq = env["ir.sequence"].sudo().search([("code", "=", code), ("company_id", "=", company.id)], limit=1)
    prefix, suffix = seq._get_prefix_suffix()
    return seq, prefix, suffix


class Numbers:
    """Numbers drawn from a store sequence in bulk; `close()` moves the sequence past them."""

    def __init__(self, code):
        self.seq, self.prefix, self.suffix = sequence_for(code)
        self.next = self.seq.number_next_actual

    def __call__(self):
        number = f"{self.prefix}{self.next:0{self.seq.padding}d}{self.suffix}"
        self.next += 1
        return number

    def close(self):
        self.seq.sudo().write({"number_next": self.next})


SEEN_IDS = set()


def id_card(birth):
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


def at(day, hours):
    return datetime.combine(day, datetime.min.time()) + timedelta(hours=hours)


def score():
    return rng.choices([s for s, _w in SCORE_WEIGHTS], [w for _s, w in SCORE_WEIGHTS])[0]


# ---------------------------------------------------------------------------------------------- set-up
def pick_models():
    Model = env["fleet.vehicle.model"]
    models = Model.search([], limit=20)
    if not models:
        Brand = env["fleet.vehicle.model.brand"]
        brands = Brand.search([], limit=4) or Brand.create([{"name": n} for n in ("大众", "丰田", "本田", "别克")])
        models = Model.create([{"name": f"Model {i}", "brand_id": brands[i % len(brands)].id} for i in range(8)])
    return [(m.id, m.brand_id.id) for m in models]


def loyalty_program():
    """The store's programme (made through the ORM, like the demo's, when the store has none)."""
    Program = env["auto_crm.loyalty.program"].sudo()
    program = Program.search([("company_id", "=", company.id)], limit=1)
    if not program:
        program = Program.create(
            {
                "name": "车主俱乐部 Owners' Club",
                "company_id": company.id,
                "earn_rate": 0.1,
                "point_value": 0.5,
                "tier_basis": "spend",
                "qualification_months": 12,
                "tier_ids": [
                    (0, 0, {"name": "Silver 银卡", "threshold": 0, "parts_discount": 2, "color": 7}),
                    (0, 0, {"name": "Gold 金卡", "threshold": 1000, "labour_discount": 5, "color": 3}),
                    (0, 0, {"name": "Platinum 白金卡", "threshold": 8000, "labour_discount": 10, "color": 10}),
                ],
            }
        )
    return program


def callback_rules():
    """{trigger: (rule, questions [(id, step, sequence, required)], agents)} of the active rules."""
    rules = {}
    for rule in env["auto_crm.callback.rule"].search([("active", "=", True)]):
        if rule.trigger in ("service_delivered", "vehicle_delivered", "no_visit") and rule.trigger not in rules:
            if rule.company_id and rule.company_id != company:
                continue
            questions = [
                (q.id, q.step, q.sequence, q.required)
                for q in rule.questionnaire_id.question_ids.filtered("active").sorted("sequence")
            ]
            agents = rule.team_id.member_ids.filtered("active").sorted("id").ids or [uid]
            if rule.assignment == "user" and rule.user_id:
                agents = [rule.user_id.id]
            rules[rule.trigger] = (rule, questions, agents)
    return rules


# ---------------------------------------------------------------------------------------------- main
def make_stores():
    """The group's stores: the main company and GEN_STORES - 1 more (made through the ORM like a new store:
    the main store's time zone and currency, a copy of its active satisfaction index, activated)."""
    main_store = env.company
    stores = [main_store]
    Company = env["res.company"].sudo()
    for number in range(2, STORES + 1):
        name = f"{main_store.name} {number:03d}"
        store = Company.search([("name", "=", name)], limit=1) or Company.create(
            {"name": name, "currency_id": main_store.currency_id.id, "auto_crm_tz": main_store.auto_crm_tz}
        )
        stores.append(store)
    env.user.sudo().write({"company_ids": [(4, store.id) for store in stores]})
    Hierarchy = env["auto_crm.csi.hierarchy"].sudo()
    index = Hierarchy.search([("company_id", "=", main_store.id), ("state", "=", "active")], limit=1)
    for store in stores[1:]:
        if index and not Hierarchy.search_count([("company_id", "=", store.id), ("state", "=", "active")]):
            index.with_company(store)._copy_as_draft(store).action_activate()
    env.flush_all()
    return stores


def use_store(store):
    """Generate the next rows in this store (its day, its defaults)."""
    global env, company, today
    env = env(context=dict(env.context, allowed_company_ids=[store.id]))
    company = env.company
    today = company._auto_crm_today()
    DEFAULTS.clear()


def generate_store(share, models, vin_base, counts, seconds, serial, started):
    """`share` customers of the current store, in batches, with their cars, visits, members and callbacks."""
    program = loyalty_program()
    tiers = [(t.id, t.name, t.threshold) for t in program.tier_ids.sorted("threshold")]
    tier_discounts = {t.id: (t.labour_discount, t.parts_discount) for t in program.tier_ids}
    basis_label = dict(program._fields["tier_basis"]._description_selection(env))[program.tier_basis]
    rules = callback_rules()
    threshold = company.complaint_callback_score_threshold
    visit_numbers = Numbers("auto_crm.service.visit")
    card_numbers = Numbers("auto_crm.loyalty.member")
    rr = ROUND_ROBIN  # round-robin position per rule (a group-wide rule's runs on across stores)

    for start in range(0, share, BATCH):
        size = min(BATCH, share - start)
        t0 = time.time()
        rows = defaultdict(list)
        partner_ids = new_ids("res.partner", size)
        for pid in partner_ids:
            birth = date(rng.randint(1955, 2002), rng.randint(1, 12), rng.randint(1, 28))
            name = rng.choice(SURNAMES) + rng.choice(GIVEN) + (rng.choice(GIVEN) if rng.random() < 0.6 else "")
            consent = rng.random() < 0.9
            dnd = rng.random() < 0.05
            rows["res.partner"].append(
                {
                    "id": pid,
                    "name": name,
                    "complete_name": name,
                    "commercial_partner_id": pid,
                    "partner_share": True,
                    "auto_customer": True,
                    "company_id": company.id,
                    "mobile": f"+86 13{rng.randint(0, 9)} {rng.randint(1000, 9999)} {rng.randint(1000, 9999)}",
                    "auto_birthday": birth,
                    "auto_id_card_number": id_card(birth),
                    "auto_callback_consent": consent,
                    "auto_callback_consent_date": today if consent else None,
                    "auto_do_not_disturb": dnd,
                    "auto_do_not_disturb_date": today if dnd else None,
                    "auto_profile_created_by_id": uid,
                }
            )
        # Vehicles, each with its visits; visits are kept per partner for loyalty and callbacks.
        partner_visits = defaultdict(list)  # pid -> [visit dict]
        vehicle_plan = []
        for partner in rows["res.partner"]:
            for _n in range(1 if rng.random() < 0.75 else 2):
                serial += 1
                model_id, brand_id = rng.choice(models)
                purchase = today - timedelta(days=rng.randint(30, 365 * 9))
                vehicle_plan.append((partner, model_id, brand_id, purchase))
        vehicle_ids = new_ids("auto_crm.vehicle", len(vehicle_plan))
        visit_plan = []  # (vehicle row, partner row, state, day, mileage, labour, parts)
        for vid, (partner, model_id, brand_id, purchase) in zip(vehicle_ids, vehicle_plan, strict=True):
            vehicle = {
                "id": vid,
                "vin": vin(vin_base + vid),
                "plate": f"{rng.choice(PLATE_PREFIX)}·{rng.randint(10000, 99999)}",
                "company_id": company.id,
                "partner_id": partner["id"],
                "model_id": model_id,
                "brand_id": brand_id,
                "purchase_date": purchase,
                "warranty_end_date": purchase + timedelta(days=365 * 3),
                "sold_here": rng.random() < 0.7,
                "model_year": purchase.year,
                "odometer": 0,
                "odometer_date": None,
            }
            rows["auto_crm.vehicle"].append(vehicle)
            rows["auto_crm.vehicle.ownership"].append(
                {"vehicle_id": vid, "partner_id": partner["id"], "date_start": purchase, "company_id": company.id}
            )
            mileage, day = 0, purchase
            for _k in range(rng.randint(1, 5)):
                day = day + timedelta(days=rng.randint(60, 240))
                if day >= today:
                    break
                mileage += rng.randint(3000, 12000)
                state = "cancel" if rng.random() < 0.01 else "followup"
                visit_plan.append((vehicle, partner, state, day, mileage))
            if rng.random() < 0.04:  # in the workshop today, or booked for the next days
                state = rng.choice(OPEN_STATES)
                day = today + timedelta(days=rng.randint(0, 6)) if state == "appointment" else today
                visit_plan.append((vehicle, partner, state, day, mileage + rng.randint(3000, 12000)))
        visit_ids = new_ids("auto_crm.service.visit", len(visit_plan))
        reading_count = sum(1 for plan in visit_plan if plan[2] not in ("appointment", "cancel"))
        reading_ids = iter(new_ids("auto_crm.vehicle.odometer", reading_count))
        for visit_id, (vehicle, partner, state, day, mileage) in zip(visit_ids, visit_plan, strict=True):
            stamp = at(day, 1 + rng.random() * 8)  # 09:00-17:00 in Beijing, stored in UTC
            reached = STATE_ORDER.index(state) if state != "cancel" else 0
            labour = round(rng.uniform(150, 800), 2)
            parts = round(rng.uniform(0, 2500), 2) if rng.random() < 0.8 else 0.0
            has_lines = reached >= 2 or state == "followup"
            labour, parts = (labour, parts) if has_lines else (0.0, 0.0)
            settled = reached >= 4
            visit = {
                "id": visit_id,
                "name": visit_numbers(),
                "company_id": company.id,
                "state": state,
                "partner_id": partner["id"],
                "vehicle_id": vehicle["id"],
                "brand_id": vehicle["brand_id"],
                "visit_type": rng.choice(VISIT_TYPES),
                "mileage_in": mileage if reached >= 1 else 0,
                "date_appointment": stamp,
                "amount_labour": labour,
                "amount_parts": parts,
                "amount_total": round(labour + parts, 2),
                "payment_method": "mobile" if settled else None,
                "amount_paid": round(labour + parts, 2) if settled else 0.0,
                "advisor_id": uid,
                "odometer_reading_id": None,
                "date_cancel": stamp + timedelta(hours=1) if state == "cancel" else None,
            }
            for index, column in enumerate(STAMPS, start=1):
                visit[column] = stamp + timedelta(hours=index) if reached >= index else None
            if reached >= 1:
                rid = next(reading_ids)
                visit["odometer_reading_id"] = rid
                rows["auto_crm.vehicle.odometer"].append(
                    {
                        "id": rid,
                        "vehicle_id": vehicle["id"],
                        "company_id": company.id,
                        "date": day,
                        "value": mileage,
                        "source": "visit",
                        "visit_id": visit_id,
                        "is_replacement": False,
                        "recorded_by_id": uid,
                    }
                )
                if day >= (vehicle["odometer_date"] or date.min):
                    vehicle["odometer"], vehicle["odometer_date"] = mileage, day
            if has_lines:
                rows["auto_crm.service.visit.line"].append(
                    {
                        "visit_id": visit_id,
                        "company_id": company.id,
                        "sequence": 10,
                        "line_type": "labour",
                        "name": "保养工时",
                        "quantity": 1,
                        "unit_price": labour,
                        "discount": 0,
                        "subtotal": labour,
                    }
                )
                if parts:
                    rows["auto_crm.service.visit.line"].append(
                        {
                            "visit_id": visit_id,
                            "company_id": company.id,
                            "sequence": 20,
                            "line_type": "part",
                            "name": "配件",
                            "quantity": 1,
                            "unit_price": parts,
                            "discount": 0,
                            "subtotal": parts,
                        }
                    )
            rows["auto_crm.service.visit"].append(visit)
            partner_visits[partner["id"]].append((day, visit, vehicle))

        # Loyalty: a member at the first paid delivery, one earning per paid delivery, tiers moved up at once.
        paid = {
            pid: sorted(
                (
                    (day, visit)
                    for day, visit, _veh in visits
                    if visit["state"] == "followup" and visit["amount_paid"] > 0
                ),
                key=lambda dv: (dv[0], dv[1]["id"]),
            )
            for pid, visits in partner_visits.items()
        }
        paid = {pid: visits for pid, visits in paid.items() if visits}
        member_ids = iter(new_ids("auto_crm.loyalty.member", len(paid) if program.auto_enroll else 0))
        for pid, visits in paid.items() if program.auto_enroll else ():
            member_id = next(member_ids)
            joined = visits[0][0]
            member = {
                "id": member_id,
                "card_number": card_numbers(),
                "partner_id": pid,
                "program_id": program.id,
                "company_id": company.id,
                "date_joined": joined,
                "points_balance": 0,
                "tier_id": tiers[0][0] if tiers else None,
                "tier_date": joined if tiers else None,
                "tier_review_date": joined + relativedelta(months=program.qualification_months) if tiers else None,
            }
            current = 0
            for day, visit in visits:
                points = int(visit["amount_paid"] * program.earn_rate + 1e-9)
                if points > 0:
                    rows["auto_crm.loyalty.ledger"].append(
                        {
                            "member_id": member_id,
                            "partner_id": pid,
                            "program_id": program.id,
                            "company_id": company.id,
                            "date": day,
                            "kind": "earn",
                            "points": points,
                            "amount": visit["amount_paid"],
                            "visit_id": visit["id"],
                            "visit_seq": 1,
                            "reason": f"Visit {visit['name']} delivered",
                            "user_id": uid,
                        }
                    )
                    member["points_balance"] += points
                    # _evaluate_tiers(upgrade_only=True) at this delivery, on the money paid over the period.
                    since = day - relativedelta(months=program.qualification_months)
                    if program.tier_basis == "points":
                        value = sum(
                            int(v["amount_paid"] * program.earn_rate + 1e-9) for d, v in visits if since <= d <= day
                        )
                    else:
                        value = sum(v["amount_paid"] for d, v in visits if since <= d <= day)
                    qualified = max((i for i, t in enumerate(tiers) if t[2] <= value), default=0)
                    if tiers and qualified > current:
                        rows["auto_crm.loyalty.tier.history"].append(
                            {
                                "member_id": member_id,
                                "partner_id": pid,
                                "company_id": company.id,
                                "date": day,
                                "old_tier_id": tiers[current][0],
                                "new_tier_id": tiers[qualified][0],
                                "direction": "up",
                                "metric": value,
                                "reason": f"{basis_label} over {program.qualification_months} months: "
                                f"{format(value, ',.0f')}; {tiers[qualified][1]} from "
                                f"{format(tiers[qualified][2], ',.0f')}",
                            }
                        )
                        current = qualified
                        member.update(
                            tier_id=tiers[qualified][0],
                            tier_date=day,
                            tier_review_date=day + relativedelta(months=program.qualification_months),
                        )
            rows["auto_crm.loyalty.member"].append(member)

        # The lines of the cars still in the workshop carry their member's tier discount (labour / parts),
        # as the line's compute gives it; delivered and cancelled visits keep the prices they were paid at.
        member_tier = {member["partner_id"]: member["tier_id"] for member in rows["auto_crm.loyalty.member"]}
        open_visits = {
            visit["id"]: visit
            for visit in rows["auto_crm.service.visit"]
            if visit["state"] not in ("followup", "cancel") and member_tier.get(visit["partner_id"])
        }
        for line in rows["auto_crm.service.visit.line"]:
            visit = open_visits.get(line["visit_id"])
            if not visit:
                continue
            labour_discount, parts_discount = tier_discounts[member_tier[visit["partner_id"]]]
            line["discount"] = labour_discount if line["line_type"] == "labour" else parts_discount
            # rounded as the store's currency rounds (half up), not Python's round()
            line["subtotal"] = float_round(
                line["unit_price"] * line["quantity"] * (1 - line["discount"] / 100), precision_rounding=0.01
            )
            visit["amount_labour" if line["line_type"] == "labour" else "amount_parts"] = line["subtotal"]
        for visit in open_visits.values():
            visit["amount_total"] = round(visit["amount_labour"] + visit["amount_parts"], 2)
            if visit["amount_paid"]:
                visit["amount_paid"] = visit["amount_total"]

        # Callbacks, as the engine's rules would have made them for customers who may be called.
        def add_callback(trigger, source_model, source_id, partner, vehicle_id, visit, event_day):
            rule, questions, agents = rules[trigger]
            if partner["auto_do_not_disturb"] or not partner["auto_callback_consent"]:
                return
            due = rule._next_due_date(event_day)
            if due > today:
                return
            expiry = due + timedelta(days=rule.window_days)
            if expiry >= today:  # still open: one open callback per customer and store, as the engine keeps
                # open_partners is this batch's set; add_callback is called within the batch only
                if partner["id"] in open_partners:  # noqa: B023
                    return
                open_partners.add(partner["id"])  # noqa: B023
            agent = agents[rr[rule.id] % len(agents)]
            rr[rule.id] += 1
            callback = {
                "name": f"{rule.name}: {partner['name']}",
                "rule_id": rule.id,
                "questionnaire_id": rule.questionnaire_id.id or None,
                "company_id": company.id,
                "survey_kind": rule.questionnaire_id.kind or None,  # the callback's stored related field
                "partner_id": partner["id"],
                "vehicle_id": vehicle_id,
                "visit_id": visit["id"] if visit else None,
                "source_model": source_model,
                "source_id": source_id,
                "source_period": 0,
                "user_id": agent,
                "team_id": rule.team_id.id or None,
                "channel": rule.channel,
                "state": "todo",
                "date_due": due,
                "date_expiry": expiry,
                "max_attempts": rule.max_attempts,
                "overall_score": 0,
                "customer_complains": False,
                "close_reason": None,
                "date_done": None,
                "create_date": at(due, 0),
                "write_date": at(due, 0),
            }
            rows["callback_plan"].append((callback, questions, visit))  # noqa: B023 - used in this batch only

        open_partners = set()  # the customers of this batch (of one store) with an open callback
        partner_vehicles = defaultdict(list)
        for vehicle in rows["auto_crm.vehicle"]:
            partner_vehicles[vehicle["partner_id"]].append(vehicle)
        for partner in rows["res.partner"]:
            visits = sorted(partner_visits.get(partner["id"], ()), key=lambda dvv: (dvv[0], dvv[1]["id"]))
            delivered = [(d, v, veh) for d, v, veh in visits if v["state"] == "followup"]
            if "service_delivered" in rules:
                for _day, visit, vehicle in delivered:
                    add_callback(
                        "service_delivered",
                        "auto_crm.service.visit",
                        visit["id"],
                        partner,
                        vehicle["id"],
                        visit,
                        visit["date_delivered"].date(),
                    )
            if "vehicle_delivered" in rules:
                for vehicle in partner_vehicles[partner["id"]]:
                    if vehicle["sold_here"]:
                        add_callback(
                            "vehicle_delivered",
                            "auto_crm.vehicle",
                            vehicle["id"],
                            partner,
                            vehicle["id"],
                            None,
                            vehicle["purchase_date"],
                        )
            if "no_visit" in rules:
                received = [(d, v, veh) for d, v, veh in visits if v["date_reception"] and v["state"] != "cancel"]
                for index, (day, visit, vehicle) in enumerate(received):
                    rule = rules["no_visit"][0]
                    lapse = rule._next_due_date(day)
                    following = received[index + 1][0] if index + 1 < len(received) else None
                    if following is None or following > lapse:
                        add_callback(
                            "no_visit", "auto_crm.service.visit", visit["id"], partner, vehicle["id"], visit, day
                        )
        callback_ids = new_ids("auto_crm.callback", len(rows["callback_plan"]))
        for cid, (callback, questions, visit) in zip(callback_ids, rows.pop("callback_plan"), strict=True):
            callback["id"] = cid
            closed = callback["date_expiry"] < today
            fate = rng.random()
            window = max((min(callback["date_expiry"], today) - callback["date_due"]).days, 0)
            attempt_day = callback["date_due"] + timedelta(days=rng.randint(0, window))
            attempts = []
            if not closed:
                if fate < 0.3:
                    callback["state"] = "in_progress"
                    attempts = ["answered"]
                elif fate < 0.45:
                    attempts = ["no_answer"]
            elif fate < 0.75:
                callback["state"] = "done"
                attempts = ["no_answer", "answered"] if rng.random() < 0.25 else ["answered"]
            elif fate < 0.85:
                callback["state"], callback["close_reason"] = "failed", "max_attempts"
                attempts = ["no_answer"] * callback["max_attempts"]
            else:
                callback["state"], callback["close_reason"] = "expired", "expired"
                attempts = ["busy"] if rng.random() < 0.5 else []
            for k, outcome in enumerate(attempts):
                rows["auto_crm.callback.attempt"].append(
                    {
                        "callback_id": cid,
                        "company_id": company.id,
                        "partner_id": callback["partner_id"],
                        "date": at(attempt_day, 1 + k * 2 + rng.random()),
                        "user_id": callback["user_id"],
                        "channel": callback["channel"],
                        "outcome": outcome,
                        "note": None,
                    }
                )
            if callback["state"] == "done":
                done = at(attempt_day, 1 + len(attempts) * 2 + rng.random())
                callback["date_done"] = callback["write_date"] = done
                for qid, step, sequence, required in questions:
                    if not required and rng.random() < 0.3:
                        continue
                    value = score()
                    if step == "overall":  # above the complaint threshold: no complaint to open
                        value = str(max(int(value), threshold + 1))
                        callback["overall_score"] = int(value)
                    rows["auto_crm.callback.answer"].append(
                        {
                            "callback_id": cid,
                            "question_id": qid,
                            "sequence": sequence,
                            "step": step,
                            "score": value,
                            "score_value": int(value),
                            "comment": None,
                            "company_id": company.id,
                            "partner_id": callback["partner_id"],
                            "date_done": done,
                            "questionnaire_id": callback["questionnaire_id"],
                            "visit_id": callback["visit_id"],
                            "advisor_id": visit["advisor_id"] if visit else None,
                            "technician_id": None,
                        }
                    )
            elif callback["state"] != "todo":
                callback["write_date"] = at(min(callback["date_expiry"] + timedelta(days=1), today), 0)
            rows["auto_crm.callback"].append(callback)
        seconds["python"] += time.time() - t0

        t0 = time.time()
        for model in (
            "res.partner",
            "auto_crm.vehicle",
            "auto_crm.vehicle.ownership",
            "auto_crm.service.visit",
            "auto_crm.service.visit.line",
            "auto_crm.vehicle.odometer",
            "auto_crm.loyalty.member",
            "auto_crm.loyalty.ledger",
            "auto_crm.loyalty.tier.history",
            "auto_crm.callback",
            "auto_crm.callback.attempt",
            "auto_crm.callback.answer",
        ):
            if model == "auto_crm.service.visit":  # the visit and its reading point at each other
                links = [(v["id"], v.pop("odometer_reading_id")) for v in rows[model]]
            t1 = time.time()
            insert(model, rows[model])
            seconds[model] += time.time() - t1
            counts[model] += len(rows[model])
            if model == "auto_crm.vehicle.odometer":
                execute_values(
                    cr,
                    "UPDATE auto_crm_service_visit v SET odometer_reading_id = d.rid FROM (VALUES %s) AS d(vid, rid) "
                    "WHERE v.id = d.vid",
                    [link for link in links if link[1]],
                    page_size=BATCH,
                )
        seconds["insert"] += time.time() - t0
        t0 = time.time()
        # The sanitized phone through the ORM's own compute (it depends on the phone_validation setup).
        orm_compute("res.partner", partner_ids, ["phone_sanitized"])
        done_ids = [c["id"] for c in rows["auto_crm.callback"] if c["state"] == "done"]
        env["auto_crm.callback"].browse(done_ids)._compute_csi_sql()
        env.invalidate_all()
        seconds["orm computes"] += time.time() - t0
        cr.commit()
        print(
            f"  {counts['res.partner']}/{N} customers, {counts['auto_crm.service.visit']} visits, "
            f"{counts['auto_crm.callback']} callbacks, {time.time() - started:.1f}s",
            flush=True,
        )
    visit_numbers.close()
    card_numbers.close()
    for rule, _questions, agents in rules.values():
        if len(agents) > 1:
            cr.execute(
                "UPDATE auto_crm_callback_rule SET rr_position = %s WHERE id = %s", (rr[rule.id] % len(agents), rule.id)
            )
    return serial


def main():
    started = time.time()
    models = pick_models()
    stores = make_stores()
    cr.execute("SELECT COALESCE(MAX(id), 0) FROM auto_crm_vehicle")
    vin_base = cr.fetchone()[0] * 10 + 1_000_000
    first_ids = {}
    for model in MODELS:
        cr.execute(f'SELECT COALESCE(MAX(id), 0) FROM "{env[model]._table}"')
        first_ids[model] = cr.fetchone()[0]
    counts = defaultdict(int)
    seconds = defaultdict(float)
    serial = 0
    for store_index, store in enumerate(stores):
        use_store(store)
        share = N // len(stores) + (1 if store_index < N % len(stores) else 0)
        serial = generate_store(share, models, vin_base, counts, seconds, serial, started)
    use_store(stores[0])
    cr.commit()
    env.invalidate_all()
    generated = time.time() - started

    # Statistics and visibility map as a live database has them (the checks' plans need them too; the
    # engine's "fresh, un-analysed" benchmark makes its own rows).
    t0 = time.time()
    cr.commit()
    old_autocommit = cr._cnx.autocommit
    cr._cnx.autocommit = True
    try:
        cr.execute("VACUUM ANALYZE")
    finally:
        cr._cnx.autocommit = old_autocommit
    analysed = time.time() - t0
    t0 = time.time()
    failures = check(first_ids)
    checked = time.time() - t0
    labels = {
        "res.partner": "customers",
        "auto_crm.vehicle": "vehicles",
        "auto_crm.vehicle.ownership": "ownerships",
        "auto_crm.service.visit": "visits",
        "auto_crm.service.visit.line": "lines",
        "auto_crm.vehicle.odometer": "odometer readings",
        "auto_crm.loyalty.member": "loyalty members",
        "auto_crm.loyalty.ledger": "ledger entries",
        "auto_crm.loyalty.tier.history": "tier changes",
        "auto_crm.callback": "callbacks",
        "auto_crm.callback.attempt": "attempts",
        "auto_crm.callback.answer": "answers",
    }
    print("generated " + ", ".join(f"{counts[m]:,} {label}" for m, label in labels.items()))
    print(
        f"seconds: {generated:.1f} generation (python {seconds['python']:.1f}, insert {seconds['insert']:.1f}, "
        f"orm computes {seconds['orm computes']:.1f}), {checked:.1f} checks, {analysed:.1f} VACUUM ANALYZE; "
        f"total {time.time() - started:.1f}"
    )
    print("insert seconds: " + ", ".join(f"{label} {seconds[m]:.1f}" for m, label in labels.items()))
    if failures:
        print(f"CHECK FAILED: {len(failures)} check(s)")
        sys.exit(1)
    print("checks: all passed")


# ---------------------------------------------------------------------------------------------- checks
#: Each query counts the rows that break what the ORM would have stored: every count must be 0.
SQL_CHECKS = [
    (
        "visit brand = its vehicle's brand",
        "SELECT count(*) FROM auto_crm_service_visit v JOIN auto_crm_vehicle c ON c.id = v.vehicle_id "
        "WHERE v.brand_id IS DISTINCT FROM c.brand_id",
    ),
    (
        "vehicle brand = its model's brand",
        "SELECT count(*) FROM auto_crm_vehicle c JOIN fleet_vehicle_model m ON m.id = c.model_id "
        "WHERE c.brand_id IS DISTINCT FROM m.brand_id",
    ),
    (
        "customer: commercial partner is itself",
        "SELECT count(*) FROM res_partner WHERE parent_id IS NULL AND commercial_partner_id IS DISTINCT FROM id",
    ),
    (
        "customer: partner_share set",
        "SELECT count(*) FROM res_partner p WHERE p.id <> (SELECT partner_id FROM res_users WHERE id = 1) "
        "AND (p.partner_share IS NULL OR p.partner_share = EXISTS (SELECT 1 FROM res_users u "
        "WHERE u.partner_id = p.id AND u.active AND NOT u.share))",
    ),
    (
        "customer: complete name",
        "SELECT count(*) FROM res_partner WHERE auto_customer AND parent_id IS NULL "
        "AND complete_name IS DISTINCT FROM name",
    ),
    (
        "customer: sanitized phone present where a mobile is",
        "SELECT count(*) FROM res_partner WHERE auto_customer AND mobile IS NOT NULL AND phone_sanitized IS NULL",
    ),
    (
        "consent date where consent",
        "SELECT count(*) FROM res_partner WHERE auto_callback_consent AND auto_callback_consent_date IS NULL",
    ),
    (
        "do-not-disturb date where do not disturb",
        "SELECT count(*) FROM res_partner WHERE auto_do_not_disturb AND auto_do_not_disturb_date IS NULL",
    ),
    (
        "line subtotal = quantity x price less discount",
        "SELECT count(*) FROM auto_crm_service_visit_line "
        "WHERE abs(subtotal - round(quantity * unit_price * (1 - COALESCE(discount, 0) / 100.0), 2)) > 0.005",
    ),
    (
        "visit totals = the sum of its lines",
        "SELECT count(*) FROM auto_crm_service_visit v LEFT JOIN (SELECT visit_id, "
        "sum(subtotal) FILTER (WHERE line_type = 'labour') AS labour, sum(subtotal) FILTER (WHERE line_type = 'part') "
        "AS parts, sum(subtotal) AS total FROM auto_crm_service_visit_line GROUP BY visit_id) l ON l.visit_id = v.id "
        "WHERE abs(COALESCE(v.amount_total, 0) - COALESCE(l.total, 0)) > 0.005 "
        "OR abs(COALESCE(v.amount_labour, 0) - COALESCE(l.labour, 0)) > 0.005",
    ),
    (
        "company of lines, readings, ownerships = their parent's",
        "SELECT (SELECT count(*) FROM auto_crm_service_visit_line l JOIN auto_crm_service_visit v ON v.id = l.visit_id "
        "WHERE l.company_id IS DISTINCT FROM v.company_id) + (SELECT count(*) FROM auto_crm_vehicle_odometer o "
        "JOIN auto_crm_vehicle c ON c.id = o.vehicle_id WHERE o.company_id IS DISTINCT FROM c.company_id) + "
        "(SELECT count(*) FROM auto_crm_vehicle_ownership w JOIN auto_crm_vehicle c ON c.id = w.vehicle_id "
        "WHERE w.company_id IS DISTINCT FROM c.company_id)",
    ),
    (
        "vehicle odometer = its latest reading",
        "SELECT count(*) FROM auto_crm_vehicle c LEFT JOIN LATERAL "
        "(SELECT value, date FROM auto_crm_vehicle_odometer o "
        "WHERE o.vehicle_id = c.id ORDER BY date DESC, id DESC LIMIT 1) r ON TRUE "
        "WHERE COALESCE(c.odometer, 0) <> COALESCE(r.value, 0) OR c.odometer_date IS DISTINCT FROM r.date",
    ),
    (
        "readings only go up along a car's history",
        "SELECT count(*) FROM (SELECT value, lag(value) OVER (PARTITION BY vehicle_id ORDER BY date, id) AS prev "
        "FROM auto_crm_vehicle_odometer WHERE NOT is_replacement) r WHERE r.value < r.prev",
    ),
    (
        "received visits have their reading",
        "SELECT count(*) FROM auto_crm_service_visit v WHERE v.date_reception IS NOT NULL AND v.state != 'cancel' "
        "AND NOT EXISTS (SELECT 1 FROM auto_crm_vehicle_odometer o WHERE o.id = v.odometer_reading_id "
        "AND o.vehicle_id = v.vehicle_id AND o.value = v.mileage_in)",
    ),
    (
        "every stage reached has its date",
        "SELECT count(*) FROM auto_crm_service_visit WHERE (state IN ('reception','repair','inspection','delivery',"
        "'followup') AND date_reception IS NULL) OR (state = 'followup' AND date_delivered IS NULL) "
        "OR (state = 'delivery' AND date_settlement IS NULL) OR (state = 'cancel' AND date_cancel IS NULL) "
        "OR (state NOT IN ('followup') AND date_delivered IS NOT NULL)",
    ),
    (
        "one ownership per owned car",
        "SELECT count(*) FROM auto_crm_vehicle c WHERE c.partner_id IS NOT NULL AND NOT EXISTS "
        "(SELECT 1 FROM auto_crm_vehicle_ownership w WHERE w.vehicle_id = c.id AND w.partner_id = c.partner_id "
        "AND w.date_end IS NULL)",
    ),
    (
        "member balance = the sum of its ledger",
        "SELECT count(*) FROM auto_crm_loyalty_member m LEFT JOIN (SELECT member_id, sum(points) AS points "
        "FROM auto_crm_loyalty_ledger GROUP BY member_id) l ON l.member_id = m.id "
        "WHERE m.points_balance <> COALESCE(l.points, 0)",
    ),
    (
        "ledger partner, programme, store = its member's",
        "SELECT count(*) FROM auto_crm_loyalty_ledger l JOIN auto_crm_loyalty_member m ON m.id = l.member_id "
        "WHERE l.partner_id IS DISTINCT FROM m.partner_id OR l.program_id IS DISTINCT FROM m.program_id "
        "OR l.company_id IS DISTINCT FROM m.company_id",
    ),
    (
        "member store = its programme's",
        "SELECT count(*) FROM auto_crm_loyalty_member m JOIN auto_crm_loyalty_program p ON p.id = m.program_id "
        "WHERE m.company_id IS DISTINCT FROM p.company_id",
    ),
    (
        "paid deliveries earned once, points = floor(paid x rate)",
        "SELECT count(*) FROM auto_crm_service_visit v JOIN auto_crm_loyalty_program p ON p.company_id = v.company_id "
        "AND p.auto_enroll LEFT JOIN auto_crm_loyalty_ledger l ON l.visit_id = v.id AND l.kind = 'earn' "
        "WHERE v.state = 'followup' AND v.amount_paid > 0 "
        "AND COALESCE(v.payment_method, '') NOT IN ('warranty', 'internal') "
        "AND floor(v.amount_paid * p.earn_rate + 1e-9) > 0 "
        "AND (l.id IS NULL OR l.points <> floor(v.amount_paid * p.earn_rate + 1e-9) OR l.partner_id <> v.partner_id)",
    ),
    (
        "members' tier in their programme",
        "SELECT count(*) FROM auto_crm_loyalty_member m LEFT JOIN auto_crm_loyalty_tier t ON t.id = m.tier_id "
        "WHERE m.tier_id IS NULL OR t.program_id <> m.program_id",
    ),
    (
        "callback fields the engine sets",
        "SELECT count(*) FROM auto_crm_callback c WHERE c.rule_id IS NOT NULL AND (c.date_expiry IS NULL "
        "OR c.source_model IS NULL OR c.source_id IS NULL OR c.company_id IS NULL OR c.questionnaire_id IS NULL "
        "OR c.name IS NULL OR c.max_attempts IS NULL)",
    ),
    (
        "callbacks only for customers who may be called (when made)",
        "SELECT count(*) FROM auto_crm_callback c JOIN res_partner p ON p.id = c.partner_id "
        "WHERE c.rule_id IS NOT NULL AND (NOT COALESCE(p.auto_callback_consent, FALSE) OR p.auto_do_not_disturb) "
        "AND c.state IN ('todo', 'in_progress')",
    ),
    (
        "done callbacks: date done, overall score, index with its weights",
        "SELECT count(*) FROM auto_crm_callback c WHERE c.state = 'done' AND (c.date_done IS NULL "
        "OR (c.csi IS NULL) <> (c.csi_hierarchy_id IS NULL) OR (EXISTS (SELECT 1 FROM auto_crm_callback_answer a "
        "WHERE a.callback_id = c.id AND a.step = 'overall' AND a.score_value <> c.overall_score)))",
    ),
    (
        "done callbacks with scored answers have an index",
        "SELECT count(*) FROM auto_crm_callback c WHERE c.state = 'done' AND c.csi IS NULL AND EXISTS "
        "(SELECT 1 FROM auto_crm_csi_hierarchy h WHERE h.company_id = c.company_id AND h.state = 'active') "
        "AND EXISTS (SELECT 1 FROM auto_crm_callback_answer a WHERE a.callback_id = c.id AND a.score_value > 0 "
        "AND a.step NOT IN ('overall'))",
    ),
    (
        "closed callbacks: their reason; open ones: none",
        "SELECT count(*) FROM auto_crm_callback WHERE (state IN ('failed', 'expired') AND close_reason IS NULL) "
        "OR (state IN ('todo', 'done') AND close_reason IS NOT NULL) OR (state != 'done' AND date_done IS NOT NULL)",
    ),
    (
        "answers: related fields = their callback's and question's",
        "SELECT count(*) FROM auto_crm_callback_answer a JOIN auto_crm_callback c ON c.id = a.callback_id "
        "JOIN auto_crm_question q ON q.id = a.question_id LEFT JOIN auto_crm_service_visit v ON v.id = c.visit_id "
        "WHERE a.company_id IS DISTINCT FROM c.company_id OR a.partner_id IS DISTINCT FROM c.partner_id "
        "OR a.date_done IS DISTINCT FROM c.date_done OR a.visit_id IS DISTINCT FROM c.visit_id "
        "OR a.advisor_id IS DISTINCT FROM v.advisor_id OR a.technician_id IS DISTINCT FROM v.technician_id "
        "OR a.sequence IS DISTINCT FROM q.sequence OR a.step IS DISTINCT FROM q.step "
        "OR a.questionnaire_id IS DISTINCT FROM q.questionnaire_id "
        "OR a.score_value IS DISTINCT FROM COALESCE(a.score::int, 0)",
    ),
    (
        "attempts: company and customer = their callback's; failed after max attempts",
        "SELECT (SELECT count(*) FROM auto_crm_callback_attempt a JOIN auto_crm_callback c ON c.id = a.callback_id "
        "WHERE a.company_id IS DISTINCT FROM c.company_id OR a.partner_id IS DISTINCT FROM c.partner_id) + "
        "(SELECT count(*) FROM auto_crm_callback c WHERE c.close_reason = 'max_attempts' AND c.max_attempts > "
        "(SELECT count(*) FROM auto_crm_callback_attempt a WHERE a.callback_id = c.id "
        "AND a.outcome IN ('no_answer', 'busy')))",
    ),
]

#: The models the generator writes, for the defaults and recompute checks.
MODELS = [
    "res.partner",
    "auto_crm.vehicle",
    "auto_crm.vehicle.ownership",
    "auto_crm.service.visit",
    "auto_crm.service.visit.line",
    "auto_crm.vehicle.odometer",
    "auto_crm.loyalty.member",
    "auto_crm.loyalty.ledger",
    "auto_crm.loyalty.tier.history",
    "auto_crm.callback",
    "auto_crm.callback.attempt",
    "auto_crm.callback.answer",
]


def check(first_ids):
    """Whole-table SQL assertions, defaults, and an ORM recompute of a random sample. Returns the failures."""
    failures = []
    env.flush_all()
    for label, query in SQL_CHECKS:
        cr.execute(query)
        bad = cr.fetchone()[0]
        print(f"  check {'ok ' if not bad else 'BAD'} {bad:>8} {label}")
        if bad:
            failures.append(label)
    # Every stored field with a default is filled (the ORM's create adds it) on every row this run made
    # (rows made earlier by Odoo itself may predate a column, e.g. fleet's flags on the company's partner).
    for model in MODELS:
        Model = env[model]
        nulls = [
            name
            for name, value in column_defaults(model).items()
            if (value is not None and value is not False) or Model._fields[name].type == "boolean"
        ]
        if nulls:
            cr.execute(
                f'SELECT {", ".join(f"count(*) FILTER (WHERE {name} IS NULL)" for name in nulls)} '
                f'FROM "{Model._table}" WHERE id > %s',
                (first_ids.get(model, 0),),
            )
            empty = {name: n for name, n in zip(nulls, cr.fetchone(), strict=True) if n}
            if empty:
                failures.append(f"{model} defaults")
            print(
                f"  check {'ok ' if not empty else 'BAD'} {sum(empty.values()):>8} {model}: "
                f"empty defaults {empty or ''}"
            )
    # Every link of every row this run made points at an existing row (the COPYs skip the FK triggers).
    for model in MODELS:
        Model = env[model]
        links = [
            (name, env[field.comodel_name]._table)
            for name, field in Model._fields.items()
            if field.type == "many2one" and field.store and field.column_type
        ]
        cr.execute(
            "SELECT "
            + ", ".join(
                f"count(*) FILTER (WHERE t.{name} IS NOT NULL "
                f"AND NOT EXISTS (SELECT 1 FROM {table} x WHERE x.id = t.{name}))"
                for name, table in links
            )
            + " "
            f'FROM "{Model._table}" t WHERE t.id > %s',
            (first_ids.get(model, 0),),
        )
        dangling = {name: n for (name, _table), n in zip(links, cr.fetchone(), strict=True) if n}
        if dangling:
            failures.append(f"{model} links")
        print(
            f"  check {'ok ' if not dangling else 'BAD'} {sum(dangling.values()):>8} {model}: {len(links)} links, "
            f"dangling {dangling or ''}"
        )
    # A random sample of each model, every stored computed field recomputed through the ORM and compared.
    for model in MODELS:
        Model = env[model].sudo()
        fnames = [n for n, f in Model._fields.items() if f.store and f.compute and f.column_type]
        if not fnames:
            continue
        cr.execute(f'SELECT id FROM "{Model._table}" ORDER BY random() LIMIT %s', (CHECK_SAMPLE,))
        ids = sorted(row[0] for row in cr.fetchall())
        if not ids:
            continue
        columns = ", ".join(f'"{n}"' for n in fnames)
        select = f'SELECT id, {columns} FROM "{Model._table}" WHERE id = ANY(%s) ORDER BY id'
        cr.execute(select, (ids,))
        before = cr.fetchall()
        cr.execute("SAVEPOINT gen_recompute")
        try:
            records = Model.browse(ids)
            for fname in fnames:
                env.add_to_compute(Model._fields[fname], records)
            records.flush_recordset(fnames)
            env.flush_all()
            cr.execute(select, (ids,))
            after = cr.fetchall()
        finally:
            cr.execute("ROLLBACK TO SAVEPOINT gen_recompute")
            env.invalidate_all(flush=False)
        wrong = defaultdict(int)
        example = {}
        for old, new in zip(before, after, strict=True):
            for fname, a, b in zip(fnames, old[1:], new[1:], strict=True):
                if a != b and not (isinstance(a, float | int) and isinstance(b, float | int) and abs(a - b) < 0.005):
                    wrong[fname] += 1
                    example.setdefault(fname, (old[0], a, b))
        if wrong:
            failures.append(f"{model} recompute")
        print(
            f"  check {'ok ' if not wrong else 'BAD'} {sum(wrong.values()):>8} {model}: {len(fnames)} stored computed "
            f"fields recomputed on {len(ids)} rows" + (f" differ: {dict(wrong)} e.g. {example}" if wrong else "")
        )
    # The ORM's own constraints on a sample.
    sample = env["auto_crm.vehicle"].search([("vin", "!=", False)], order="id desc", limit=500)
    sample._validate_fields(["vin", "purchase_date", "warranty_end_date"])
    sample.odometer_ids._validate_fields(["value", "date"])
    for partner in sample.partner_id:
        env["res.partner"]._auto_crm_clean_id_card_number(partner.sudo().auto_id_card_number)
    sample.visit_ids._validate_fields(["vehicle_id", "partner_id"])
    callbacks = env["auto_crm.callback"].search([], order="id desc", limit=500)
    callbacks._validate_fields(["date_due", "date_expiry"])
    print(f"  check ok  {0:>8} constraints re-validated on {len(sample)} vehicles, {len(callbacks)} callbacks")
    return failures


main()
