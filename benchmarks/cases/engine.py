"""Benchmark cases of the callback engine (loaded by path by the benchmark command).

Every case runs one rule the way *Run Now* and the daily job run it
(``auto_crm.callback.engine._run(rule)``: the job run, the planner-statistics refresh, the plan, the
rule's one statement, the run lines) against its raw SQL floor:

- first run on freshly inserted due visits (10 % of the database's visits, delivered three days
  before the store's day, inserted with SQL in ``prepare``, not analysed) vs ONE hand-written
  ``INSERT ... SELECT`` producing the same callbacks (target 1.3): since issue 12 with the same
  contact pressure conditions (each customer's first due visit per store, no open callback, fewer
  than the store's N calls due within D days) and the rule's first day;
- second run (nothing new) vs the same statement's SELECT counted (target 2.0);
- win-back rule (180 days without a visit), a daily run, vs the hand-written insert of the same
  callbacks (reported; its cost follows its 15-day event window, not the history);
- "big": first run on 200,000 freshly inserted visits with no ANALYZE (a data migration) vs the
  same ``INSERT ... SELECT`` (target 1.3).

``prepare`` inserts with SQL what a case needs and records it; ``cleanup`` deletes it again (the
harness also rolls back: run and floor each run in a savepoint).
"""

import datetime
import itertools

SERVICE_RULE = "auto_crm.callback_rule_service_delivered"
WIN_BACK_RULE = "auto_crm.callback_rule_no_visit"
BIG_VISITS = 200_000
_tags = itertools.count(1)


def _rule(env, xmlid):
    return env.ref(xmlid).sudo()


def _day(env, rule):
    Engine = env["auto_crm.callback.engine"]
    return Engine._store_today(rule), Engine._store(rule)._auto_crm_tz_name()


def _insert_delivered_visits(env, count, days_ago):
    """count new delivered visits on the existing cars (cycling through them), delivered at 10:00
    store time days_ago days before the store's day; with SQL, not analysed. Returns their tag."""
    rule = _rule(env, SERVICE_RULE)
    today, tz = _day(env, rule)
    tag = f"ENGBENCH{next(_tags)}-{datetime.datetime.now():%H%M%S}"
    env.flush_all()
    env.cr.execute(
        """WITH car AS (SELECT id, company_id, partner_id, row_number() OVER (ORDER BY id) - 1 AS rn
                          FROM auto_crm_vehicle WHERE active AND partner_id IS NOT NULL),
                cars AS (SELECT count(*) AS total FROM car),
                at AS (SELECT (((%(day)s::date + time '10:00') AT TIME ZONE %(tz)s) AT TIME ZONE 'UTC') AS ts)
           INSERT INTO auto_crm_service_visit (
                  name, company_id, partner_id, vehicle_id, state, visit_type, mileage_in,
                  date_appointment, date_reception, date_delivered, amount_labour, amount_parts, amount_total,
                  amount_paid, payment_method, kanban_state, inspection_failures,
                  create_date, write_date, create_uid, write_uid)
           SELECT %(tag)s || '/' || n, COALESCE(car.company_id, %(company)s), car.partner_id, car.id, 'followup',
                  'maintenance', 10000, at.ts - interval '2 hours', at.ts - interval '1 hour', at.ts,
                  260, 398, 658, 658, 'mobile', 'normal', 0, now(), now(), 1, 1
             FROM generate_series(0, %(count)s - 1) AS n
             CROSS JOIN cars CROSS JOIN at
             JOIN car ON car.rn = n %% cars.total""",
        {
            "day": today - datetime.timedelta(days=days_ago),
            "tz": tz,
            "tag": tag,
            "count": count,
            "company": env.company.id,
        },
    )
    return tag


def _run_rule(env, xmlid):
    rule = _rule(env, xmlid)
    run = env["auto_crm.callback.engine"]._run(rule)
    env.flush_all()
    return sum(run.line_ids.mapped("created_count"))


#: The statement both floors share: the due visits of eligible customers (active, not do-not-disturb,
#: consenting) not yet called by the rule (``%(where)s``: each floor's due day and conditions), each
#: customer's first due visit per store (DISTINCT ON), inserted when the customer has no open callback
#: in the store and fewer than the store's N calls due within D days (contact pressure, issue 12).
_INSERT = """WITH due_visit AS (
             SELECT DISTINCT ON (visit.partner_id, visit.company_id)
                    visit.id, visit.partner_id, visit.company_id, visit.vehicle_id, partner.name AS partner_name,
                    due.day
               FROM auto_crm_service_visit visit
               JOIN res_partner partner ON partner.id = visit.partner_id AND partner.active
                    AND NOT COALESCE(partner.auto_do_not_disturb, FALSE)
                    AND COALESCE(partner.auto_callback_consent, FALSE)
              CROSS JOIN LATERAL (SELECT %(day)s AS day) due
              WHERE %(where)s
                AND due.day >= %(since)s
                AND NOT EXISTS (SELECT 1 FROM auto_crm_callback existing
                                 WHERE existing.rule_id = %%(rule)s AND existing.source_model = 'auto_crm.service.visit'
                                   AND existing.source_id = visit.id AND existing.source_period = 0)
              ORDER BY visit.partner_id, visit.company_id, due.day, visit.id)
           INSERT INTO auto_crm_callback (
                  name, rule_id, questionnaire_id, company_id, partner_id, vehicle_id, visit_id,
                  source_model, source_id, source_period, user_id, team_id, channel, state,
                  date_due, date_expiry, max_attempts, overall_score, customer_complains,
                  create_uid, create_date, write_uid, write_date)
           SELECT %%(name)s || ': ' || visit.partner_name, %%(rule)s, %%(questionnaire)s, visit.company_id,
                  visit.partner_id, visit.vehicle_id, visit.id, 'auto_crm.service.visit', visit.id, 0, NULL, %%(team)s,
                  %%(channel)s, 'todo', visit.day, visit.day + %%(window)s, %%(max_attempts)s, 0, FALSE,
                  1, now() AT TIME ZONE 'UTC', 1, now() AT TIME ZONE 'UTC'
             FROM due_visit visit
             JOIN res_company shop ON shop.id = visit.company_id
            WHERE NOT EXISTS (SELECT 1 FROM auto_crm_callback open_call
                               WHERE open_call.partner_id = visit.partner_id AND open_call.company_id = visit.company_id
                                 AND open_call.state IN ('todo', 'in_progress'))
              AND NOT (COALESCE(shop.callback_pressure_calls, 0) > 0
                       AND (SELECT count(*) FROM auto_crm_callback recent
                             WHERE recent.partner_id = visit.partner_id AND recent.company_id = visit.company_id
                               AND recent.state != 'cancel'
                               AND recent.date_due > visit.day - COALESCE(shop.callback_pressure_days, 1))
                           >= shop.callback_pressure_calls)
           ON CONFLICT DO NOTHING"""


def _rule_params(rule, tz, low):
    """The parameters of _INSERT for this rule (``low``: the window's first due day)."""
    return {
        "name": rule.name,
        "rule": rule.id,
        "questionnaire": rule.questionnaire_id.id or None,
        "team": rule.team_id.id or None,
        "channel": rule.channel,
        "window": rule.window_days,
        "max_attempts": rule.max_attempts,
        "tz": tz,
        # a rule starts from its first day (date_start) instead of back-filling its window
        "since": max(low, rule.date_start) if getattr(rule, "date_start", None) else low,
    }


def _service_floor_sql(env):
    """The hand-written INSERT ... SELECT of the service rule's callbacks (the same rows)."""
    rule = _rule(env, SERVICE_RULE)
    today, tz = _day(env, rule)
    low = today - datetime.timedelta(days=rule.window_days)
    query = _INSERT % {
        "day": "(visit.date_delivered AT TIME ZONE 'UTC' AT TIME ZONE %(tz)s)::date + %(delay)s",
        "since": "%(since)s",
        "where": """visit.state = 'followup'
                AND visit.date_delivered >= %(ts_low)s AND visit.date_delivered < %(ts_high)s
                AND due.day BETWEEN %(low)s AND %(today)s""",
    }
    return (
        query,
        {
            **_rule_params(rule, tz, low),
            "delay": rule.delay_days,
            "ts_low": datetime.datetime.combine(low - datetime.timedelta(days=rule.delay_days + 1), datetime.time()),
            "ts_high": datetime.datetime.combine(today - datetime.timedelta(days=rule.delay_days - 2), datetime.time()),
            "low": low,
            "today": today,
        },
    )


def _service_floor(cr, state):
    cr.execute(*state["floor_sql"])
    return cr.rowcount


def _service_second_floor(cr, state):
    """The same statement's SELECT alone, counted: the due visits of eligible customers without
    their callback, each customer's first, without an open callback and within the pressure limit."""
    query, params = state["floor_sql"]
    select = query[query.index("SELECT %(name)s") : query.index("ON CONFLICT")]
    cr.execute(query[: query.index("INSERT INTO")] + "SELECT count(*) FROM (" + select + ") todo", params)
    return cr.fetchone()[0]


def _win_back_floor_sql(env):
    rule = _rule(env, WIN_BACK_RULE)
    today, tz = _day(env, rule)
    offset = rule.delay_days + rule.inactivity_days
    ev_low = today - datetime.timedelta(days=rule.window_days + offset)
    ev_high = today - datetime.timedelta(days=offset)
    query = _INSERT % {
        "day": "(visit.date_reception AT TIME ZONE 'UTC' AT TIME ZONE %(tz)s)::date + %(offset)s",
        "since": "%(since)s",
        "where": """visit.state != 'cancel'
                AND visit.date_reception >= %(ts_low)s AND visit.date_reception < %(ts_high)s
                AND due.day - %(offset)s BETWEEN %(ev_low)s AND %(ev_high)s
                AND NOT EXISTS (SELECT 1 FROM auto_crm_service_visit later
                                 WHERE later.partner_id = visit.partner_id AND later.state != 'cancel'
                                   AND (later.date_reception, later.id) > (visit.date_reception, visit.id))
                AND NOT EXISTS (SELECT 1 FROM auto_crm_service_visit booked
                                 WHERE booked.partner_id = visit.partner_id AND booked.state = 'appointment')""",
    }
    return (
        query,
        {
            **_rule_params(rule, tz, today - datetime.timedelta(days=rule.window_days)),
            "offset": offset,
            "ts_low": datetime.datetime.combine(ev_low - datetime.timedelta(days=1), datetime.time()),
            "ts_high": datetime.datetime.combine(ev_high + datetime.timedelta(days=2), datetime.time()),
            "ev_low": ev_low,
            "ev_high": ev_high,
        },
    )


def _cleanup(env, state):
    """Delete what prepare inserted (visits by tag, and the callbacks and job runs of a first run)."""
    env.flush_all()
    cr = env.cr
    if state.get("first_run_after"):
        cr.execute(
            "DELETE FROM auto_crm_callback WHERE rule_id = %s AND id > %s", (state["rule"], state["callbacks_before"])
        )
        cr.execute("DELETE FROM auto_crm_job_run WHERE id > %s", (state["runs_before"],))
    for tag in state.get("tags", ()):
        cr.execute("DELETE FROM auto_crm_service_visit WHERE name LIKE %s", (tag + "/%",))
    env.invalidate_all()


def _settled(env):
    """The planner statistics as a run would leave them: what the cases before left in this
    transaction (inserted, deleted) is analysed once here, not in every repetition."""
    refresh = getattr(env["auto_crm.callback.engine"], "_refresh_statistics", None)
    if refresh:  # (absent from the engine before issue 11: the cases also time it, for before/after figures)
        refresh()


def _prepare_fresh(env, count, settle=True):
    if settle:
        _settled(env)
    tag = _insert_delivered_visits(env, count, days_ago=3)
    return {"tags": [tag], "floor_sql": _service_floor_sql(env)}


def _prepare_second(env, count):
    state = _prepare_fresh(env, count)
    env.cr.execute("SELECT COALESCE(max(id), 0) FROM auto_crm_callback")
    state["callbacks_before"] = env.cr.fetchone()[0]
    env.cr.execute("SELECT COALESCE(max(id), 0) FROM auto_crm_job_run")
    state["runs_before"] = env.cr.fetchone()[0]
    state["rule"] = _rule(env, SERVICE_RULE).id
    state["first_run_created"] = _run_rule(env, SERVICE_RULE)
    state["first_run_after"] = True
    _settled(env)
    return state


def cases(env):
    env.cr.execute("SELECT count(*) FROM auto_crm_service_visit")
    fresh = max(env.cr.fetchone()[0] // 10, 100)
    return [
        {
            "name": f"callback engine: first run, {fresh:,} fresh due visits",
            "prepare": lambda env: _prepare_fresh(env, fresh),
            "run": lambda env, state: _run_rule(env, SERVICE_RULE),
            "floor": _service_floor,
            "target": 1.3,
            "rollback": True,
            "cleanup": _cleanup,
        },
        {
            "name": "callback engine: second run (nothing new)",
            "prepare": lambda env: _prepare_second(env, fresh),
            "run": lambda env, state: _run_rule(env, SERVICE_RULE),
            "floor": _service_second_floor,
            "target": 2.0,
            "rollback": True,
            "cleanup": _cleanup,
        },
        {
            "name": "callback engine: win-back rule, daily run",
            "prepare": lambda env: _settled(env) or {"floor_sql": _win_back_floor_sql(env)},
            "run": lambda env, state: _run_rule(env, WIN_BACK_RULE),
            "floor": _service_floor,
            "target": None,
            "rollback": True,
        },
        {
            "name": f"callback engine: first run, {BIG_VISITS:,} bulk-loaded visits, no ANALYZE",
            "prepare": lambda env: _settled(env) or _prepare_fresh(env, BIG_VISITS, settle=False),
            "run": lambda env, state: _run_rule(env, SERVICE_RULE),
            "floor": _service_floor,
            "target": 1.3,
            "rollback": True,
            "cleanup": _cleanup,
            "big": True,
        },
    ]
