"""Benchmark case of the reminder rules (issue 13): the callback engine running the six reminder rules
on the bench's day, as the nightly job runs them, against a set-based floor written by hand.

- *nightly: reminders, six rules* — ``auto_crm.callback.engine._run_rules(rules, today=...)`` over six
  group-wide rules the case creates: next service by the forecast (``service_due``, 14 days before),
  warranty ending (``warranty_end``, 30 days before), insurance renewal (``insurance_expiry``, 30 days
  before), annual inspection (``annual_inspection``, 21 days before), birthday (``birthday``, 7 days
  before) and maintenance due by months or km since the last visit (``maintenance_due``, on the day);
  window 7 days, no first day (the whole window is called), assigned to the customer's manager, else
  the administrator (never to the advisor of the visit the call is about, issue 15). The engine plans
  and runs each rule as one statement (the job run, the lock, the statistics refresh, the run lines):
  the number of queries does not depend on the number of cars.
- The floor: ONE statement that inserts the same callbacks: the four car triggers each read by its
  date (two of them indexed), the birthdays, the last visit of each car with its odometer since the
  last replacement, the eligible customers (active, not do-not-disturb, consenting), each customer's
  first due row per rule and store, kept when the customer has no open callback in the store and is
  below the store's contact pressure (N calls due within D days), the first rule in the engine's order
  winning, inserted ``ON CONFLICT DO NOTHING`` (the unique (rule, source) index, the one-open
  constraint). With the engine of issue 13's reminders (``auto_crm.callback.reminder`` installed) the
  rules use the customer's preferred channel (the floor takes the engine's expression of the channel,
  issue 14's fallbacks included; a customer reachable on none is not called) and the floor writes the
  reminder lines too: each rule's
  rows of a customer on the call that rule made, or merged into the customer's open call not started
  yet, or the call an earlier rule of the run made, when it is due the same week.

``prepare`` (once, rolled back with the case) runs the nightly service forecast (the generator leaves
the forecast dates empty), gives every car without one an insurance policy renewed on each anniversary
of its purchase (the generator makes none), refreshes the planner statistics as a run would, creates
the rules, then runs the engine and the floor once each (untimed, rolled back) and checks that they
wrote the same callbacks and reminder lines, field by field. Runs and floors are rolled back after
each repetition; each floor asserts that it created as many callbacks as the engine's run before it.

A plain Python file loaded by path (``tools/dev bench``); the ``cases(env)`` interface is the one of
every file of ``benchmarks/cases``.
"""

import datetime

from dateutil.relativedelta import relativedelta

from odoo.tools import SQL

#: (trigger, days before the event, or for maintenance_due the days after it): the engine's order.
RULES = [
    ("service_due", 14),
    ("warranty_end", 30),
    ("insurance_expiry", 30),
    ("annual_inspection", 21),
    ("birthday", 7),
    ("maintenance_due", 0),
]
WINDOW = 7


def merges(env):
    """Whether the engine gives reminders of the same week to one call (issue 13: a line per reminder in
    auto_crm.callback.reminder); the floor then writes those lines too."""
    return "auto_crm.callback.reminder" in env


def prepare(env):
    env.flush_all()
    today = env.company._auto_crm_today()
    env["auto_crm.vehicle"]._cron_service_forecast()
    env.flush_all()
    # A yearly policy: the current one ends on the next anniversary of the purchase.
    env.cr.execute(
        """UPDATE auto_crm_vehicle
              SET insurance_expiry = (purchase_date + make_interval(
                                          years => EXTRACT(YEAR FROM AGE(%s, purchase_date))::int + 1))::date
            WHERE insurance_expiry IS NULL AND purchase_date IS NOT NULL""",
        [today],
    )
    env.invalidate_all()
    env["auto_crm.callback.engine"]._refresh_statistics()
    admin = env.ref("base.user_admin")
    # The customer's preferred channel when the engine knows it (issue 13), else the phone.
    channels = dict(env["auto_crm.callback.rule"]._fields["channel"].selection)
    channel = "preferred" if "preferred" in channels else "phone"
    rules = env["auto_crm.callback.rule"].create(
        [
            {
                "name": f"Reminder bench: {trigger}",
                "trigger": trigger,
                "active": True,
                "company_id": False,
                "date_start": False,
                "days_before": days if trigger != "maintenance_due" else 0,
                "delay_days": days if trigger == "maintenance_due" else 0,
                "window_days": WINDOW,
                "assignment": "manager",
                "user_id": admin.id,
                "channel": channel,
                "domain": "[]",
            }
            for trigger, days in RULES
        ]
    )
    env.flush_all()
    state = {"rules": rules, "today": today, "floor_sql": floor_sql(env, rules, today), "engine": [], "floor": []}
    check_same_callbacks(env, state)
    return state


#: What engine and floor must both write on every callback (the ids and timestamps aside).
COMPARED = """rule_id, questionnaire_id, company_id, partner_id, vehicle_id, visit_id, source_model, source_id,
              source_period, user_id, team_id, channel, state, date_due, date_expiry, max_attempts, name"""


#: ... and on every reminder line (issue 13).
REMINDER_COMPARED = """reminder.company_id, reminder.rule_id, reminder.trigger, reminder.source_model,
                       reminder.source_id, reminder.source_period, reminder.partner_id, reminder.vehicle_id,
                       reminder.date_due, reminder.merged"""


def check_same_callbacks(env, state):
    """Once, untimed: the engine's callbacks and the floor's are the same rows, field by field (each
    made in a savepoint rolled back afterwards)."""
    cr = env.cr
    cr.execute("SELECT COALESCE(max(id), 0) FROM auto_crm_callback")
    before = cr.fetchone()[0]
    made = []
    for make in (lambda: run(env, state), lambda: execute_floor(cr, state)):
        cr.execute("SAVEPOINT reminders_check")
        try:
            make()
            env.flush_all()
            cr.execute(f"SELECT {COMPARED} FROM auto_crm_callback WHERE id > %s", [before])
            rows = set(cr.fetchall())
            if merges(env):
                # a reminder's call named by its rule and source (the ids differ)
                cr.execute(
                    f"""SELECT {REMINDER_COMPARED}, call.rule_id, call.source_id, call.source_period, call.state
                          FROM auto_crm_callback_reminder reminder
                          JOIN auto_crm_callback call ON call.id = reminder.callback_id
                         WHERE reminder.rule_id IN %s""",
                    [tuple(state["rules"].ids)],
                )
                rows |= {("reminder", *row) for row in cr.fetchall()}
            made.append(rows)
        finally:
            cr.execute("ROLLBACK TO SAVEPOINT reminders_check")
            env.clear()
    state["engine"].clear()
    engine, floor_rows = made
    if engine != floor_rows:
        raise AssertionError(
            f"engine and floor differ: {len(engine)} and {len(floor_rows)} callbacks and reminders, "
            f"only the engine's: {sorted(engine - floor_rows, key=str)[:3]}, "
            f"only the floor's: {sorted(floor_rows - engine, key=str)[:3]}"
        )


def run(env, state):
    lines = env["auto_crm.callback.engine"]._run_rules(state["rules"], today=state["today"])
    failed = lines.filtered(lambda line: line.state != "done")
    if failed:
        raise AssertionError(f"rules not done: {[(line.rule_id.name, line.message) for line in failed]}")
    per_rule = {line.rule_id.trigger: line.created_count for line in lines}
    state["engine"].append(per_rule)
    return sum(per_rule.values())


def execute_floor(cr, state):
    """The floor's statement. Its CTEs are estimated at a few rows (the due sets are worked out in the
    statement), so the planner nests loops over them: at a million cars (~50,000 rows due) the joins of
    the calls, the targets and the reminders took minutes. Hash joins, for this statement only (SET LOCAL
    in the repetition's savepoint, undone by its rollback)."""
    cr.execute("SET LOCAL enable_nestloop = off")
    cr.execute(state["floor_sql"])


def floor(cr, state):
    execute_floor(cr, state)
    created, reminded = cr.fetchone()
    engine = sum(state["engine"][-1].values())
    if created != engine:
        raise AssertionError(f"the floor created {created} callbacks, the engine {engine}")
    if not state["floor"]:
        print(
            f"    reminders: {created:,} callbacks created by engine and floor "
            f"({', '.join(f'{t} {n:,}' for t, n in state['engine'][-1].items())})"
            + (f"; {reminded:,} reminder lines" if reminded else ""),
            flush=True,
        )
    state["floor"].append(created)
    return created


def floor_sql(env, rules, today):
    """The one statement of the floor, for these rules (in the engine's order) on this day."""
    Engine = env["auto_crm.callback.engine"]
    by_trigger = {rule.trigger: rule for rule in rules}
    low = today - relativedelta(days=WINDOW)

    def offset(trigger):
        rule = by_trigger[trigger]
        return (rule._next_due_date(today) - today).days

    # The events whose due day (event + offset) falls in [low, today].
    def ev(trigger):
        return low - relativedelta(days=offset(trigger)), today - relativedelta(days=offset(trigger))

    maintenance = by_trigger["maintenance_due"]
    m_low, m_high = ev("maintenance_due")
    since = datetime.datetime.combine(
        m_low - relativedelta(months=maintenance.maintenance_months, days=4), datetime.time.min
    )
    b_low, b_high = ev("birthday")
    years = sorted({b_low.year - 1, b_low.year, b_high.year, b_high.year + 1})
    seq = {rule.id: n for n, rule in enumerate(rules, 1)}
    rule_rows = SQL(", ").join(
        SQL(
            "(%s, %s, %s::varchar, %s::varchar, %s, %s::varchar)",
            seq[rule.id],
            rule.id,
            rule.name,
            "res.partner"
            if rule.trigger == "birthday"
            else "auto_crm.service.visit"
            if rule.trigger == "maintenance_due"
            else "auto_crm.vehicle",
            rule.max_attempts,
            rule.trigger,
        )
        for rule in rules
    )
    # The four car triggers, each read by its own date (one range each: an index, when there is one).
    car_rows = []
    for trigger, day, period, workshop in (
        ("service_due", "next_service_date", "v.next_service_mileage", True),
        ("warranty_end", "warranty_end_date", "EXTRACT(YEAR FROM v.warranty_end_date)::int", False),
        ("insurance_expiry", "insurance_expiry", "EXTRACT(YEAR FROM v.insurance_expiry)::int", False),
        (
            "annual_inspection",
            "next_inspection_date",
            "(EXTRACT(YEAR FROM v.next_inspection_date) * 100 + EXTRACT(MONTH FROM v.next_inspection_date))::int",
            True,
        ),
    ):
        e_low, e_high = ev(trigger)
        in_workshop = SQL("FALSE")
        if workshop:  # a car in the workshop now is not called
            in_workshop = SQL(
                """EXISTS (SELECT 1 FROM auto_crm_service_visit open_visit
                            WHERE open_visit.vehicle_id = v.id
                              AND open_visit.state NOT IN ('appointment', 'followup', 'cancel'))"""
            )
        car_rows.append(
            SQL(
                """SELECT %(seq)s, v.id, %(period)s, v.partner_id, v.id, NULL::int, v.company_id, v.%(day)s + %(off)s
                     FROM auto_crm_vehicle v
                    WHERE v.active AND v.partner_id IS NOT NULL AND v.%(day)s BETWEEN %(low)s AND %(high)s
                      AND NOT %(in_workshop)s""",
                seq=seq[by_trigger[trigger].id],
                period=SQL(period),
                day=SQL.identifier(day),
                off=offset(trigger),
                low=e_low,
                high=e_high,
                in_workshop=in_workshop,
            )
        )
    tz = Engine._store(maintenance)._auto_crm_tz_name()
    # The channel of a customer's call: every rule has the same channel and fallbacks, so one expression.
    # The engine's own (the customer's preferred channel, else the first fallback they can be reached on,
    # issues 13 and 14: a per-row expression, no plan of its own); NULL = not called.
    channel_sql = getattr(Engine, "_channel_sql", None)
    channel = channel_sql(rules[0]) if channel_sql else SQL("%s::varchar", rules[0].channel)
    reminded = SQL("reminded AS (SELECT 1 WHERE FALSE)")
    if merges(env):
        # Each rule's rows of a customer become the reminders of a call: the call the rule made for the
        # customer, a call the customer had open, not started, with a due date in the same week (merged), or
        # the call an earlier rule of the run made for them, due the same week (merged).
        reminded = SQL(
            """target AS (
                SELECT checked.seq, checked.partner_id, checked.store, checked.open_id AS callback_id, TRUE AS merged
                  FROM checked
                 WHERE checked.open_state = 'todo'
                   AND date_trunc('week', checked.open_due) = date_trunc('week', checked.date_due)
                UNION ALL
                SELECT checked.seq, checked.partner_id, checked.store, inserted.id, checked.seq <> chosen.seq
                  FROM checked
                  JOIN chosen ON chosen.partner_id = checked.partner_id AND chosen.store = checked.store
                  JOIN inserted ON inserted.partner_id = chosen.partner_id AND inserted.company_id = chosen.store
                 WHERE checked.open_id IS NULL
                   AND (checked.seq = chosen.seq
                        OR (checked.seq > chosen.seq
                            AND date_trunc('week', chosen.date_due) = date_trunc('week', checked.date_due)))
            ),
            reminded AS (
                INSERT INTO auto_crm_callback_reminder (
                       callback_id, company_id, rule_id, trigger, source_model, source_id, source_period,
                       partner_id, vehicle_id, date_due, merged, create_uid, create_date, write_uid, write_date)
                SELECT target.callback_id, fresh.store, rule.id, rule.trigger, rule.source_model, fresh.source_id,
                       fresh.source_period, fresh.partner_id, fresh.vehicle_id, fresh.date_due, target.merged,
                       %(uid)s, now() AT TIME ZONE 'UTC', %(uid)s, now() AT TIME ZONE 'UTC'
                  FROM fresh
                  JOIN target ON target.seq = fresh.seq AND target.partner_id = fresh.partner_id
                       AND target.store = fresh.store
                  JOIN rule ON rule.seq = fresh.seq
                ON CONFLICT DO NOTHING
                RETURNING 1)""",
            uid=env.uid,
        )
    return SQL(
        """
        WITH rule (seq, id, name, source_model, max_attempts, trigger) AS (VALUES %(rule_rows)s),
        due AS MATERIALIZED (
            SELECT seq, source_id, source_period, partner_id, vehicle_id, visit_id, company_id, date_due
              FROM (%(car_rows)s) car (seq, source_id, source_period, partner_id, vehicle_id, visit_id, company_id,
                                       date_due)
            UNION ALL
            SELECT %(b_seq)s, p.id, bd.year, p.id, NULL, NULL, p.company_id, bd.day + %(b_off)s
              FROM res_partner p
             CROSS JOIN LATERAL (
                   SELECT yr AS year,
                          (make_date(yr, EXTRACT(MONTH FROM p.auto_birthday)::int, 1)
                           + (LEAST(EXTRACT(DAY FROM p.auto_birthday)::int,
                                    EXTRACT(DAY FROM (make_date(yr, EXTRACT(MONTH FROM p.auto_birthday)::int, 1)
                                                      + interval '1 month - 1 day'))::int) - 1)) AS day
                     FROM unnest(%(years)s::int[]) AS yr) bd
             WHERE p.active AND p.auto_customer AND p.auto_birthday IS NOT NULL
               AND bd.day BETWEEN %(b_low)s AND %(b_high)s
            UNION ALL
            SELECT %(m_seq)s, last.id, 0, car.partner_id, last.vehicle_id, last.id, last.company_id,
                   LEAST((last.service_day + make_interval(months => %(months)s))::date,
                         CASE WHEN odo.last_date > odo.first_date AND odo.last_value > odo.first_value
                              THEN odo.last_date + CEIL((last.mileage_in + %(km)s - odo.last_value)::numeric
                                                        * (odo.last_date - odo.first_date)
                                                        / (odo.last_value - odo.first_value))::int END)
                   + %(m_off)s
              FROM (SELECT DISTINCT ON (visit.vehicle_id) visit.id, visit.vehicle_id, visit.company_id,
                           visit.mileage_in, (visit.date_delivered AT TIME ZONE 'UTC' AT TIME ZONE %(tz)s)::date
                               AS service_day
                      FROM auto_crm_service_visit visit
                     WHERE visit.state = 'followup' AND visit.date_delivered >= %(since)s
                     ORDER BY visit.vehicle_id, visit.date_delivered DESC, visit.id DESC) last
              JOIN auto_crm_vehicle car ON car.id = last.vehicle_id AND car.active AND car.partner_id IS NOT NULL
              LEFT JOIN LATERAL (
                   SELECT min(r.date) AS first_date, max(r.date) AS last_date,
                          (array_agg(r.value ORDER BY r.date, r.id))[1] AS first_value,
                          (array_agg(r.value ORDER BY r.date DESC, r.id DESC))[1] AS last_value
                     FROM auto_crm_vehicle_odometer r
                    WHERE r.vehicle_id = last.vehicle_id
                      AND r.date >= COALESCE((SELECT max(reset.date) FROM auto_crm_vehicle_odometer reset
                                               WHERE reset.vehicle_id = last.vehicle_id AND reset.is_replacement),
                                             '-infinity'::date)) odo ON TRUE
             WHERE NOT EXISTS (SELECT 1 FROM auto_crm_service_visit open_visit
                                WHERE open_visit.vehicle_id = last.vehicle_id
                                  AND open_visit.state NOT IN ('followup', 'cancel'))
        ),
        fresh AS (
            SELECT due.*, COALESCE(due.company_id, %(company)s) AS store, partner.name AS partner_name,
                   partner.auto_customer_manager_id AS manager_id, %(channel)s AS channel
              FROM due
              JOIN res_partner partner ON partner.id = due.partner_id AND partner.active
                   AND NOT COALESCE(partner.auto_do_not_disturb, FALSE)
                   AND COALESCE(partner.auto_callback_consent, FALSE)
             WHERE due.date_due BETWEEN %(low)s AND %(today)s AND %(channel)s IS NOT NULL
        ),
        first AS MATERIALIZED (
            SELECT DISTINCT ON (fresh.seq, fresh.partner_id, fresh.store) fresh.*
              FROM fresh
             ORDER BY fresh.seq, fresh.partner_id, fresh.store, fresh.date_due, fresh.source_id
        ),
        checked AS MATERIALIZED (
            SELECT first.*, open_call.id AS open_id, open_call.state AS open_state, open_call.date_due AS open_due,
                   COALESCE(shop.callback_pressure_calls, 0) > 0
                       AND (SELECT count(*) FROM auto_crm_callback recent
                             WHERE recent.partner_id = first.partner_id AND recent.company_id = first.store
                               AND recent.state != 'cancel'
                               AND recent.date_due > first.date_due - COALESCE(shop.callback_pressure_days, 1))
                           >= shop.callback_pressure_calls AS over_pressure
              FROM first
              JOIN res_company shop ON shop.id = first.store
              LEFT JOIN auto_crm_callback open_call ON open_call.partner_id = first.partner_id
                   AND open_call.company_id = first.store AND open_call.state IN ('todo', 'in_progress')
        ),
        chosen AS (
            SELECT DISTINCT ON (checked.partner_id, checked.store) checked.*
              FROM checked
             WHERE checked.open_id IS NULL AND NOT checked.over_pressure
             ORDER BY checked.partner_id, checked.store, checked.seq
        ),
        inserted AS (
            INSERT INTO auto_crm_callback (
                   name, rule_id, questionnaire_id, company_id, partner_id, vehicle_id, visit_id,
                   source_model, source_id, source_period, user_id, team_id, channel, state,
                   date_due, date_expiry, max_attempts, overall_score, customer_complains,
                   create_uid, create_date, write_uid, write_date)
            SELECT rule.name || ': ' || chosen.partner_name, rule.id, NULL, chosen.store, chosen.partner_id,
                   chosen.vehicle_id, chosen.visit_id, rule.source_model, chosen.source_id, chosen.source_period,
                   NULLIF(COALESCE(chosen.manager_id, %(admin)s), advisor.advisor_id), NULL, chosen.channel, 'todo',
                   chosen.date_due,
                   chosen.date_due + %(window)s, rule.max_attempts, 0, FALSE,
                   %(uid)s, now() AT TIME ZONE 'UTC', %(uid)s, now() AT TIME ZONE 'UTC'
              FROM chosen JOIN rule ON rule.seq = chosen.seq
              -- (independence, issue 15: a visit's advisor never does its callback)
              LEFT JOIN auto_crm_service_visit advisor ON advisor.id = chosen.visit_id
            ON CONFLICT DO NOTHING
            RETURNING id, partner_id, company_id
        ),
        %(reminded)s
        SELECT (SELECT count(*) FROM inserted), (SELECT count(*) FROM reminded)
        """,
        rule_rows=rule_rows,
        car_rows=SQL(" UNION ALL ").join(car_rows),
        b_seq=seq[by_trigger["birthday"].id],
        b_off=offset("birthday"),
        years=years,
        b_low=b_low,
        b_high=b_high,
        m_seq=seq[maintenance.id],
        months=maintenance.maintenance_months,
        km=maintenance.maintenance_km,
        m_off=offset("maintenance_due"),
        tz=tz,
        since=since,
        company=env.company.id,
        low=low,
        today=today,
        admin=env.ref("base.user_admin").id,
        window=WINDOW,
        uid=env.uid,
        channel=channel,
        reminded=reminded,
    )


def cases(env):
    env.cr.execute("SELECT COUNT(*) FROM auto_crm_vehicle WHERE active")
    cars = env.cr.fetchone()[0]
    return [
        {
            "name": "nightly: reminders, six rules",
            "prepare": prepare,
            "run": run,
            "floor": floor,
            "target": 2.0,
            "rollback": True,
            "n": cars,
        },
    ]
