from freezegun import freeze_time
from psycopg2 import IntegrityError

from odoo.exceptions import UserError, ValidationError
from odoo.tests import Form, tagged
from odoo.tools import mute_logger

from .callback_common import CallbackCase


@tagged("post_install", "-at_install")
class TestCallbackWork(CallbackCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.rule = cls.make_rule(max_attempts=3, assignment="round_robin")
        cls.technician = cls.advisor2
        visits = cls.make_delivered_visits(2, cls.at("2025-03-01"), technician_id=cls.advisor2.id)
        cls.visits = visits
        with freeze_time("2025-03-04 02:00:00"):
            cls.rule._run_engine()
        cls.first, cls.second = cls.env["auto_crm.callback"].search([("rule_id", "=", cls.rule.id)], order="id")

    def log(self, callback, outcome, user=None):
        env = self.env(user=user) if user else self.env
        return env["auto_crm.callback.attempt"].create(
            {"callback_id": callback.id, "outcome": outcome, "channel": "phone"}
        )

    def test_retries_up_to_the_maximum(self):
        self.log(self.first, "no_answer")
        self.log(self.first, "busy")
        self.assertEqual(self.first.state, "todo")
        self.assertEqual(self.first.attempt_count, 2)
        self.log(self.first, "no_answer")
        self.assertEqual(self.first.state, "failed")
        self.assertEqual(self.first.close_reason, "max_attempts")
        with self.assertRaises(UserError):
            self.log(self.first, "no_answer")

    def test_refused_and_wrong_number_fail_at_once(self):
        self.log(self.first, "refused")
        self.assertEqual((self.first.state, self.first.close_reason), ("failed", "refused"))
        self.log(self.second, "wrong_number")
        self.assertEqual((self.second.state, self.second.close_reason), ("failed", "wrong_number"))

    def test_answered_starts_the_call_with_one_answer_per_question(self):
        self.log(self.first, "answered")
        self.assertEqual(self.first.state, "in_progress")
        self.assertEqual(self.first.answer_ids.question_id, self.questionnaire.question_ids)
        # Starting again adds nothing; the database refuses a second answer to a question.
        self.first.action_start()
        self.assertEqual(len(self.first.answer_ids), 3)
        with mute_logger("odoo.sql_db"), self.assertRaises(IntegrityError), self.env.cr.savepoint():
            self.env["auto_crm.callback.answer"].create(
                {"callback_id": self.first.id, "question_id": self.questionnaire.question_ids[0].id}
            )

    def test_done_requires_every_required_answer(self):
        self.first.action_start()
        greeting, clean, overall = self.first.answer_ids.sorted("sequence")
        greeting.score = "4"
        with self.assertRaises(UserError) as caught:
            self.first.action_done()
        self.assertIn("Overall?", str(caught.exception))
        self.assertNotIn("Clean?", str(caught.exception), "an optional question may stay unanswered")
        overall.write({"score": "2", "comment": "等了太久"})
        self.first.write(
            {"issue_tag_ids": [(4, self.env.ref("auto_crm.issue_tag_waiting").id)], "customer_complains": True}
        )
        with freeze_time("2025-03-05 03:00:00"):
            self.first.action_done()
        self.assertEqual(self.first.state, "done")
        self.assertEqual(str(self.first.date_done), "2025-03-05 03:00:00")
        self.assertEqual(self.first.overall_score, 2, "taken from the answer to the overall question")
        # The answers carry what a report groups by, stored.
        self.assertEqual(overall.score_value, 2)
        self.assertEqual(overall.date_done, self.first.date_done)
        self.assertEqual(overall.advisor_id, self.advisor)
        self.assertEqual(overall.technician_id, self.advisor2)
        self.assertEqual(overall.partner_id, self.first.partner_id)
        self.assertEqual(overall.company_id, self.company)
        self.assertFalse(clean.score_value)
        groups = self.env["auto_crm.callback.answer"]._read_group(
            [("callback_id", "=", self.first.id), ("score", "!=", False)], ["step"], ["score_value:avg"]
        )
        self.assertEqual(dict(groups), {"greeting": 4.0, "overall": 2.0})
        with self.assertRaises(UserError):
            self.first.action_done()

    def test_fail_cancel_and_reset(self):
        with self.assertRaises(UserError):
            self.first.action_fail()
        self.first.write({"close_reason": "other", "close_note": "客户已出国"})
        self.first.action_fail()
        self.assertEqual(self.first.state, "failed")
        with self.assertRaises(UserError):
            self.first.with_user(self.first.user_id).action_reset()
        self.first.with_user(self.manager).action_reset()
        self.assertEqual(self.first.state, "todo")
        self.second.close_note = "重复"
        self.second.action_cancel()
        self.assertEqual(self.second.state, "cancel")

    def test_delete_only_untouched_manual_callbacks(self):
        with self.assertRaises(UserError):
            self.first.with_user(self.dealer_admin).unlink()
        manual = self.env["auto_crm.callback"].create({"partner_id": self.customer.id})
        self.assertIn(self.customer.name, manual.name)
        manual.with_user(self.dealer_admin).unlink()
        self.assertFalse(manual.exists())

    def test_rule_form_preview_before_switching_on(self):
        with freeze_time("2025-03-04 02:00:00"):
            form = Form(self.env["auto_crm.callback.rule"])
            form.name = "Preview"
            form.trigger = "service_delivered"
            form.questionnaire_id = self.questionnaire
            form.assignment = "team"
            form.team_id = self.team
            form.active = False
            rule = form.save()
            self.assertFalse(rule.active)
            # Both customers already have the first rule's open call: the preview shows the overlap (issue 12).
            self.assertEqual(self.preview(rule)["created"], 0)
            self.assertEqual(self.preview(rule)["open"], 2)
            self.assertEqual(self.preview(self.rule)["created"], 0, "already created")
            self.assertEqual(self.preview(self.rule)["already"], 2)
            self.assertEqual(rule.source_model, "auto_crm.service.visit")
            action = rule.with_user(self.dealer_admin).action_preview()
        self.assertEqual(action["params"]["type"], "info")
        self.assertIn("would create 0 callbacks", action["params"]["message"])
        self.assertIn("2 customers skipped because they already have an open callback", action["params"]["message"])
        self.assertFalse(self.callbacks(rule), "a preview creates nothing")

    def test_assignment_rules_are_checked(self):
        with self.assertRaisesRegex(ValidationError, "^Assign To:"):
            self.make_rule(assignment="user", user_id=False, team_id=False)
        with self.assertRaisesRegex(ValidationError, "^Team:"):
            self.make_rule(assignment="round_robin", team_id=False)

    def test_run_now_for_admins_only(self):
        with self.assertRaises(UserError):
            self.rule.with_user(self.manager).action_run_now()
        action = self.rule.with_user(self.dealer_admin).action_run_now()
        self.assertEqual(action["tag"], "display_notification")
        with self.assertRaises(UserError):
            self.env["auto_crm.callback.engine"].with_user(self.manager).action_run_now()
        action = self.env["auto_crm.callback.engine"].with_user(self.dealer_admin).action_run_now()
        self.assertEqual(action["params"]["type"], "success")

    def test_cron_job(self):
        cron = self.env.ref("auto_crm.auto_crm_callback_engine_cron")
        self.assertEqual(cron.interval_type, "days")
        visits = self.make_delivered_visits(1, self.at("2025-03-02"))
        with freeze_time("2025-03-05 02:00:00"):
            cron.method_direct_trigger()
        self.assertEqual(len(self.callbacks(self.rule).filtered(lambda c: c.visit_id == visits)), 1)
