#!/usr/bin/env python3
"""Benchmark of the complaint scheduled jobs: SLA escalation and overdue corrective actions.

Creates N breached complaints (and N overdue approved corrective actions) in a database where
auto_crm is installed, runs each job once and prints queries and time per size. Everything runs in
one transaction that is rolled back: the database is left as it was.

    ~/.cache/auto_crm/venv/bin/python benchmarks/complaint_jobs.py DBNAME [100 1000 5000]

Odoo comes from $ODOO_SRC or ~/.cache/auto_crm/odoo-18.0 (as for tools/dev). Not a test.
"""

import os
import sys
import time
from datetime import timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
ODOO_SRC = Path(os.environ.get("ODOO_SRC") or Path.home() / ".cache/auto_crm/odoo-18.0")
sys.path.insert(0, str(ODOO_SRC))

import odoo
from odoo import SUPERUSER_ID, api, fields
from odoo.tools import config


def measure(env, label, size, job):
    env.flush_all()
    env.invalidate_all()
    queries = env.cr.sql_log_count
    start = time.perf_counter()
    done = job()
    env.flush_all()
    elapsed = time.perf_counter() - start
    queries = env.cr.sql_log_count - queries
    print(
        f"{label:<22} {size:>6} records  done={done:<6} {queries:>5} queries  {elapsed:7.2f} s  "
        f"{1000 * elapsed / max(size, 1):6.2f} ms/record"
    )


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    dbname, sizes = sys.argv[1], [int(s) for s in sys.argv[2:]] or [100, 1000]
    config.parse_config(
        [f"--addons-path={ODOO_SRC / 'odoo/addons'},{REPO}", f"--data-dir={Path.home() / '.cache/auto_crm/data'}"]
    )
    registry = odoo.modules.registry.Registry(dbname)
    with registry.cursor() as cr:
        env = api.Environment(cr, SUPERUSER_ID, {"tracking_disable": True, "mail_create_nolog": True})
        Complaint = env["auto_crm.complaint"]
        Action = env["auto_crm.corrective.action"]
        partner = env["res.partner"].create({"name": "基准测试客户"})
        owner = env.ref("base.user_admin")
        Complaint._cron_escalate_sla()
        Action._cron_remind_overdue()
        for size in sizes:
            received = fields.Datetime.now() - timedelta(days=5)
            complaints = Complaint.create(
                [
                    {"subject": f"Benchmark {i}", "partner_id": partner.id, "date_received": received}
                    for i in range(size)
                ]
            )
            measure(env, "SLA escalation", size, Complaint._cron_escalate_sla)
            measure(env, "SLA escalation, again", size, Complaint._cron_escalate_sla)
            complaints.write({"active": False})
            actions = Action.create(
                [
                    {
                        "name": f"Benchmark {i}",
                        "origin_type": "internal_finding",
                        "recurring_issue": "Benchmark",
                        "user_id": owner.id,
                        "deadline": fields.Date.today() + timedelta(days=1),
                        "description": "<p>Plan</p>",
                    }
                    for i in range(size)
                ]
            )
            actions.write({"state": "waiting_approval"})
            # Approved by the superuser, not the owner; then the deadline passes.
            actions.write({"state": "approved"})
            env.cr.execute(
                "UPDATE auto_crm_corrective_action SET deadline = deadline - 10 WHERE id = ANY(%s)", [actions.ids]
            )
            actions.invalidate_recordset(["deadline"])
            measure(env, "Overdue reminders", size, Action._cron_remind_overdue)
            actions.write({"active": False})
        cr.rollback()


if __name__ == "__main__":
    main()
