import datetime

import odoo.tests

from ..lib.vin import with_check_digit


@odoo.tests.tagged("post_install", "-at_install")
class TestCallbackTour(odoo.tests.HttpCase):
    def test_agent_works_the_board(self):
        env = self.env(context=dict(self.env.context, tracking_disable=True))
        env["auto_crm.callback.rule"].search([]).active = False
        # The agent's day and the engine's day are the same day at any hour: the store's day (the
        # board's "My Calls Today" is searched on the server by the store's time zone, whatever
        # the agent's own).
        env.company.auto_crm_tz = "Asia/Shanghai"
        agent = odoo.tests.new_test_user(
            env,
            "tour_agent",
            groups="auto_crm.group_agent",
            name="Tour Agent",
            password="tour_agent",
            tz="America/Los_Angeles",
        )
        questionnaire = env["auto_crm.questionnaire"].create(
            {
                "name": "Tour questionnaire",
                "question_ids": [
                    (0, 0, {"sequence": 1, "name": "Greeted promptly?", "step": "greeting"}),
                    (0, 0, {"sequence": 2, "name": "Overall satisfaction?", "step": "overall"}),
                ],
            }
        )
        rule = env["auto_crm.callback.rule"].create(
            {
                "name": "Tour rule",
                "trigger": "service_delivered",
                "delay_days": 3,
                "window_days": 4,
                "questionnaire_id": questionnaire.id,
                "assignment": "user",
                "user_id": agent.id,
            }
        )
        visits = env["auto_crm.service.visit"]
        for number, name in ((1, "回访客户甲"), (2, "回访客户乙")):
            customer = env["res.partner"].create({"name": name, "auto_customer": True, "auto_callback_consent": True})
            vehicle = env["auto_crm.vehicle"].create(
                {"vin": with_check_digit(f"LSVAU2180N2{990000 + number:06d}"), "partner_id": customer.id}
            )
            visits |= env["auto_crm.service.visit"].create(
                {"partner_id": customer.id, "vehicle_id": vehicle.id, "mileage_in": 1000}
            )
        env.flush_all()
        delivered = datetime.datetime.now() - datetime.timedelta(days=3)
        env.cr.execute(
            "UPDATE auto_crm_service_visit SET state = 'followup', date_delivered = %s WHERE id IN %s",
            (delivered, tuple(visits.ids)),
        )
        visits.invalidate_recordset()
        rule.domain = repr([("id", "in", visits.ids)])  # not the demo data's deliveries
        self.assertEqual(rule._run_engine().created_count, 2)

        self.start_tour("/odoo", "auto_crm_callback_tour", login=agent.login)

        first, second = (
            env["auto_crm.callback"].search([("rule_id", "=", rule.id), ("visit_id", "=", visit.id)])
            for visit in visits
        )
        self.assertEqual(first.state, "todo")
        self.assertEqual(first.attempt_ids.outcome, "no_answer")
        self.assertEqual(first.attempt_ids.user_id, agent)
        self.assertEqual(second.state, "done")
        self.assertEqual(sorted(second.answer_ids.mapped("score")), ["4", "5"])
        self.assertEqual(second.overall_score, 4)
