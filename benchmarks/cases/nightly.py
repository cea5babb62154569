"""Benchmark cases of the nightly jobs of auto_crm: each job, as its cron calls it, against its
set-based floor (the same statements written by hand with the thresholds pasted in).

- *nightly: customer segments* — ``res.partner._cron_auto_crm_segments()``: one UPDATE grading
  every customer (value grade, lifecycle stage, 12-month spend and visits, the grading store), then
  completeness, two UPDATEs for every store.
- *nightly: loyalty expiry and tiers* — ``auto_crm.loyalty.member._cron_loyalty_nightly()``: per
  programme the expiry (lock, one INSERT ... UPDATE) and one statement moving the tiers and
  inserting their history.

The generator makes customers and visits but no loyalty: ``prepare`` gives the main store a
programme (three spend tiers over 12 months, points expiring after 12 months) when it has none and
enrols in SQL every customer who is not a member yet, with an earning per visit delivered in the last
24 months (what delivering them would have posted) and the balance that follows. Members start on
the lowest tier with a review date that has passed, so the job moves up whoever qualifies and
re-qualifies the rest. Runs and floors are rolled back after each repetition.

A plain Python file loaded by path (``tools/dev bench``); the ``cases(env)`` interface is the one of
every file of ``benchmarks/cases``.
"""

from dateutil.relativedelta import relativedelta

from odoo.tools import SQL

from odoo.addons.auto_crm.models.auto_crm_service_visit import UNPAID_METHODS
from odoo.addons.auto_crm.models.res_partner import filled_sql

TIERS = [("Bench Silver", 0), ("Bench Gold", 5000), ("Bench Platinum", 20000)]


# ---------------------------------------------------------------------- data
def ensure_loyalty(env):
    """The main store's programme, every active dealer customer of the store a member (SQL, idempotent)."""
    company = env.company
    Program = env["auto_crm.loyalty.program"]
    program = Program._for_company(company)
    if not program:
        program = Program.create(
            {
                "name": "Bench Programme",
                "company_id": company.id,
                "tier_basis": "spend",
                "qualification_months": 12,
                "expiry_months": 12,
                "earn_rate": 0.1,
                "tier_ids": [(0, 0, {"name": name, "threshold": threshold}) for name, threshold in TIERS],
            }
        )
    if not program.tier_ids:
        program.tier_ids = [(0, 0, {"name": name, "threshold": threshold}) for name, threshold in TIERS]
    env.flush_all()
    today = company._auto_crm_today()
    joined = today - relativedelta(months=13)
    cr = env.cr
    cr.execute(
        SQL(
            """
            -- The customers to enrol worked out first, then inserted against the unique index: an anti
            -- join against the table being filled would re-scan it for every row (see STYLE.md).
            WITH todo AS MATERIALIZED (
                SELECT p.id FROM res_partner p
                 WHERE p.auto_customer AND p.active AND (p.company_id = %(company)s OR p.company_id IS NULL)
                EXCEPT
                SELECT partner_id FROM auto_crm_loyalty_member WHERE program_id = %(program)s
            )
            INSERT INTO auto_crm_loyalty_member (partner_id, program_id, company_id, card_number, points_balance,
                                                 active, date_joined, tier_id, tier_date, tier_review_date,
                                                 create_uid, create_date, write_uid, write_date)
            SELECT todo.id, %(program)s, %(company)s, 'BENCH' || lpad(todo.id::text, 10, '0'), 0, TRUE, %(joined)s,
                   %(lowest)s, %(joined)s, %(review)s,
                   %(uid)s, NOW() AT TIME ZONE 'UTC', %(uid)s, NOW() AT TIME ZONE 'UTC'
              FROM todo
            ON CONFLICT DO NOTHING
            """,
            program=program.id,
            company=company.id,
            joined=joined,
            lowest=program.tier_ids.sorted("threshold")[:1].id,
            review=joined + relativedelta(months=program.qualification_months),
            uid=env.uid,
        )
    )
    enrolled = cr.rowcount
    if enrolled:
        # The planner must know the new members (it would scan them once per visit otherwise).
        cr.execute("ANALYZE auto_crm_loyalty_member")
        cr.execute(
            SQL(
                """
                WITH todo AS MATERIALIZED (
                    SELECT v.id FROM auto_crm_service_visit v
                     WHERE v.company_id = %(company)s AND v.state = 'followup' AND v.date_delivered >= %(since)s
                    EXCEPT
                    SELECT visit_id FROM auto_crm_loyalty_ledger WHERE visit_id IS NOT NULL
                ),
                earned AS (
                    INSERT INTO auto_crm_loyalty_ledger (member_id, partner_id, program_id, company_id, date, kind,
                                                         points, amount, visit_id, visit_seq, reason, user_id,
                                                         create_uid, create_date, write_uid, write_date)
                    SELECT m.id, m.partner_id, m.program_id, m.company_id, v.date_delivered::date, 'earn',
                           FLOOR(v.amount_paid * %(rate)s)::int, v.amount_paid, v.id, 1,
                           'Visit ' || v.name || ' delivered',
                           %(uid)s, %(uid)s, NOW() AT TIME ZONE 'UTC', %(uid)s, NOW() AT TIME ZONE 'UTC'
                      FROM todo
                      JOIN auto_crm_service_visit v ON v.id = todo.id
                      JOIN auto_crm_loyalty_member m ON m.partner_id = v.partner_id AND m.program_id = %(program)s
                     WHERE COALESCE(v.payment_method, '') NOT IN %(unpaid)s AND FLOOR(v.amount_paid * %(rate)s) > 0
                 RETURNING member_id, points
                )
                UPDATE auto_crm_loyalty_member m SET points_balance = m.points_balance + e.points
                  FROM (SELECT member_id, SUM(points) AS points FROM earned GROUP BY member_id) e
                 WHERE m.id = e.member_id
                """,
                rate=program.earn_rate,
                uid=env.uid,
                program=program.id,
                company=company.id,
                since=today - relativedelta(months=24),
                unpaid=UNPAID_METHODS,
            )
        )
        cr.execute("ANALYZE auto_crm_loyalty_member")
        cr.execute("ANALYZE auto_crm_loyalty_ledger")
    env.invalidate_all()
    return program


# ---------------------------------------------------------------------- segments
def prepare_segments(env):
    company = env.company.sudo()
    Partner, Vehicle = env["res.partner"], env["auto_crm.vehicle"]
    cr = env.cr
    cr.execute("SELECT COUNT(*) FROM res_partner WHERE auto_customer AND active")
    customers = cr.fetchone()[0]
    # Every store of the group (the generator makes one per 10,000 customers), all on the settings
    # the floor pastes in: the main store's thresholds and completeness standard.
    cr.execute("SELECT DISTINCT company_id FROM res_partner WHERE auto_customer AND company_id IS NOT NULL")
    stores = env["res.company"].sudo().browse(sorted({row[0] for row in cr.fetchall()} | {company.id}))
    standard = Partner._auto_crm_completeness_standard(company)
    for store in stores:
        assert Partner._auto_crm_completeness_standard(store) == standard, f"{store.name}: another standard"
        assert (
            store._auto_crm_segment_rules()[store.id] == company._auto_crm_segment_rules()[company.id]
        ), f"{store.name}: other thresholds"
    return {
        "customers": customers,
        "company": company.id,
        "stores": stores.ids,
        "today": company._auto_crm_today(),
        "uid": env.uid,
        "thresholds": {
            name: company[name]
            for name in (
                "value_grade_a_spend",
                "value_grade_a_visits",
                "value_grade_b_spend",
                "value_grade_b_visits",
                "lifecycle_satisfied_visits",
                "lifecycle_retained_visits",
                "lifecycle_loyal_visits",
                "lifecycle_at_risk_days",
                "lifecycle_lost_days",
            )
        },
        "partner_fields": [Partner._fields[f.name] for f in company.completeness_partner_field_ids],
        "vehicle_fields": [Vehicle._fields[f.name] for f in company.completeness_vehicle_field_ids],
        "profile": company.completeness_profile,
    }


def floor_segments(cr, state):
    """The segments job by hand: one UPDATE with the store's thresholds pasted in (every bench customer
    has its store), then the two completeness UPDATEs of every store."""
    t = state["thresholds"]
    today = state["today"]
    cr.execute(
        SQL(
            """
            UPDATE res_partner p
               SET auto_value_grade = g.grade, auto_lifecycle_stage = g.stage,
                   auto_lifecycle_stage_date = CASE WHEN g.stage IS DISTINCT FROM p.auto_lifecycle_stage
                                                      OR p.auto_lifecycle_stage_date IS NULL
                                                    THEN %(today)s ELSE p.auto_lifecycle_stage_date END,
                   auto_segment_company_id = g.company_id, auto_spend_12m = g.spend, auto_visits_12m = g.visits_12m,
                   write_uid = %(uid)s, write_date = NOW() AT TIME ZONE 'UTC'
              FROM (
                SELECT c.*,
                       CASE WHEN c.spend >= %(a_spend)s OR c.visits_12m >= %(a_visits)s THEN 'A'
                            WHEN c.spend >= %(b_spend)s OR c.visits_12m >= %(b_visits)s THEN 'B'
                            ELSE 'C' END AS grade,
                       CASE WHEN c.visits < 1 THEN 'potential'
                            WHEN c.idle > %(lost)s THEN 'lost'
                            WHEN c.idle > %(at_risk)s THEN 'at_risk'
                            WHEN c.visits >= %(loyal)s THEN 'loyal'
                            WHEN c.visits >= %(retained)s THEN 'retained'
                            WHEN c.visits >= %(satisfied)s THEN 'satisfied'
                            ELSE 'new' END AS stage
                  FROM (
                    SELECT p.id, COALESCE(p.company_id, %(company)s) AS company_id,
                           COALESCE(SUM(v.amount_paid) FILTER (WHERE v.date_delivered >= %(since)s), 0) AS spend,
                           COUNT(v.id) FILTER (WHERE v.date_delivered >= %(since)s) AS visits_12m,
                           COUNT(v.id) AS visits,
                           %(today)s::date - MAX(v.date_delivered)::date AS idle
                      FROM res_partner p
                      LEFT JOIN auto_crm_service_visit v
                             ON v.partner_id = p.id AND v.state = 'followup' AND v.date_delivered IS NOT NULL
                     WHERE p.auto_customer AND p.active
                  GROUP BY p.id
                  ) c
              ) g
             WHERE p.id = g.id
               AND (p.auto_value_grade, p.auto_lifecycle_stage, p.auto_segment_company_id, p.auto_spend_12m,
                    p.auto_visits_12m) IS DISTINCT FROM (g.grade, g.stage, g.company_id, g.spend, g.visits_12m)
            """,
            today=today,
            since=today - relativedelta(months=12),
            uid=state["uid"],
            company=state["company"],
            a_spend=t["value_grade_a_spend"],
            a_visits=t["value_grade_a_visits"],
            b_spend=t["value_grade_b_spend"],
            b_visits=t["value_grade_b_visits"],
            lost=t["lifecycle_lost_days"],
            at_risk=t["lifecycle_at_risk_days"],
            loyal=t["lifecycle_loyal_visits"],
            retained=t["lifecycle_retained_visits"],
            satisfied=t["lifecycle_satisfied_visits"],
        )
    )
    vehicle_fields, partner_fields = state["vehicle_fields"], state["partner_fields"]
    vehicle_score = (
        SQL(
            "(100.0 * (%s) / %s)",
            SQL(" + ").join(SQL("(%s)::int", filled_sql("v", f)) for f in vehicle_fields),
            len(vehicle_fields),
        )
        if vehicle_fields
        else SQL("100.0")
    )
    cr.execute(
        SQL(
            """
            UPDATE auto_crm_vehicle v SET completeness_score = %(score)s,
                   write_uid = %(uid)s, write_date = NOW() AT TIME ZONE 'UTC'
              FROM res_partner o
             WHERE o.id = v.partner_id AND o.auto_segment_company_id = ANY(%(stores)s)
               AND v.completeness_score IS DISTINCT FROM %(score)s
            """,
            score=vehicle_score,
            uid=state["uid"],
            stores=state["stores"],
        )
    )
    total = len(partner_fields) + len(vehicle_fields) + (1 if state["profile"] else 0)
    filled = (
        SQL(" + ").join(SQL("(%s)::int", filled_sql("p", f)) for f in partner_fields) if partner_fields else SQL("0")
    )
    profile = (
        SQL("(CASE p.auto_profile_state WHEN 'confirmed' THEN 1.0 WHEN 'verified' THEN 0.5 ELSE 0 END)")
        if state["profile"]
        else SQL("0")
    )
    cr.execute(
        SQL(
            """
            UPDATE res_partner p SET auto_completeness_score = s.score,
                   write_uid = %(uid)s, write_date = NOW() AT TIME ZONE 'UTC'
              FROM (
                SELECT p.id, ROUND((100.0 * ((%(filled)s) + %(profile)s + COALESCE(veh.avg, 0) / 100.0 * %(nv)s)
                                    / %(total)s)::numeric, 1) AS score
                  FROM res_partner p
                  LEFT JOIN (SELECT partner_id, AVG(completeness_score) AS avg FROM auto_crm_vehicle
                              WHERE active AND partner_id IS NOT NULL GROUP BY partner_id) veh ON veh.partner_id = p.id
                 WHERE p.auto_customer AND p.active AND p.auto_segment_company_id = ANY(%(stores)s)
              ) s
             WHERE p.id = s.id AND p.auto_completeness_score IS DISTINCT FROM s.score
            """,
            filled=filled,
            profile=profile,
            nv=len(vehicle_fields),
            total=total or 1,
            uid=state["uid"],
            stores=state["stores"],
        )
    )


# ---------------------------------------------------------------------- loyalty
def prepare_loyalty(env):
    ensure_loyalty(env)
    cr = env.cr
    # every programme of the group, as the job takes them (one per store of the generated group)
    programs = env["auto_crm.loyalty.program"].sudo().search([], order="id")
    states = []
    for program in programs:
        company = program.company_id
        tiers = program.tier_ids.filtered("active").sorted("threshold")
        cr.execute("SELECT COUNT(*) FROM auto_crm_loyalty_member WHERE program_id = %s AND active", [program.id])
        states.append(
            {
                "members": cr.fetchone()[0],
                "program": program.id,
                "company": company.id,
                "today": company._auto_crm_today(),
                "uid": env.uid,
                "expiry_months": program.expiry_months,
                "qualification_months": program.qualification_months,
                "tiers": [(tier.id, tier.threshold, tier.name) for tier in tiers],
                "basis": program.tier_basis,
            }
        )
    return {"programs": states, "members": sum(state["members"] for state in states)}


def floor_loyalty(cr, state):
    """The loyalty job by hand, programme by programme as the job goes: the expiry (lock, one INSERT ...
    UPDATE) and one statement moving the tiers (a CASE over the pasted thresholds) and inserting the
    history."""
    for program_state in state["programs"]:
        if program_state["expiry_months"] > 0:
            floor_expiry(cr, program_state)
        if program_state["tiers"] and program_state["members"]:
            floor_tiers(cr, program_state)


def floor_expiry(cr, state):
    today, program = state["today"], state["program"]
    cr.execute(
        "SELECT id FROM auto_crm_loyalty_member WHERE program_id = %s AND points_balance > 0 ORDER BY id FOR UPDATE",
        [program],
    )
    cutoff = today - relativedelta(months=state["expiry_months"])
    cr.execute(
        """
        WITH expired AS (
            INSERT INTO auto_crm_loyalty_ledger (member_id, partner_id, program_id, company_id, date, kind, points,
                                                 reason, user_id, create_uid, create_date, write_uid, write_date)
            SELECT m.id, m.partner_id, m.program_id, m.company_id, %(today)s, 'expire', -t.expiring, 'expired',
                   %(uid)s, %(uid)s, NOW() AT TIME ZONE 'UTC', %(uid)s, NOW() AT TIME ZONE 'UTC'
              FROM (SELECT member_id,
                           LEAST(COALESCE(SUM(points) FILTER (WHERE points > 0 AND date < %(cutoff)s), 0)
                                 + COALESCE(SUM(points) FILTER (WHERE points < 0), 0), SUM(points)) AS expiring
                      FROM auto_crm_loyalty_ledger WHERE program_id = %(program)s GROUP BY member_id) t
              JOIN auto_crm_loyalty_member m ON m.id = t.member_id
             WHERE t.expiring > 0
            ON CONFLICT DO NOTHING
         RETURNING member_id, points
        )
        UPDATE auto_crm_loyalty_member m SET points_balance = m.points_balance + expired.points
          FROM expired WHERE m.id = expired.member_id
        """,
        {"today": today, "cutoff": cutoff, "program": program, "uid": state["uid"]},
    )


def floor_tiers(cr, state):
    today, program = state["today"], state["program"]
    tiers = state["tiers"]
    case = SQL(
        "CASE %s ELSE %s END",
        SQL(" ").join(SQL("WHEN x.value >= %s THEN %s", threshold, tid) for tid, threshold, _n in reversed(tiers[1:])),
        tiers[0][0],
    )
    review = today + relativedelta(months=state["qualification_months"])
    since = today - relativedelta(months=state["qualification_months"])
    if state["basis"] == "points":
        metric = SQL(
            "LEFT JOIN auto_crm_loyalty_ledger v ON v.member_id = m.id AND v.kind = 'earn' AND v.date >= %s", since
        )
        value = SQL("v.points")
    else:
        metric = SQL(
            "LEFT JOIN auto_crm_service_visit v ON v.partner_id = m.partner_id AND v.company_id = %s "
            "AND v.state = 'followup' AND v.date_delivered >= %s AND COALESCE(v.payment_method, '') NOT IN %s",
            state["company"],
            since,
            UNPAID_METHODS,
        )
        value = SQL("v.amount_paid")
    cr.execute(
        SQL(
            """
            WITH d AS MATERIALIZED (
                SELECT e.*, CASE WHEN e.old_tier_id IS NOT NULL AND t.threshold = ct.threshold
                                   THEN CASE WHEN e.review IS NOT NULL AND e.review <= %(today)s THEN 'extend' END
                                 WHEN e.old_tier_id IS NULL OR t.threshold > ct.threshold THEN 'up'
                                 WHEN e.review IS NULL OR e.review <= %(today)s THEN 'down' END AS move
                  FROM (
                    SELECT x.*, %(case)s AS new_tier_id
                      FROM (SELECT m.id, m.partner_id, m.company_id, m.tier_id AS old_tier_id,
                                   m.tier_review_date AS review, COALESCE(SUM(%(value)s), 0) AS value
                              FROM auto_crm_loyalty_member m
                              %(metric)s
                             WHERE m.program_id = %(program)s AND m.active
                          GROUP BY m.id) x
                  ) e
                  JOIN auto_crm_loyalty_tier t ON t.id = e.new_tier_id
                  LEFT JOIN auto_crm_loyalty_tier ct ON ct.id = e.old_tier_id
            ),
            u AS (
                UPDATE auto_crm_loyalty_member m
                   SET tier_id = CASE WHEN d.move = 'extend' THEN m.tier_id ELSE d.new_tier_id END,
                       tier_date = CASE WHEN d.move = 'extend' THEN m.tier_date ELSE %(today)s END,
                       tier_review_date = %(review)s, write_uid = %(uid)s, write_date = NOW() AT TIME ZONE 'UTC'
                  FROM d WHERE m.id = d.id AND d.move IS NOT NULL
            )
            INSERT INTO auto_crm_loyalty_tier_history (member_id, partner_id, company_id, date, old_tier_id,
                                                       new_tier_id, direction, metric, reason, create_uid,
                                                       create_date, write_uid, write_date)
            SELECT d.id, d.partner_id, d.company_id, %(today)s, d.old_tier_id, d.new_tier_id, d.move, d.value,
                   'Over 12 months: ' || to_char(d.value, 'FM999,999,999,999,990'),
                   %(uid)s, NOW() AT TIME ZONE 'UTC', %(uid)s, NOW() AT TIME ZONE 'UTC'
              FROM d WHERE d.move IN ('up', 'down')
            """,
            case=case,
            today=today,
            metric=metric,
            value=value,
            review=review,
            program=program,
            uid=state["uid"],
        )
    )


def cases(env):
    return [
        {
            "name": "nightly: customer segments",
            "prepare": prepare_segments,
            "run": lambda env, state: env["res.partner"]._cron_auto_crm_segments(),
            "floor": floor_segments,
            "target": 1.5,
            "rollback": True,
        },
        {
            "name": "nightly: loyalty expiry and tiers",
            "prepare": prepare_loyalty,
            "run": lambda env, state: env["auto_crm.loyalty.member"]._cron_loyalty_nightly(),
            "floor": floor_loyalty,
            "target": 1.5,
            "rollback": True,
        },
    ]
