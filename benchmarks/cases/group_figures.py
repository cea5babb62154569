"""Benchmark case of the group figures (issue 15): the monthly report's stores side by side with the group total.

- *group: stores side by side* — ``auto_crm.callback.report.wizard._get_group_figures()`` as the wizard's Show
  button calls it in *Compare Stores* mode, as a manager of every store of the dealer group (the group company
  and all its stores in his companies), for the last complete month of delivered visits: per store and in total
  the visits delivered and their revenue, the callbacks due, executed and successful with their satisfaction
  index, the complaints opened, closed and overdue. (The retention figure reads the retention analysis, an SQL
  view over the whole visit history: it is left out of the timed call and of the floor.)
- The floor: the same figures in three hand-written ``GROUP BY GROUPING SETS ((store), ())`` statements over the
  same stores and month, without the ORM (no record rules, no domain translation).

``prepare`` makes the manager and the wizard, then runs the engine and the floor once each and checks that they
give the same figures, store by store and in total, before anything is timed. At the ``group`` size (200 stores,
10,000,000 visits: ``tools/dev bench --size group``) the target is 1.5x the floor; at other sizes it is reported.

A plain Python file loaded by path (``tools/dev bench``); the ``cases(env)`` interface is the one of every file of
``benchmarks/cases``.
"""

import datetime

from dateutil.relativedelta import relativedelta

GROUP_NAME = "Dealer Group"
FIGURES = ("visits", "callbacks", "complaints")
#: the keys compared between the engine and the floor
KEYS = ("visits", "revenue", "due", "executed", "successful", "csi_sum", "csi_count", "opened", "closed", "overdue")


def _group(env):
    group = env["res.company"].sudo().search([("name", "=", GROUP_NAME)], limit=1)
    if not group:
        # any database: the stores of the main company's group, else every store with visits
        env.cr.execute("SELECT DISTINCT company_id FROM auto_crm_service_visit")
        return env["res.company"], env["res.company"].browse(sorted(row[0] for row in env.cr.fetchall()))
    return group, group.child_ids


def _month(env, stores):
    env.cr.execute(
        "SELECT max(date_delivered) FROM auto_crm_service_visit WHERE state = 'followup' AND company_id = ANY(%s)",
        [stores.ids],
    )
    last = (env.cr.fetchone()[0] or datetime.datetime.now()).date()
    start = last.replace(day=1) - relativedelta(months=1)
    return start, start + relativedelta(months=1)


def prepare(env):
    group, stores = _group(env)
    companies = group | stores
    login = "bench_group_manager"
    manager = env["res.users"].with_context(active_test=False).search([("login", "=", login)])
    manager = manager or env["res.users"].with_context(
        no_reset_password=True, mail_create_nolog=True, tracking_disable=True
    ).create(
        {
            "name": "Bench Group Manager",
            "login": login,
            "groups_id": [(6, 0, [env.ref("base.group_user").id, env.ref("auto_crm.group_manager").id])],
            "company_id": companies[0].id,
            "company_ids": [(6, 0, companies.ids)],
        }
    )
    manager.company_ids = companies
    start, stop = _month(env, stores)
    wizard = (
        env(user=manager)["auto_crm.callback.report.wizard"]
        .with_context(allowed_company_ids=companies.ids)
        .create({"month": start, "company_ids": [(6, 0, stores.ids)], "compare_stores": True})
    )
    env.flush_all()
    state = {"manager": manager, "stores": stores, "start": start, "stop": stop, "wizard": wizard}
    engine = _engine_rows(run(env, state))
    floor_rows = _floor_rows(floor(env.cr, state))
    if engine != floor_rows:
        different = sorted(k for k in set(engine) | set(floor_rows) if engine.get(k) != floor_rows.get(k))
        raise AssertionError(
            f"the engine and the floor disagree on {len(different)} store(s), e.g. {different[:3]}: "
            f"{[engine.get(k) for k in different[:3]]} vs {[floor_rows.get(k) for k in different[:3]]}"
        )
    total = engine[None]
    print(
        f"    group figures of {start:%Y-%m} over {len(stores)} stores (engine = floor): {total['visits']:,} visits, "
        f"revenue {total['revenue']:,.2f}, {total['due']:,} callbacks due, {total['executed']:,} executed, "
        f"{total['successful']:,} successful, CSI {total['csi_sum'] / (total['csi_count'] or 1):.2f}, "
        f"complaints {total['opened']:,} opened, {total['closed']:,} closed, {total['overdue']:,} overdue",
        flush=True,
    )
    return state


def run(env, state):
    # the wizard's environment is the manager's, on the bench's cursor
    return state["wizard"]._get_group_figures(figures=FIGURES)


def _norm(row):
    return tuple(round(float(row.get(k) or 0), 2) for k in KEYS)


def _engine_rows(figures):
    rows = {store_id: dict(zip(KEYS, _norm(row), strict=True)) for store_id, row in figures["rows"].items()}
    rows[None] = dict(zip(KEYS, _norm(figures["total"]), strict=True))
    return rows


def _floor_rows(result):
    return {
        store_id: dict(zip(KEYS, _norm(dict(zip(KEYS, values, strict=True))), strict=True))
        for store_id, values in result.items()
    }


def floor(cr, state):
    cr.execute("SET LOCAL jit = off")
    start, stop, ids = state["start"], state["stop"], state["stores"].ids
    result = {store_id: [0] * len(KEYS) for store_id in [*ids, None]}
    cr.execute(
        """SELECT company_id, count(*), sum(amount_total)
             FROM auto_crm_service_visit
            WHERE date_delivered >= %s AND date_delivered < %s AND state = 'followup' AND company_id = ANY(%s)
         GROUP BY GROUPING SETS ((company_id), ())""",
        [start, stop, ids],
    )
    for store_id, visits, revenue in cr.fetchall():
        result[store_id][0:2] = [visits, revenue]
    cr.execute(
        """SELECT c.company_id, count(*),
                  count(*) FILTER (WHERE c.state IN ('done', 'failed')
                                      OR EXISTS (SELECT 1 FROM auto_crm_callback_attempt a WHERE a.callback_id = c.id)),
                  count(*) FILTER (WHERE c.state = 'done'),
                  sum(c.csi) FILTER (WHERE c.state = 'done' AND c.csi_hierarchy_id IS NOT NULL
                                       AND c.survey_kind = 'after_service'),
                  count(*) FILTER (WHERE c.state = 'done' AND c.csi_hierarchy_id IS NOT NULL
                                     AND c.survey_kind = 'after_service')
             FROM auto_crm_callback c
            WHERE c.date_due >= %s AND c.date_due < %s AND c.state <> 'cancel' AND c.company_id = ANY(%s)
         GROUP BY GROUPING SETS ((c.company_id), ())""",
        [start, stop, ids],
    )
    for store_id, *values in cr.fetchall():
        result[store_id][2:7] = values
    now = min(datetime.datetime.now(), datetime.datetime.combine(stop, datetime.time()))
    cr.execute(
        """SELECT company_id,
                  count(*) FILTER (WHERE date_received >= %(start)s AND date_received < %(stop)s),
                  count(*) FILTER (WHERE date_closed >= %(start)s AND date_closed < %(stop)s),
                  count(*) FILTER (WHERE deadline_resolve >= %(start)s AND deadline_resolve < %(now)s
                                     AND (date_resolved IS NULL OR date_resolved > deadline_resolve))
             FROM auto_crm_complaint
            WHERE company_id = ANY(%(ids)s)
              AND (date_received >= %(start)s AND date_received < %(stop)s
                   OR date_closed >= %(start)s AND date_closed < %(stop)s
                   OR deadline_resolve >= %(start)s AND deadline_resolve < %(now)s)
         GROUP BY GROUPING SETS ((company_id), ())""",
        {"start": start, "stop": stop, "now": now, "ids": ids},
    )
    for store_id, *values in cr.fetchall():
        result[store_id][7:10] = values
    return result


def cases(env):
    _group_company, stores = _group(env)
    env.cr.execute("SELECT count(*) FROM auto_crm_service_visit WHERE company_id = ANY(%s)", [stores.ids])
    visits = env.cr.fetchone()[0]
    return [
        {
            "name": "group: stores side by side",
            "prepare": prepare,
            "run": run,
            "floor": floor,
            "target": 1.5,
            "target_at": {"group"},
            "rollback": True,
            "n": visits,
        },
    ]
