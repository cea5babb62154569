import datetime

import odoo.tests
from odoo import Command

LOGGER = "odoo.addons.auto_crm.report.auto_crm_csi_report"


@odoo.tests.tagged("post_install", "-at_install")
class TestCsiPivotTour(odoo.tests.HttpCase):
    """The satisfaction analysis's pivot in Chromium: two stores side by side, from one request."""

    def test_manager_reads_the_pivot(self):
        env = self.env(context=dict(self.env.context, tracking_disable=True))
        env["auto_crm.callback.rule"].search([]).active = False
        stores = env["res.company"].create([{"name": "Tour Store East"}, {"name": "Tour Store West"}])
        manager = odoo.tests.new_test_user(
            env,
            "tour_csi_manager",
            groups="base.group_user,auto_crm.group_manager",
            name="Tour CSI Manager",
            password="tour_csi_manager",
            company_id=stores[0].id,
            company_ids=[Command.set(stores.ids)],
        )
        questionnaire = env["auto_crm.questionnaire"].create(
            {"name": "Tour questionnaire", "question_ids": [Command.create({"name": "Greeted?", "step": "greeting"})]}
        )
        due = datetime.date.today() - datetime.timedelta(days=20)  # inside "Last 12 Months" at any hour
        callbacks = env["auto_crm.callback"]
        for store in stores:
            hierarchy = env["auto_crm.csi.hierarchy"].create(
                {
                    "name": "Tour index",
                    "company_id": store.id,
                    "criterion_ids": [
                        Command.create({"name": "Greeting", "sequence": 1, "step": "greeting"}),
                        Command.create({"name": "Cleanliness", "sequence": 2, "step": "cleanliness"}),
                    ],
                }
            )
            hierarchy.comparison_ids.value = "3"
            hierarchy.action_activate()
            customer = env["res.partner"].create({"name": "评价客户", "auto_customer": True, "company_id": store.id})
            callbacks |= env["auto_crm.callback"].create(
                {
                    "partner_id": customer.id,
                    "questionnaire_id": questionnaire.id,
                    "company_id": store.id,
                    "date_due": due,
                }
            )
            env.flush_all()
            # done with a known index (the index's computation is tested in test_csi_report)
            env.cr.execute(
                "UPDATE auto_crm_callback SET state = 'done', date_done = now(), csi = %s, csi_hierarchy_id = %s "
                "WHERE id = %s",
                [87.5 if store == stores[0] else 62.5, hierarchy.id, callbacks[-1:].id],
            )
        callbacks.invalidate_recordset()
        with self.assertLogs(LOGGER, "DEBUG") as logs:
            # both stores selected in the company switcher
            url = f"/odoo/action-auto_crm.auto_crm_csi_report_action?cids={stores[0].id}-{stores[1].id}"
            self.start_tour(url, "auto_crm_csi_pivot_tour", login=manager.login)
        # the total, per month, per store, per month and store: one request
        self.assertIn("read_group_sets: 4 group-by sets of auto_crm.csi.report in one query", "\n".join(logs.output))
