from freezegun import freeze_time

from odoo.tests import tagged

from .callback_common import CallbackCase


@tagged("post_install", "-at_install")
class TestComplaintLoop(CallbackCase):
    """The closed loop: low-score callback -> complaint -> corrective action approved and done ->
    complaint closed -> confirmation callback from the engine."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.rule = cls.make_rule()
        cls.confirmation_rule = cls.env.ref("auto_crm.callback_rule_complaint_closed")
        cls.confirmation_rule.active = True
        # seeded at install, it starts from the install day (no back-filling of history); the test's
        # clock is in 2025
        cls.confirmation_rule.date_start = False
        cls.visits = cls.make_delivered_visits(3, cls.at("2025-03-01"), technician_id=cls.advisor2.id)
        with freeze_time("2025-03-04 02:00:00"):
            cls.rule._run_engine()
        cls.low, cls.happy, cls.complains = cls.callbacks(cls.rule).sorted("id")
        cls.company.complaint_callback_score_threshold = 2

    def finish(self, callback, overall, **vals):
        callback.action_start()
        for answer in callback.answer_ids:
            answer.score = str(overall)
        callback.write(vals)
        callback.action_done()

    def test_low_score_opens_one_complaint(self):
        self.finish(self.low, 2)
        complaint = self.low.complaint_ids
        self.assertEqual(len(complaint), 1)
        self.assertEqual(complaint.channel, "callback")
        self.assertEqual(complaint.callback_id, self.low)
        self.assertEqual(complaint.partner_id, self.low.partner_id)
        self.assertEqual(complaint.visit_id, self.low.visit_id)
        self.assertIn("2 out of 5", complaint.subject)
        # Done twice (the hook run again) still gives one complaint.
        self.low._open_complaints()
        self.assertEqual(self.low.complaint_count, 1)

    def test_satisfied_customer_opens_nothing_unless_complaining(self):
        self.finish(self.happy, 4)
        self.assertFalse(self.happy.complaint_ids)
        self.finish(self.complains, 5, customer_complains=True)
        self.assertEqual(len(self.complains.complaint_ids), 1)
        self.assertIn("complained", self.complains.complaint_ids.subject)

    def test_agent_completing_a_call_opens_the_complaint(self):
        callback = self.low.with_user(self.agent)
        callback.action_take()
        self.finish(callback, 1)
        self.assertEqual(self.low.complaint_count, 1)

    def test_full_loop_to_confirmation_callback(self):
        self.finish(self.low, 1)
        complaint = self.low.complaint_ids
        complaint.action_acknowledge()
        complaint.action_investigate()
        action = self.env["auto_crm.corrective.action"].create(
            {
                "name": "Re-train the delivery check",
                "description": "<p>Add the final walk-around to the delivery checklist and train the advisors.</p>",
                "action_type": "corrective",
                "origin_type": "complaint",
                "complaint_ids": [(6, 0, complaint.ids)],
                "user_id": self.manager.id,
                "supervisor_id": self.manager.id,
                "deadline": "2025-04-30",
            }
        )
        action.with_user(self.manager).action_submit()
        action.with_user(self.dealer_admin).action_approve()
        action.with_user(self.manager).action_start()
        action.with_user(self.manager).write({"result": "Checklist updated, team trained."})
        action.with_user(self.manager).action_done()
        self.assertEqual(action.state, "done")
        complaint.write({"root_cause": "Car delivered without final check", "resolution": "Free re-check and car wash"})
        complaint.action_resolve()
        with freeze_time("2025-03-10 02:00:00"):
            complaint.action_close()
        self.assertEqual(complaint.state, "closed")
        # The engine runs every day; two days after closing the confirmation call is due.
        with freeze_time("2025-03-11 02:00:00"):
            self.confirmation_rule._run_engine()
        self.assertFalse(complaint.confirmation_callback_ids, "not due yet")
        with freeze_time("2025-03-12 02:00:00"):
            self.confirmation_rule._run_engine()
            self.confirmation_rule._run_engine()
        complaint.invalidate_recordset(["confirmation_callback_ids"])
        confirmation = complaint.confirmation_callback_ids
        self.assertEqual(len(confirmation), 1, "created once, however often the engine runs")
        self.assertEqual(confirmation.partner_id, complaint.partner_id)
        self.assertEqual(confirmation.questionnaire_id, self.env.ref("auto_crm.questionnaire_complaint_confirmation"))

    def test_recurring_issue_opens_preventive_action(self):
        tag = self.env.ref("auto_crm.issue_tag_waiting")
        before = tag.recent_count
        for callback in (self.low, self.happy):
            self.finish(callback, 4, issue_tag_ids=[(4, tag.id)])
        tag.invalidate_recordset()
        self.assertEqual(tag.recent_count, before + 2)
        result = tag.with_user(self.manager).action_open_preventive_action()
        action = self.env["auto_crm.corrective.action"].browse(result["res_id"])
        self.assertEqual(action.action_type, "preventive")
        self.assertEqual(action.origin_type, "recurring_issue")
        self.assertEqual(action.issue_tag_ids, tag)
        self.assertIn(f"{before + 2} callbacks", action.recurring_issue)
        tag.invalidate_recordset()
        self.assertIn(action, tag.preventive_action_ids)
