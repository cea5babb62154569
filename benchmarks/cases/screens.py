"""Benchmark cases of the main screens (interface: see the benchmark command's README section).

Each screen is called as the web client calls it (auto_crm/tests/screens_common.py: the kanban's
web_read_group, its progress bar and the first page of each open column; the list's first page;
the form's web_read), as the user who works on it: an advisor for the workshop board, the list and
the form, the agent with the most open callbacks for the callback board, a manager for complaints.
Each floor returns the same rows or groups with the least SQL: one query for the columns' counts
(and the progress bar), one LATERAL query for the first page of every open column, names joined.
"""

import importlib.util
import os

import odoo.addons.auto_crm as auto_crm

_spec = importlib.util.spec_from_file_location(
    "auto_crm_screens_common", os.path.join(auto_crm.__path__[0], "tests", "screens_common.py")
)
screens = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(screens)

VISIT_OPEN = ("appointment", "reception", "repair", "inspection", "delivery")
CALLBACK_OPEN = ("todo", "in_progress")
COMPLAINT_OPEN = ("new", "acknowledged", "investigating", "resolving", "awaiting_confirmation")
LIST_LIMIT = 80
#: The On the Board filter in SQL (one store).
VISIT_ON_BOARD = """v.company_id = %(company)s
    AND (v.state IN %(open)s OR (v.state = 'followup' AND v.date_delivered >= %(since)s))"""

VISIT_FORM_SPEC = {
    "state": {},
    "name": {},
    "partner_id": screens.M2O,
    "vehicle_id": screens.M2O,
    "mileage_in": {},
    "visit_type": {},
    "company_id": screens.M2O,
    "loyalty_member_id": screens.M2O,
    "loyalty_tier_id": screens.M2O,
    "loyalty_benefits": {},
    "loyalty_points_balance": {},
    "advisor_id": screens.M2O,
    "technician_id": screens.M2O,
    "date_appointment": {},
    "date_promised": {},
    "cancel_reason": {},
    "line_ids": {
        "fields": {
            "sequence": {},
            "line_type": {},
            "name": {},
            "part_number": {},
            "quantity": {},
            "unit_price": {},
            "discount": {},
            "subtotal": {},
            "currency_id": {"fields": {}},
        },
        "limit": 40,
        "order": "sequence ASC, id ASC",
    },
    "amount_labour": {},
    "amount_parts": {},
    "amount_total": {},
    "loyalty_redeemed_value": {},
    "amount_due": {},
    "currency_id": {"fields": {}},
    "customer_request": {},
    "work_content": {},
    "inspection_note": {},
    "inspection_failures": {},
    "payment_method": {},
    "amount_paid": {},
    "is_settled": {},
    "loyalty_points_redeemed": {},
    "loyalty_points_earned": {},
    "date_reception": {},
    "date_repair": {},
    "date_inspection": {},
    "date_settlement": {},
    "date_delivered": {},
    "date_cancel": {},
    "vehicle_history_ids": {
        "fields": {
            "name": {},
            "date_reception": {},
            "visit_type": {},
            "mileage_in": {},
            "work_content": {},
            "amount_total": {},
            "currency_id": {"fields": {}},
            "state": {},
        },
        "limit": 40,
    },
    "display_name": {},
}


def _user(env, login, group, name):
    """The bench's user of that group in the main store (made once: prepare may run for each case)."""
    company = env.company
    user = env["res.users"].with_context(active_test=False).search([("login", "=", login)])
    return user or env["res.users"].with_context(no_reset_password=True, tracking_disable=True).create(
        {
            "name": name,
            "login": login,
            "groups_id": [(6, 0, [env.ref(group).id])],
            "company_id": company.id,
            "company_ids": [(6, 0, [company.id])],
        }
    )


def _users(env):
    company = env.company
    advisor = _user(env, "bench_screens_advisor", "auto_crm.group_advisor", "Bench Advisor")
    manager = _user(env, "bench_screens_manager", "auto_crm.group_manager", "Bench Manager")
    # The agent: whoever has the most open callbacks in the store; else a new agent in every team.
    env.cr.execute(
        """SELECT user_id FROM auto_crm_callback
            WHERE state IN %s AND user_id IS NOT NULL AND company_id = %s
            GROUP BY user_id ORDER BY count(*) DESC LIMIT 1""",
        (CALLBACK_OPEN, company.id),
    )
    row = env.cr.fetchone()
    agent = env["res.users"].browse(row[0]) if row else env["res.users"]
    if not agent or agent.share:
        agent = _user(env, "bench_screens_agent", "auto_crm.group_agent", "Bench Agent")
    agent.sudo().groups_id = [(4, env.ref("auto_crm.group_agent").id)]
    teams = env["auto_crm.callback.team"].sudo().search([("company_id", "in", [company.id, False])])
    teams.member_ids = [(4, agent.id)]
    env.flush_all()
    return {"company": company.id, "advisor": advisor, "agent": agent, "manager": manager}


def _visit_board_floor_sql(cr, company, since):
    where = VISIT_ON_BOARD
    params = {"company": company, "open": VISIT_OPEN, "since": since}
    # The progress bar: the promise status by the store's margin (the model's _read_group_groupby).
    cr.execute(
        f"""SELECT v.state,
                   CASE WHEN v.state NOT IN %(open)s THEN 'closed' WHEN v.date_promised IS NULL THEN 'no_promise'
                        WHEN v.date_promised < now() AT TIME ZONE 'UTC' THEN 'late'
                        WHEN v.date_promised <= now() AT TIME ZONE 'UTC'
                             + make_interval(mins => COALESCE(co.promise_risk_minutes, 0)) THEN 'at_risk'
                        ELSE 'on_time' END,
                   count(*), sum(v.amount_total)
              FROM auto_crm_service_visit v LEFT JOIN res_company co ON co.id = v.company_id
             WHERE {where} GROUP BY 1, 2""",
        params,
    )
    groups = cr.fetchall()
    cr.execute(
        f"""SELECT s.state, c.*, p.name, p.mobile, p.phone, veh.plate, veh.vin, ap.name, tp.name, tier.name
              FROM unnest(%(states)s::varchar[]) AS s(state) CROSS JOIN LATERAL (
                SELECT v.id, v.name, v.visit_type, v.date_appointment, v.date_promised, v.kanban_state,
                       v.amount_total, v.color, v.partner_id, v.vehicle_id, v.advisor_id, v.technician_id,
                       v.company_id
                  FROM auto_crm_service_visit v
                 WHERE {where} AND v.state = s.state
                 ORDER BY v.date_appointment DESC, v.id DESC LIMIT 40) c
              JOIN res_partner p ON p.id = c.partner_id
              JOIN auto_crm_vehicle veh ON veh.id = c.vehicle_id
              LEFT JOIN res_users a ON a.id = c.advisor_id LEFT JOIN res_partner ap ON ap.id = a.partner_id
              LEFT JOIN res_users t ON t.id = c.technician_id LEFT JOIN res_partner tp ON tp.id = t.partner_id
              LEFT JOIN auto_crm_loyalty_member m ON m.partner_id = c.partner_id AND m.company_id = c.company_id
              LEFT JOIN auto_crm_loyalty_tier tier ON tier.id = m.tier_id""",
        dict(params, states=list(VISIT_OPEN)),
    )
    return groups, cr.fetchall()


def _since(env):
    """The On the Board filter's cut-off for the main store (as the model computes it)."""
    visits = env["auto_crm.service.visit"]
    return visits._board_delivered_since(env.company)[env.company]


def _callback_board_floor_sql(cr, company, agent, today):
    where = """c.company_id = %(company)s AND c.state IN %(open)s AND c.date_due <= %(today)s
               AND (c.user_id = %(agent)s OR (c.user_id IS NULL AND EXISTS (
                    SELECT 1 FROM auto_crm_callback_team_member_rel m
                     WHERE m.team_id = c.team_id AND m.user_id = %(agent)s)))"""
    params = {"company": company, "open": CALLBACK_OPEN, "today": today, "agent": agent}
    cr.execute(
        f"SELECT c.state, count(*), avg(c.overall_score) FROM auto_crm_callback c WHERE {where} GROUP BY 1", params
    )
    groups = cr.fetchall()
    cr.execute(
        f"""SELECT s.state, r.*, p.name, p.mobile, p.phone, veh.plate, rule.name, up.name, att.*
              FROM unnest(%(states)s::varchar[]) AS s(state) CROSS JOIN LATERAL (
                SELECT c.id, c.channel, c.date_due, c.overall_score, c.partner_id, c.vehicle_id, c.rule_id, c.user_id,
                       c.max_attempts
                  FROM auto_crm_callback c
                 WHERE {where} AND c.state = s.state
                 ORDER BY c.date_due, c.id LIMIT 40) r
              LEFT JOIN LATERAL (
                SELECT count(*) OVER (), a.outcome FROM auto_crm_callback_attempt a
                 WHERE a.callback_id = r.id ORDER BY a.date DESC, a.id DESC LIMIT 1) att ON TRUE
              JOIN res_partner p ON p.id = r.partner_id
              LEFT JOIN auto_crm_vehicle veh ON veh.id = r.vehicle_id
              LEFT JOIN auto_crm_callback_rule rule ON rule.id = r.rule_id
              LEFT JOIN res_users u ON u.id = r.user_id LEFT JOIN res_partner up ON up.id = u.partner_id""",
        dict(params, states=list(CALLBACK_OPEN)),
    )
    return groups, cr.fetchall()


def _complaint_board_floor_sql(cr, company):
    where = "c.company_id = %(company)s AND c.active AND c.state IN %(open)s"
    params = {"company": company, "open": COMPLAINT_OPEN}
    cr.execute(f"SELECT c.state, count(*) FROM auto_crm_complaint c WHERE {where} GROUP BY 1", params)
    groups = cr.fetchall()
    cr.execute(
        f"""SELECT s.state, r.*, p.name, cat.name, up.name
              FROM unnest(%(states)s::varchar[]) AS s(state) CROSS JOIN LATERAL (
                SELECT c.id, c.name, c.subject, c.severity, c.channel, c.deadline_resolve, c.date_received,
                       c.date_acknowledged, c.date_resolved, c.deadline_acknowledge, c.partner_id, c.category_id,
                       c.user_id
                  FROM auto_crm_complaint c
                 WHERE {where} AND c.state = s.state
                 ORDER BY c.date_received DESC, c.id DESC LIMIT 40) r
              JOIN res_partner p ON p.id = r.partner_id
              LEFT JOIN auto_crm_complaint_category cat ON cat.id = r.category_id
              LEFT JOIN res_users u ON u.id = r.user_id LEFT JOIN res_partner up ON up.id = u.partner_id""",
        dict(params, states=list(COMPLAINT_OPEN)),
    )
    return groups, cr.fetchall()


def _visit_list_floor_sql(cr, company, since):
    where = VISIT_ON_BOARD
    params = {"company": company, "open": VISIT_OPEN, "since": since, "limit": LIST_LIMIT}
    cr.execute(
        f"""SELECT v.*, p.name, veh.plate, ap.name, co.name
              FROM (SELECT v.id, v.name, v.date_appointment, v.visit_type, v.amount_total, v.state, v.partner_id,
                           v.vehicle_id, v.advisor_id, v.company_id
                      FROM auto_crm_service_visit v
                     WHERE {where} ORDER BY v.date_appointment DESC, v.id DESC LIMIT %(limit)s) v
              JOIN res_partner p ON p.id = v.partner_id
              JOIN auto_crm_vehicle veh ON veh.id = v.vehicle_id
              JOIN res_company co ON co.id = v.company_id
              LEFT JOIN res_users a ON a.id = v.advisor_id LEFT JOIN res_partner ap ON ap.id = a.partner_id
             ORDER BY v.date_appointment DESC, v.id DESC""",
        params,
    )
    rows = cr.fetchall()
    count = None
    if len(rows) == LIST_LIMIT:
        cr.execute(f"SELECT count(*) FROM auto_crm_service_visit v WHERE {where}", params)
        count = cr.fetchone()[0]
    return rows, count


def _visit_form_floor_sql(cr, visit_id):
    cr.execute(
        """SELECT v.*, p.name, veh.plate, veh.vin, ap.name, tp.name, co.name
             FROM auto_crm_service_visit v
             JOIN res_partner p ON p.id = v.partner_id
             JOIN auto_crm_vehicle veh ON veh.id = v.vehicle_id
             JOIN res_company co ON co.id = v.company_id
             LEFT JOIN res_users a ON a.id = v.advisor_id LEFT JOIN res_partner ap ON ap.id = a.partner_id
             LEFT JOIN res_users t ON t.id = v.technician_id LEFT JOIN res_partner tp ON tp.id = t.partner_id
            WHERE v.id = %s""",
        (visit_id,),
    )
    visit = cr.fetchall()
    cr.execute(
        "SELECT * FROM auto_crm_service_visit_line WHERE visit_id = %s ORDER BY sequence, id LIMIT 40", (visit_id,)
    )
    lines = cr.fetchall()
    cr.execute(
        """SELECT h.id, h.name, h.date_reception, h.visit_type, h.mileage_in, h.work_content, h.amount_total, h.state
             FROM auto_crm_service_visit h JOIN auto_crm_service_visit v ON v.vehicle_id = h.vehicle_id
            WHERE v.id = %s AND h.id != v.id ORDER BY h.date_appointment DESC, h.id DESC LIMIT 40""",
        (visit_id,),
    )
    return visit, lines, cr.fetchall()


def cases(env):
    def prepare(env):
        state = _users(env)
        state["since"] = _since(env)
        state["today"] = env.company._auto_crm_today()
        # The form: the newest delivered visit (a car with history).
        env.cr.execute(
            "SELECT id FROM auto_crm_service_visit WHERE company_id = %s AND state = 'followup' "
            "ORDER BY date_appointment DESC, id DESC LIMIT 1",
            (env.company.id,),
        )
        row = env.cr.fetchone()
        state["visit_id"] = row and row[0]
        return state

    def visit_board(env, state):
        visits = env["auto_crm.service.visit"].with_user(state["advisor"])
        return screens.board_calls(visits, screens.VISIT_BOARD, screens.on_board_domain())

    def callback_board(env, state):
        callbacks = env["auto_crm.callback"].with_user(state["agent"])
        domain = screens.my_calls_today_domain(state["agent"].id)
        return screens.board_calls(callbacks, screens.CALLBACK_BOARD, domain)

    def complaint_board(env, state):
        complaints = env["auto_crm.complaint"].with_user(state["manager"])
        return screens.board_calls(complaints, screens.COMPLAINT_BOARD, screens.open_complaints_domain())

    def visit_list(env, state):
        visits = env["auto_crm.service.visit"].with_user(state["advisor"])
        return visits.web_search_read(
            screens.on_board_domain(),
            screens.VISIT_LIST_SPEC,
            offset=0,
            limit=LIST_LIMIT,
            order="date_appointment DESC, id DESC",
            count_limit=10001,
        )

    def visit_form(env, state):
        visits = env["auto_crm.service.visit"].with_user(state["advisor"])
        return visits.browse(state["visit_id"]).web_read(VISIT_FORM_SPEC) if state["visit_id"] else None

    return [
        {
            "name": "workshop board: kanban first page",
            "prepare": prepare,
            "run": visit_board,
            "floor": lambda cr, state: _visit_board_floor_sql(cr, state["company"], state["since"]),
            "target": None,
            "rollback": True,
        },
        {
            "name": "callback board: My Calls Today",
            "prepare": prepare,
            "run": callback_board,
            "floor": lambda cr, state: _callback_board_floor_sql(
                cr, state["company"], state["agent"].id, state["today"]
            ),
            "target": None,
            "rollback": True,
        },
        {
            "name": "complaint board: open complaints",
            "prepare": prepare,
            "run": complaint_board,
            "floor": lambda cr, state: _complaint_board_floor_sql(cr, state["company"]),
            "target": None,
            "rollback": True,
        },
        {
            "name": "visit list: first page",
            "prepare": prepare,
            "run": visit_list,
            "floor": lambda cr, state: _visit_list_floor_sql(cr, state["company"], state["since"]),
            "target": None,
            "rollback": True,
        },
        {
            "name": "visit form: read",
            "prepare": prepare,
            "run": visit_form,
            "floor": lambda cr, state: _visit_form_floor_sql(cr, state["visit_id"]) if state["visit_id"] else None,
            "target": None,
            "rollback": True,
        },
    ]
