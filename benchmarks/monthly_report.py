"""Benchmark of the monthly callback report (回访月报): fill a throw-away database with callbacks
in bulk and time the report at growing sizes (not a test; it prints figures).

Run it in an Odoo shell on a database that has auto_crm installed and that you can throw away:

    tools/dev odoo -d bench_report -i auto_crm --stop-after-init --without-demo=all
    BENCH_SIZES=10000,100000,1000000 tools/dev odoo shell -d bench_report --log-level=warn \
        < benchmarks/monthly_report.py

BENCH_SIZES are cumulative totals of callbacks (default 10,000, 100,000 and 1,000,000); the
callbacks are spread over 24 months ending last month, in one store, so the reported month holds
about 1/24 of them. Per callback: 60 % done (with an answer to every question of the seeded
after-service questionnaire, an overall score and a CSI on the store's active hierarchy), 15 %
failed, 10 % open, 10 % expired, 5 % cancelled; one logged attempt for the failed and half of the
open ones; 20 % carry an issue tag. Everything is inserted with SQL (no ORM), then ANALYZE.

For each size it prints the seconds and queries of the figures (the on-screen report) and of the
XLSX workbook (figures excluded; its data sheet lists every callback of the month).
BENCH_COMMIT=1 keeps the data, otherwise everything is rolled back at the end.
"""

import datetime
import os
import time

from dateutil.relativedelta import relativedelta

SIZES = [int(s) for s in os.environ.get("BENCH_SIZES", "10000,100000,1000000").split(",")]
COMMIT = os.environ.get("BENCH_COMMIT") == "1"

env = env(context=dict(env.context, tracking_disable=True, mail_notrack=True))  # noqa: F821 - the shell's env
cr = env.cr
admin = env.ref("base.user_admin")
company = env.company
questionnaire = env.ref("auto_crm.questionnaire_after_service")
hierarchy = env["auto_crm.csi.hierarchy"].search([("company_id", "=", company.id), ("state", "=", "active")], limit=1)
tags = env["auto_crm.callback.issue.tag"].search([], limit=5)
this_month = datetime.date.today().replace(day=1)
report_month = this_month - relativedelta(months=1)
first_month = this_month - relativedelta(months=24)

cr.execute(
    """INSERT INTO res_partner (name, complete_name, active, type, auto_customer, auto_callback_consent, mobile,
                                create_date, write_date, create_uid, write_uid)
       SELECT '回访客户 ' || n, '回访客户 ' || n, TRUE, 'contact', TRUE, TRUE, '+86 139 ' || lpad(n::text, 8, '0'),
              now(), now(), 1, 1
         FROM generate_series(1, 2000) AS n
    RETURNING id"""
)
partner_ids = [row[0] for row in cr.fetchall()]


def fill(start, stop):
    """Callbacks number start+1 .. stop, with their answers, attempts and tags."""
    cr.execute(
        """INSERT INTO auto_crm_callback (name, company_id, partner_id, questionnaire_id, user_id, channel, state,
                                          close_reason, date_due, date_done, max_attempts, overall_score, csi,
                                          csi_hierarchy_id, source_period, customer_complains,
                                          create_date, write_date, create_uid, write_uid)
           SELECT '回访 ' || n, %(company)s, (%(partners)s::int[])[1 + n %% 2000], %(questionnaire)s, %(user)s,
                  'phone', st.state, CASE st.state WHEN 'failed' THEN 'max_attempts' WHEN 'expired' THEN 'expired'
                                                   WHEN 'cancel' THEN 'duplicate' END,
                  due, CASE WHEN st.state = 'done' THEN due + interval '10 hours' END, 3,
                  CASE WHEN st.state = 'done' THEN 1 + n %% 5 ELSE 0 END,
                  CASE WHEN st.state = 'done' AND %(hierarchy)s IS NOT NULL THEN (n %% 101)::float END,
                  CASE WHEN st.state = 'done' THEN %(hierarchy)s END,
                  0, FALSE, now(), now(), 1, 1
             FROM generate_series(%(start)s + 1, %(stop)s) AS n
            CROSS JOIN LATERAL (SELECT CASE WHEN n %% 20 < 12 THEN 'done' WHEN n %% 20 < 15 THEN 'failed'
                                            WHEN n %% 20 < 17 THEN 'todo' WHEN n %% 20 < 19 THEN 'expired'
                                            ELSE 'cancel' END AS state,
                                       %(first)s::date + (n %% 730) * interval '1 day' AS due) st
        RETURNING id, state""",
        {
            "company": company.id,
            "partners": partner_ids,
            "questionnaire": questionnaire.id,
            "user": admin.id,
            "hierarchy": hierarchy.id or None,
            "start": start,
            "stop": stop,
            "first": first_month,
        },
    )
    rows = cr.fetchall()
    ids = [r[0] for r in rows]
    cr.execute(
        """INSERT INTO auto_crm_callback_answer (callback_id, question_id, sequence, step, score, score_value,
                                                 company_id, partner_id, date_done, questionnaire_id,
                                                 create_date, write_date, create_uid, write_uid)
           SELECT c.id, q.id, q.sequence, q.step, (1 + (c.id + q.id) %% 5)::text, 1 + (c.id + q.id) %% 5,
                  c.company_id, c.partner_id, c.date_done, q.questionnaire_id, now(), now(), 1, 1
             FROM auto_crm_callback c
             JOIN auto_crm_question q ON q.questionnaire_id = c.questionnaire_id AND q.active
            WHERE c.id = ANY(%s) AND c.state = 'done'""",
        (ids,),
    )
    cr.execute(
        """INSERT INTO auto_crm_callback_attempt (callback_id, company_id, partner_id, date, user_id, channel, outcome,
                                                  create_date, write_date, create_uid, write_uid)
           SELECT c.id, c.company_id, c.partner_id, c.date_due + interval '9 hours', c.user_id, 'phone',
                  CASE WHEN c.state = 'failed' THEN 'refused' ELSE 'no_answer' END, now(), now(), 1, 1
             FROM auto_crm_callback c
            WHERE c.id = ANY(%s) AND (c.state = 'failed' OR (c.state = 'todo' AND c.id %% 2 = 0))""",
        (ids,),
    )
    if tags:
        cr.execute(
            """INSERT INTO auto_crm_callback_issue_tag_rel (callback_id, tag_id)
               SELECT id, (%s::int[])[1 + id %% %s] FROM unnest(%s::int[]) AS id WHERE id %% 5 = 0""",
            (tags.ids, len(tags), ids),
        )
    cr.execute(
        "ANALYZE auto_crm_callback; ANALYZE auto_crm_callback_answer; ANALYZE auto_crm_callback_attempt; "
        "ANALYZE auto_crm_callback_issue_tag_rel"
    )


Wizard = env(user=admin)["auto_crm.callback.report.wizard"]
done = 0
for size in SIZES:
    started = time.monotonic()
    fill(done, size)
    done = size
    env.invalidate_all()
    print(f"filled {size} callbacks in {time.monotonic() - started:.1f} s", flush=True)
    wizard = Wizard.create({"month": report_month, "company_ids": [(6, 0, company.ids)]})
    wizard._get_figures()  # warm the registry and rule caches
    env.invalidate_all()
    queries = cr.sql_log_count
    started = time.monotonic()
    figures = wizard._get_figures()
    seconds = time.monotonic() - started
    queries = cr.sql_log_count - queries
    total = figures["total"]
    print(
        f"report: callbacks={size} month={report_month:%Y-%m} due={total['due']} executed={total['executed']} "
        f"successful={total['successful']} csi={total['csi'] or 0:.1f} seconds={seconds:.3f} queries={queries}",
        flush=True,
    )
    queries = cr.sql_log_count
    started = time.monotonic()
    content = wizard._build_report_xlsx(figures)
    print(
        f"xlsx: callbacks={size} rows={total['due']} bytes={len(content)} seconds={time.monotonic() - started:.3f} "
        f"queries={cr.sql_log_count - queries}",
        flush=True,
    )

if COMMIT:
    cr.commit()
    print("committed")
else:
    cr.rollback()
    print("rolled back (BENCH_COMMIT=1 keeps the data)")
