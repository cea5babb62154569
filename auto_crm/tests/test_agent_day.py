"""The agent's day (issue 12): a call not answered moves on, a call worked logs its answered attempt,
a complaint opened by a low score carries what the customer said, and the rule form previews as you
edit it."""

import datetime
import re

from freezegun import freeze_time

from odoo.exceptions import UserError, ValidationError
from odoo.tests import Form, tagged

from .callback_common import CallbackCase


@tagged("post_install", "-at_install")
class TestAgentDay(CallbackCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        # The team's pool: the engine assigns nobody, the agents take or try the calls.
        cls.rule = cls.make_rule(max_attempts=3, assignment="team")
        cls.visits = cls.make_delivered_visits(3, cls.at("2025-03-01"))
        with freeze_time("2025-03-04 02:00:00"):
            cls.rule._run_engine()
        cls.first, cls.second, cls.third = cls.callbacks(cls.rule).sorted("id")
        cls.company.write({"callback_retry_mode": "hours", "callback_retry_hours": 2, "callback_opening_hour": 8.5})

    def log(self, callback, outcome, user=None):
        return (
            self.env["auto_crm.callback.attempt"]
            .with_user(user or self.agent)
            .create({"callback_id": callback.id, "outcome": outcome, "channel": "phone"})
        )

    def notes(self, callback):
        return callback.message_ids.filtered(lambda m: m.subtype_id == self.env.ref("mail.mt_note")).mapped("body")

    # ------------------------------------------------------------------ no answer moves the call on
    @freeze_time("2025-03-04 02:00:00")  # 10:00 in Shanghai, the store's time zone
    def test_no_answer_assigns_the_agent_sets_the_next_try_and_tells_the_chatter(self):
        self.assertFalse(self.first.user_id, "a pool call")
        self.log(self.first, "no_answer")
        self.assertEqual(self.first.state, "todo")
        self.assertEqual(self.first.user_id, self.agent, "the call is the agent's who tried")
        self.assertEqual(self.first.date_next_try, datetime.datetime(2025, 3, 4, 4, 0), "two hours later")
        [note] = self.notes(self.first)
        self.assertIn("No answer (attempt 1 of 3, Agent): next try", note)
        self.assertIn("12:00", note, "the next try in the store's time")
        # A busy line later: still the same agent's, the next try moves on.
        with freeze_time("2025-03-04 05:00:00"):
            self.log(self.first, "busy", user=self.manager)
        self.assertEqual(self.first.user_id, self.agent, "an assigned call stays with its agent")
        self.assertEqual(self.first.date_next_try, datetime.datetime(2025, 3, 4, 7, 0))
        # Answered: the call starts, the next try means nothing any more.
        self.log(self.first, "answered")
        self.assertEqual(self.first.state, "in_progress")
        self.assertFalse(self.first.date_next_try)

    def test_next_day_at_opening_by_the_store_day(self):
        self.company.write({"callback_retry_mode": "next_day", "callback_opening_hour": 8.5})
        with freeze_time("2025-03-04 02:00:00"):  # 10:00 on the 4th in Shanghai
            self.log(self.first, "no_answer")
        self.assertEqual(self.first.date_next_try, datetime.datetime(2025, 3, 5, 0, 30), "08:30 on the 5th, Shanghai")
        with freeze_time("2025-03-04 23:30:00"):  # already 07:30 on the 5th in Shanghai
            self.log(self.second, "no_answer")
        self.assertEqual(self.second.date_next_try, datetime.datetime(2025, 3, 6, 0, 30), "08:30 on the 6th")

    @freeze_time("2025-03-04 02:00:00")
    def test_the_last_attempt_fails_the_call_and_says_so(self):
        for _attempt in range(3):
            self.log(self.first, "no_answer")
        self.assertEqual((self.first.state, self.first.close_reason), ("failed", "max_attempts"))
        self.assertFalse(self.first.date_next_try)
        self.assertIn("not reached after the maximum attempts", self.notes(self.first)[0])
        with self.assertRaises(UserError):
            self.log(self.first, "no_answer")

    @freeze_time("2025-03-20 02:00:00")
    def test_a_no_answer_counts_as_executed_in_the_agents_own_report(self):
        self.log(self.first, "no_answer")
        self.env.flush_all()  # (the report is another request)
        wizard = (
            self.env["auto_crm.callback.report.wizard"]
            .with_user(self.agent)
            .create({"month": "2025-03-01", "company_ids": [(6, 0, self.company.ids)]})
        )
        self.assertTrue(wizard.own_only)
        total = wizard._get_figures()["total"]
        self.assertEqual((total["due"], total["executed"], total["successful"]), (1, 1, 0))

    @freeze_time("2025-03-04 02:00:00")
    def test_start_call_then_done_logs_one_answered_attempt(self):
        callback = self.first.with_user(self.agent)
        callback.action_take()
        callback.action_start()
        self.assertEqual(callback.attempt_ids.mapped("outcome"), ["answered"])
        self.assertEqual(callback.attempt_ids.user_id, self.agent)
        for answer in callback.answer_ids:
            answer.score = "4"
        callback.action_done()
        self.assertEqual(callback.state, "done")
        self.assertEqual(callback.attempt_count, 1, "a done call shows its attempt: 1/3, not 0/3")
        # Done straight from to do (a plain write, as the button does) logs it too.
        self.second.action_take()
        self.second._ensure_answers()
        self.second.answer_ids.score = "5"
        self.second.write({"state": "done"})
        self.assertEqual(self.second.attempt_ids.mapped("outcome"), ["answered"])

    def test_nobody_writes_the_next_try(self):
        for user in (self.agent, self.manager, self.dealer_admin):
            with self.subTest(user=user.login), self.assertRaises(UserError):
                self.first.with_user(user).write({"date_next_try": "2025-03-05 01:00:00"})
        with self.assertRaises(UserError):
            self.env["auto_crm.callback"].with_user(self.agent).create(
                {"partner_id": self.customer.id, "date_next_try": "2025-03-05 01:00:00"}
            )

    def test_retry_settings_refuse_implausible_values(self):
        for vals, field in (
            ({"callback_retry_hours": -1}, "Retry After (hours)"),
            ({"callback_opening_hour": 25.0}, "Opening Time"),
            ({"callback_pressure_days": 0}, "Pressure Period (days)"),
            ({"callback_pressure_calls": 1000}, "Maximum Calls per Customer"),
        ):
            with self.subTest(vals=vals), self.assertRaisesRegex(ValidationError, f"^{re.escape(field)}"):
                self.company.write(vals)

    # ------------------------------------------------------------------ the complaint a low score opens
    def finish(self, callback, scores, **vals):
        callback.action_take()
        callback.action_start()
        for answer in callback.answer_ids:
            answer.write(scores.get(answer.step, {}))
        callback.write(vals)
        callback.action_done()

    @freeze_time("2025-03-04 02:00:00")
    def test_a_low_score_complaint_carries_what_the_customer_said(self):
        tag = self.env["auto_crm.callback.issue.tag"].create({"name": "Waited too long"})
        callback = self.first.with_user(self.agent)
        self.env.cr.precommit.clear()
        self.finish(
            callback,
            {
                "greeting": {"score": "3", "comment": "Nobody at the desk"},
                "overall": {"score": "2", "comment": "The noise is still there"},
            },
            issue_tag_ids=[(6, 0, tag.ids)],
            note="<p>Wants the car checked again this week.</p>",
        )
        complaint = callback.complaint_ids
        self.assertEqual(len(complaint), 1)
        customer = callback.partner_id.name
        self.assertEqual(complaint.subject, f"{customer} is dissatisfied: rated us 2 out of 5 in the follow-up call")
        self.assertNotIn("threshold", complaint.subject)
        description = str(complaint.description)
        for said in ("The noise is still there", "Nobody at the desk", "Waited too long", "checked again"):
            self.assertIn(said, description)
        # The visit's advisor and the store's after-sales managers have something to do.
        activity_type = self.env.ref("auto_crm.mail_activity_type_complaint_from_callback")
        activities = complaint.sudo().activity_ids.filtered(lambda a: a.activity_type_id == activity_type)
        self.assertIn(self.advisor, activities.user_id)
        self.assertIn(self.manager, activities.user_id)
        self.assertNotIn(self.agent, activities.user_id)
        # The agent is told at once (a notification on the bus, sent when the transaction commits).
        self.env.cr.precommit.run()
        notified = self.env["bus.bus"].sudo().search([("message", "like", complaint.name)])
        channels = set(notified.mapped("channel"))
        self.assertTrue(
            channels & {f'["{self.env.cr.dbname}","res.partner",{self.agent.partner_id.id}]',
                        f'["{self.env.cr.dbname}","res.users",{self.agent.id}]'},
            f"the agent sees a notification: {channels}",
        )  # fmt: skip
        self.assertIn("simple_notification", notified[:1].message)
        # The smart button opens the complaint itself.
        action = callback.action_view_complaints()
        self.assertEqual((action["res_id"], action["view_mode"]), (complaint.id, "form"))
        self.assertEqual(action["res_model"], "auto_crm.complaint")

    @freeze_time("2025-03-04 02:00:00")
    def test_a_complaint_made_during_the_call_says_so(self):
        self.finish(self.second, {"overall": {"score": "5"}, "greeting": {"score": "5"}}, customer_complains=True)
        complaint = self.second.complaint_ids
        self.assertEqual(complaint.subject, f"{self.second.partner_id.name} complained during the follow-up call")
        self.finish(self.third, {"overall": {"score": "4"}, "greeting": {"score": "4"}})
        self.assertFalse(self.third.complaint_ids)
        self.assertEqual(self.third.action_view_complaints()["domain"], [("callback_id", "=", self.third.id)])

    @freeze_time("2025-03-04 02:00:00")
    def test_the_complaint_speaks_the_agents_language(self):
        self.env["res.lang"]._activate_lang("zh_CN")
        self.env["ir.module.module"].search([("name", "=", "auto_crm")])._update_translations(["zh_CN"])
        callback = self.third.with_user(self.agent).with_context(lang="zh_CN")  # (the RPC context of a Chinese user)
        self.finish(callback, {"overall": {"score": "1", "comment": "异响没修好"}, "greeting": {"score": "4"}})
        complaint = callback.complaint_ids
        customer = callback.partner_id.name
        self.assertEqual(complaint.subject, f"{customer} 在回访中只给了 1 分（满分 5 分），对服务不满意")
        self.assertIn("Overall?：1 分（满分 5 分） — 异响没修好", str(complaint.description))
        self.assertIn("客户反馈", str(complaint.description))
        # The new labels are loaded too (the catalogue names the fields and views they belong to).
        Fields = self.env["ir.model.fields"].with_context(lang="zh_CN")
        self.assertEqual(
            Fields._get("res.company", "callback_pressure_calls").field_description, "每位客户最多回访次数"
        )
        self.assertEqual(Fields._get("auto_crm.callback", "date_next_try").field_description, "下次拨打")
        self.assertEqual(Fields._get("auto_crm.callback.rule", "preview_summary").field_description, "预览")

    # ------------------------------------------------------------------ the rule form
    @freeze_time("2025-03-04 02:00:00")
    def test_a_new_rule_starts_inactive_from_today_and_previews_as_you_edit(self):
        other = self.make_delivered_visits(2, self.at("2025-03-01"))
        form = Form(self.env["auto_crm.callback.rule"].with_user(self.dealer_admin))
        form.name = "After service, second store team"
        self.assertFalse(form.active, "a new rule starts inactive")
        self.assertEqual(str(form.date_start), "2025-03-04", "and from the store's today")
        self.assertIn("needs a questionnaire", form.preview_summary)
        form.questionnaire_id = self.questionnaire
        form.assignment = "team"
        form.team_id = self.team
        form.domain = repr([("id", "in", other.ids)])
        self.assertIn("would create 2 callbacks", form.preview_summary)
        form.domain = repr([("id", "in", other[:1].ids)])
        self.assertIn("would create 1 callbacks", form.preview_summary)
        rule = form.save()
        self.assertFalse(rule.active)
        self.assertFalse(self.callbacks(rule), "a preview creates nothing")
        # The button tells the same.
        action = rule.with_user(self.dealer_admin).action_preview()
        self.assertIn("would create 1 callbacks", action["params"]["message"])

    def test_round_robin_without_a_team_is_refused_with_a_sentence(self):
        form = Form(self.env["auto_crm.callback.rule"].with_user(self.dealer_admin))
        form.name = "Robin"
        form.questionnaire_id = self.questionnaire
        form.assignment = "round_robin"
        with self.assertRaisesRegex(ValidationError, "^Team: rule Robin deals its callbacks round-robin"):
            form.save()
        form.assignment = "team"
        with self.assertRaisesRegex(ValidationError, "^Team: rule Robin leaves its callbacks in a team's pool"):
            form.save()
