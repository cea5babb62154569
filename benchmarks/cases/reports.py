"""Benchmark cases of the reports: the satisfaction analysis (pivot and 12-month trend) and the
monthly callback report (figures, XLSX workbook with its data sheet, CSI export).

Loaded by path by ``tools/dev bench`` (see the common interface: ``cases(env)`` returns dicts with
name / prepare / run / floor / target / rollback). Each report runs as the web client or the wizard's
button calls it, as a callback manager of the main store, on the last complete month holding done
callbacks; each floor is the same result in one hand-written SQL query (GROUPING SETS / GROUP BY)
without the ORM.

The XLSX case measures the workbook's peak Python memory with tracemalloc (which slows Python down:
its time is reported, not judged) and leaves it in ``state["peak_mb"]`` (the largest of the
repetitions) for the harness to print; its floor is the data sheet's query fetched whole.

Try it alone (``tools/dev odoo shell -d DB --no-http < runner``) with a runner that does
``runpy.run_path("benchmarks/cases/reports.py")["cases"](env)`` and times run and floor.
"""

import datetime
import tracemalloc

from dateutil.relativedelta import relativedelta

#: "Satisfaction analysis and monthly report within 1.5x of one GROUPING SETS / GROUP BY floor at 1M":
#: judged at 1m; at 10k (one store, ~1,000 callbacks a month) one call's fixed cost outweighs its query.
REPORT_TARGET_AT = {"1m"}
PIVOT_MEASURES = ["csi:avg", "overall_score:avg", "callback_count:sum"]
#: The pivot of the satisfaction analysis (rows: month due, columns: store) asks for every prefix
#: of its row and column group-bys: the total, per month, per store, per month and store.
PIVOT_GROUPBYS = [[], ["date_due:month"], ["company_id"], ["date_due:month", "company_id"]]


def _month(env, companies):
    """The last complete month of done callbacks: the month before the latest done one."""
    env.cr.execute(
        "SELECT max(date_due) FROM auto_crm_callback WHERE state = 'done' AND company_id = ANY(%s)", [companies.ids]
    )
    last = env.cr.fetchone()[0] or datetime.date.today()
    start = last.replace(day=1) - relativedelta(months=1)
    return start, start + relativedelta(months=1)


def _prepare(env):
    # The group's analysis: a manager of every store with callbacks, the stores side by side (the
    # generator makes one store per 10,000 customers: 1 at 10k, 10 at 100k, 20 at 1m).
    company = env.company
    env.cr.execute("SELECT DISTINCT company_id FROM auto_crm_callback")
    companies = env["res.company"].browse(sorted(row[0] for row in env.cr.fetchall())) | company
    login = "bench_reports_manager"
    manager = env["res.users"].with_context(active_test=False).search([("login", "=", login)])
    # (odoo.tests.new_test_user would do, but importing odoo.tests outside a test run logs an error)
    manager = manager or env["res.users"].with_context(
        no_reset_password=True, mail_create_nolog=True, tracking_disable=True
    ).create(
        {
            "name": "Bench Reports Manager",
            "login": login,
            "groups_id": [(6, 0, [env.ref("base.group_user").id, env.ref("auto_crm.group_manager").id])],
            "company_id": company.id,
            "company_ids": [(6, 0, companies.ids)],
        }
    )
    manager.company_ids = companies
    start, stop = _month(env, companies)
    wizard = (
        env(user=manager)["auto_crm.callback.report.wizard"]
        .with_context(allowed_company_ids=companies.ids)
        .create({"month": start, "company_ids": [(6, 0, companies.ids)]})
    )
    env.flush_all()
    return {
        "manager": manager,
        "company": company,
        "companies": companies,
        "start": start,
        "stop": stop,
        "wizard": wizard,
        "peak_mb": 0.0,
    }


def _report(env, state):
    return env(user=state["manager"])["auto_crm.csi.report"].with_context(allowed_company_ids=state["companies"].ids)


# ---------------------------------------------------------------------- satisfaction analysis


def _pivot_domain(state):
    # the action's default filter "With an Index" and the "Month Due" filter on one month
    last_day = state["stop"] - datetime.timedelta(days=1)
    return [("csi_hierarchy_id", "!=", False), ("date_due", ">=", state["start"]), ("date_due", "<=", last_day)]


def run_pivot(env, state):
    # as the analysis's pivot loads (static/src/views/csi_pivot): every combination in one call
    return _report(env, state).read_group_sets(_pivot_domain(state), PIVOT_MEASURES, PIVOT_GROUPBYS)


def run_pivot_stock(env, state):
    # as Odoo's stock pivot would load it: one read_group per combination (reported, not judged)
    Report = _report(env, state)
    domain = _pivot_domain(state)
    return [Report.read_group(domain, PIVOT_MEASURES, groupby, lazy=False) for groupby in PIVOT_GROUPBYS]


def _floor_settings(cr):
    # the floors run as the reports do: without JIT compilation (rolled back with the savepoint)
    cr.execute("SET LOCAL jit = off")


def floor_pivot(cr, state):
    _floor_settings(cr)
    cr.execute(
        """
        SELECT date_trunc('month', c.date_due::timestamp), c.company_id,
               avg(c.csi) FILTER (WHERE c.survey_kind = 'after_service'),
               avg(NULLIF(c.overall_score, 0)) FILTER (WHERE c.survey_kind = 'after_service'), count(*)
          FROM auto_crm_callback c
         WHERE c.state = 'done' AND c.csi_hierarchy_id IS NOT NULL
           AND c.date_due >= %s AND c.date_due < %s AND c.company_id = ANY(%s)
         GROUP BY GROUPING SETS ((), (1), (2), (1, 2))
        """,
        [state["start"], state["stop"], state["companies"].ids],
    )
    return cr.fetchall()


def run_cells(env, state):
    # the pivot's deepest read_group alone (month x store)
    return _report(env, state).read_group(_pivot_domain(state), PIVOT_MEASURES, PIVOT_GROUPBYS[-1], lazy=False)


def floor_cells(cr, state):
    _floor_settings(cr)
    cr.execute(
        """
        SELECT date_trunc('month', c.date_due::timestamp), c.company_id,
               avg(c.csi) FILTER (WHERE c.survey_kind = 'after_service'),
               avg(NULLIF(c.overall_score, 0)) FILTER (WHERE c.survey_kind = 'after_service'), count(*)
          FROM auto_crm_callback c
         WHERE c.state = 'done' AND c.csi_hierarchy_id IS NOT NULL
           AND c.date_due >= %s AND c.date_due < %s AND c.company_id = ANY(%s)
         GROUP BY 1, 2
        """,
        [state["start"], state["stop"], state["companies"].ids],
    )
    return cr.fetchall()


def _trend_domain(state):
    # the action's default filters: "With an Index" and "Last 12 Months" (up to the month measured)
    return [
        ("csi_hierarchy_id", "!=", False),
        ("date_due", ">=", state["start"] - relativedelta(months=11)),
        ("date_due", "<", state["stop"]),
    ]


def run_trend(env, state):
    # the graph (a line per store by month due) asks for one read_group of both group-bys
    return _report(env, state).read_group(
        _trend_domain(state), ["csi:avg"], ["date_due:month", "company_id"], lazy=False
    )


def floor_trend(cr, state):
    _floor_settings(cr)
    cr.execute(
        """
        SELECT date_trunc('month', c.date_due::timestamp), c.company_id,
               avg(c.csi) FILTER (WHERE c.survey_kind = 'after_service'), count(*)
          FROM auto_crm_callback c
         WHERE c.state = 'done' AND c.csi_hierarchy_id IS NOT NULL
           AND c.date_due >= %s AND c.date_due < %s AND c.company_id = ANY(%s)
         GROUP BY 1, 2
        """,
        [state["start"] - relativedelta(months=11), state["stop"], state["companies"].ids],
    )
    return cr.fetchall()


# ---------------------------------------------------------------------- monthly callback report


def run_report(env, state):
    # the wizard's Show button: the figures, rendered on screen
    return state["wizard"].action_compute()


def floor_report(cr, state):
    _floor_settings(cr)
    previous = state["start"] - relativedelta(months=1)
    cr.execute(
        """
        SELECT 'store', c.company_id,
               count(*) FILTER (WHERE c.date_due >= %(start)s),
               count(*) FILTER (WHERE c.date_due >= %(start)s AND (c.state IN ('done', 'failed')
                                OR EXISTS (SELECT 1 FROM auto_crm_callback_attempt a WHERE a.callback_id = c.id))),
               count(*) FILTER (WHERE c.date_due >= %(start)s AND c.state = 'done'),
               avg(c.overall_score) FILTER (WHERE c.date_due >= %(start)s AND c.state = 'done' AND c.overall_score > 0),
               avg(c.csi) FILTER (WHERE c.survey_kind = 'after_service' AND c.date_due >= %(start)s AND c.state = 'done'
                                  AND c.csi_hierarchy_id IS NOT NULL),
               avg(c.csi) FILTER (WHERE c.survey_kind = 'after_service' AND c.date_due < %(start)s AND c.state = 'done'
                                  AND c.csi_hierarchy_id IS NOT NULL)
          FROM auto_crm_callback c
         WHERE c.date_due >= %(previous)s AND c.date_due < %(stop)s AND c.company_id = ANY(%(companies)s)
           AND c.state != 'cancel'
         GROUP BY GROUPING SETS ((c.company_id), ())
        UNION ALL
        SELECT 'question', a.question_id, count(*), NULL, NULL, avg(a.score_value), NULL, NULL
          FROM auto_crm_callback c JOIN auto_crm_callback_answer a ON a.callback_id = c.id
         WHERE c.date_due >= %(start)s AND c.date_due < %(stop)s AND c.company_id = ANY(%(companies)s)
           AND c.state = 'done' AND a.score IS NOT NULL
         GROUP BY a.question_id
        UNION ALL
        SELECT 'issue', r.tag_id, count(*), NULL, NULL, NULL, NULL, NULL
          FROM auto_crm_callback c JOIN auto_crm_callback_issue_tag_rel r ON r.callback_id = c.id
         WHERE c.date_due >= %(start)s AND c.date_due < %(stop)s AND c.company_id = ANY(%(companies)s)
           AND c.state != 'cancel'
         GROUP BY r.tag_id
        """,
        {"start": state["start"], "stop": state["stop"], "previous": previous, "companies": state["companies"].ids},
    )
    return cr.fetchall()


def run_xlsx(env, state):
    # the wizard's Download XLSX button (figures, summary, the four sheets, the download), memory traced
    tracemalloc.start()
    try:
        action = state["wizard"].action_export_xlsx()
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    state["peak_mb"] = max(state["peak_mb"], peak / 2**20)
    return action


def floor_xlsx(cr, state):
    _floor_settings(cr)
    # the data sheet's rows, fetched whole, without writing them
    cr.execute(
        """
        SELECT c.name, comp.name, c.date_due, c.state, c.date_done, p.name, veh.plate, ap.name, up.name,
               (SELECT count(*) FROM auto_crm_callback_attempt att WHERE att.callback_id = c.id),
               NULLIF(c.overall_score, 0), c.csi, h.version,
               (SELECT string_agg(t.name->>'en_US', ', ') FROM auto_crm_callback_issue_tag_rel r
                  JOIN auto_crm_callback_issue_tag t ON t.id = r.tag_id WHERE r.callback_id = c.id)
          FROM auto_crm_callback c
          JOIN res_company comp ON comp.id = c.company_id
          JOIN res_partner p ON p.id = c.partner_id
          LEFT JOIN auto_crm_vehicle veh ON veh.id = c.vehicle_id
          LEFT JOIN auto_crm_service_visit v ON v.id = c.visit_id
          LEFT JOIN res_users au ON au.id = v.advisor_id
          LEFT JOIN res_partner ap ON ap.id = au.partner_id
          LEFT JOIN res_users u ON u.id = c.user_id
          LEFT JOIN res_partner up ON up.id = u.partner_id
          LEFT JOIN auto_crm_csi_hierarchy h ON h.id = c.csi_hierarchy_id
         WHERE c.date_due >= %s AND c.date_due < %s AND c.company_id = ANY(%s) AND c.state != 'cancel'
         ORDER BY comp.name, c.date_due, c.id
        """,
        [state["start"], state["stop"], state["companies"].ids],
    )
    return len(cr.fetchall())


def run_csi_export(env, state):
    # the wizard's Download CSI XLSX button: one grouping-sets query, six sheets
    return state["wizard"].action_export_csi_xlsx()


def floor_csi_export(cr, state):
    _floor_settings(cr)
    cr.execute(
        """
        SELECT c.company_id, v.advisor_id, v.technician_id, COALESCE(veh.brand_id, fm.brand_id), v.visit_type,
               c.user_id, c.date_due >= %(start)s, count(*),
               avg(c.csi) FILTER (WHERE c.survey_kind = 'after_service' AND c.csi_hierarchy_id IS NOT NULL),
               avg(NULLIF(c.overall_score, 0)) FILTER (WHERE c.survey_kind = 'after_service')
          FROM auto_crm_callback c
          LEFT JOIN auto_crm_service_visit v ON v.id = c.visit_id
          LEFT JOIN auto_crm_vehicle veh ON veh.id = COALESCE(c.vehicle_id, v.vehicle_id)
          LEFT JOIN fleet_vehicle_model fm ON fm.id = veh.model_id
         WHERE c.state = 'done' AND c.date_due >= %(previous)s AND c.date_due < %(stop)s
           AND c.company_id = ANY(%(companies)s)
         GROUP BY GROUPING SETS ((1, 7), (2, 7), (3, 7), (4, 7), (5, 7), (6, 7))
        """,
        {
            "start": state["start"],
            "previous": state["start"] - relativedelta(months=1),
            "stop": state["stop"],
            "companies": state["companies"].ids,
        },
    )
    return cr.fetchall()


def cases(env):
    return [
        {
            "name": "satisfaction analysis: pivot, one month (read_group_sets)",
            "prepare": _prepare,
            "run": run_pivot,
            "floor": floor_pivot,
            "target": 1.5,
            "target_at": REPORT_TARGET_AT,
            "rollback": True,
        },
        {
            "name": "satisfaction analysis: pivot as 4 read_groups (stock pivot)",
            "prepare": _prepare,
            "run": run_pivot_stock,
            "floor": floor_pivot,
            "target": None,
            "rollback": True,
        },
        {
            "name": "satisfaction analysis: pivot cells alone (1 read_group)",
            "prepare": _prepare,
            "run": run_cells,
            "floor": floor_cells,
            "target": None,
            "rollback": True,
        },
        {
            "name": "satisfaction analysis: 12-month trend (graph)",
            "prepare": _prepare,
            "run": run_trend,
            "floor": floor_trend,
            "target": 1.5,
            "target_at": REPORT_TARGET_AT,
            "rollback": True,
        },
        {
            "name": "monthly report: figures (Show)",
            "prepare": _prepare,
            "run": run_report,
            "floor": floor_report,
            "target": 1.5,
            "target_at": REPORT_TARGET_AT,
            "rollback": True,
        },
        {
            "name": "monthly report: XLSX with data sheet (peak_mb = Python peak)",
            "prepare": _prepare,
            "run": run_xlsx,
            "floor": floor_xlsx,
            "target": None,
            "rollback": True,
        },
        {
            "name": "monthly report: CSI XLSX (6 dimensions)",
            "prepare": _prepare,
            "run": run_csi_export,
            "floor": floor_csi_export,
            "target": None,
            "rollback": True,
        },
    ]
