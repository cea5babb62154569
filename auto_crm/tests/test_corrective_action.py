from datetime import date
from unittest.mock import patch

from freezegun import freeze_time

from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.tests import new_test_user, tagged
from odoo.tools import mute_logger

from .common import AutoCrmCase

#: Queries of one overdue-reminder run (one batch), whatever the number of actions (21 before the
#: store's day: its time zone, read once).
OVERDUE_BUDGET = 22


@tagged("post_install", "-at_install")
class TestCorrectiveAction(AutoCrmCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.Action = cls.env["auto_crm.corrective.action"]
        cls.complaint = cls.env["auto_crm.complaint"].create(
            {"subject": "Car returned dirty", "partner_id": cls.customer.id}
        )
        cls.second_admin = new_test_user(
            cls.env,
            "crm_admin2",
            groups="auto_crm.group_admin",
            name="General Manager",
            company_id=cls.company.id,
            company_ids=[(6, 0, [cls.company.id])],
        )

    def make_action(self, user=None, **vals):
        values = {
            "name": "Car wash checklist at delivery",
            "origin_type": "complaint",
            "complaint_ids": [(6, 0, self.complaint.ids)],
            "user_id": self.manager.id,
            "supervisor_id": self.dealer_admin.id,
            "deadline": "2026-04-30",
            "description": "<p>Quality inspector signs a cleanliness checklist before delivery.</p>",
        }
        values.update(vals)
        return self.Action.with_user(user or self.advisor).create(values)

    def test_full_loop(self):
        action = self.make_action()
        self.assertTrue(action.reference.startswith("CA"))
        self.assertEqual(self.complaint.corrective_action_ids, action)
        action.action_submit()
        action.with_user(self.dealer_admin).action_approve()
        self.assertEqual(action.state, "approved")
        self.assertEqual(action.approved_by_id, self.dealer_admin)
        self.assertTrue(action.date_approved)
        owner = action.with_user(self.manager)
        owner.action_start()
        with self.assertRaises(UserError) as caught:
            owner.action_done()
        self.assertTrue(str(caught.exception).startswith("Result"))
        owner.result = "Checklist in use since April; no complaint about cleanliness since."
        owner.action_done()
        self.assertTrue(action.date_done)
        with self.assertRaises(UserError) as caught:
            action.with_user(self.dealer_admin).action_verify()
        self.assertTrue(str(caught.exception).startswith("Effectiveness Check"))
        action.with_user(self.dealer_admin).write({"effectiveness": "Ten deliveries checked: all clean."})
        action.with_user(self.dealer_admin).action_verify()
        self.assertEqual(action.state, "verified")
        self.assertEqual(action.verified_by_id, self.dealer_admin)

    def test_only_the_general_manager_approves_and_not_their_own(self):
        action = self.make_action()
        action.action_submit()
        for user in (self.agent, self.advisor, self.manager):
            with self.subTest(user=user.login), self.assertRaises(AccessError):
                action.with_user(user).action_approve()
            with self.assertRaises(AccessError):
                action.with_user(user).write({"state": "approved"})
        self.assertEqual(action.state, "waiting_approval")
        own = self.make_action(user=self.dealer_admin, user_id=self.dealer_admin.id)
        own.with_user(self.dealer_admin).action_submit()
        with self.assertRaises(UserError) as caught:
            own.with_user(self.dealer_admin).action_approve()
        self.assertTrue(str(caught.exception).startswith("Responsible"))
        own.with_user(self.second_admin).action_approve()
        self.assertEqual(own.approved_by_id, self.second_admin)
        # Handing the approved action to its approver would undo the rule.
        with self.assertRaises(ValidationError):
            own.user_id = self.second_admin
        # Sending back is the general manager's too.
        with self.assertRaises(AccessError):
            action.with_user(self.manager).action_send_back()
        action.with_user(self.dealer_admin).action_send_back()
        self.assertEqual(action.state, "draft")

    def test_state_guards(self):
        action = self.make_action()
        for target in ("approved", "in_progress", "done", "verified"):
            with self.subTest(target=target), self.assertRaises(UserError) as caught:
                action.write({"state": target})
            self.assertTrue(str(caught.exception).startswith("Status"))
        with self.assertRaises(UserError):
            self.make_action(state="approved")
        empty = self.make_action(description=False)
        with self.assertRaises(UserError) as caught:
            empty.action_submit()
        self.assertTrue(str(caught.exception).startswith("Action Plan"))
        # Someone else than the owner or a manager does not carry the action out.
        action.action_submit()
        action.with_user(self.dealer_admin).action_approve()
        with self.assertRaises(AccessError):
            action.with_user(self.advisor).action_start()
        # The plan approved is the plan carried out.
        with self.assertRaises(AccessError):
            action.with_user(self.advisor).deadline = "2026-12-31"
        action.with_user(self.manager).deadline = "2026-05-31"

    def test_cancel_needs_a_manager_and_a_reason(self):
        action = self.make_action()
        with self.assertRaises(AccessError):
            action.with_user(self.advisor).write({"state": "cancel", "cancel_reason": "Duplicate"})
        with self.assertRaises(UserError) as caught:
            action.with_user(self.manager).action_cancel()
        self.assertTrue(str(caught.exception).startswith("Cancel Reason"))
        action.with_user(self.manager).write({"state": "cancel", "cancel_reason": "Duplicate of CA-1"})
        self.assertEqual(action.state, "cancel")
        action.with_user(self.manager).action_reset()
        self.assertEqual(action.state, "draft")
        self.assertFalse(action.cancel_reason)

    def test_origin_rules(self):
        with self.assertRaises(ValidationError) as caught:
            self.make_action(complaint_ids=False)
        self.assertTrue(str(caught.exception).startswith("Complaints"))
        with self.assertRaises(ValidationError) as caught:
            self.make_action(origin_type="recurring_issue", complaint_ids=False, action_type="preventive")
        self.assertTrue(str(caught.exception).startswith("Recurring Issue"))
        preventive = self.make_action(
            origin_type="recurring_issue",
            complaint_ids=False,
            action_type="preventive",
            recurring_issue="Seven callbacks this month: floor mats dirty at delivery.",
        )
        self.assertEqual(preventive.action_type, "preventive")

    def test_delete_only_drafts(self):
        action = self.make_action()
        action.action_submit()
        with self.assertRaises(UserError):
            action.with_user(self.dealer_admin).unlink()
        draft = self.make_action()
        with self.assertRaises(AccessError):
            draft.with_user(self.manager).unlink()
        draft.with_user(self.dealer_admin).unlink()
        self.assertFalse(draft.exists())

    def test_access(self):
        with self.assertRaises(AccessError):
            self.make_action(user=self.agent)
        action = self.make_action()
        self.assertEqual(action.with_user(self.agent).name, action.name)
        with self.assertRaises(AccessError):
            action.with_user(self.other_advisor).read(["name"])
        with self.assertRaises(AccessError):
            self.Action.with_user(self.group_user).search([])

    # ------------------------------------------------------------------ overdue job
    def _approved(self, count, deadline="2026-04-30"):
        actions = self.Action.create(
            [
                {
                    "name": f"Action {i}",
                    "origin_type": "internal_finding",
                    "recurring_issue": "Found in the monthly audit",
                    "user_id": self.manager.id,
                    "deadline": deadline,
                    "description": "<p>Plan</p>",
                }
                for i in range(count)
            ]
        )
        actions.action_submit()
        actions.with_user(self.dealer_admin).action_approve()
        return actions

    def _overdue_activities(self, actions):
        return self.env["mail.activity"].search(
            [
                ("res_model", "=", actions._name),
                ("res_id", "in", actions.ids),
                ("activity_type_id", "=", self.env.ref("auto_crm.mail_activity_type_corrective_action_overdue").id),
            ]
        )

    def test_overdue_reminded_once_per_deadline(self):
        action = self._approved(1)
        draft = self.make_action(deadline="2026-04-01")
        with freeze_time("2026-04-30"):
            self.Action._cron_remind_overdue()
            self.assertFalse(action.is_overdue)
        self.assertFalse(self._overdue_activities(action))
        with freeze_time("2026-05-02"):
            action.invalidate_recordset(["is_overdue"])
            self.assertTrue(action.is_overdue)
            self.assertIn(action, self.Action.search([("is_overdue", "=", True)]))
            self.env.ref("auto_crm.ir_cron_corrective_action_overdue").method_direct_trigger()
            self.Action._cron_remind_overdue()
        activities = self._overdue_activities(action)
        self.assertEqual(len(activities), 1)
        self.assertEqual(activities.user_id, self.manager)
        self.assertFalse(self._overdue_activities(draft), "a draft has no running deadline")
        # A new deadline that passes too is reminded again, once.
        action.with_user(self.manager).deadline = date(2026, 5, 10)
        with freeze_time("2026-05-20"):
            self.Action._cron_remind_overdue()
            self.Action._cron_remind_overdue()
        self.assertEqual(len(self._overdue_activities(action)), 2)

    def test_a_bad_action_does_not_stop_the_reminders(self):
        good, bad = self._approved(2)
        Model = type(self.Action)
        original = Model._remind_overdue

        def remind_failing_for_bad(model, ids, today):
            if bad.id in ids:
                raise ValueError("owner has no e-mail")
            return original(model, ids, today)

        with (
            freeze_time("2026-05-02"),
            patch.object(Model, "_remind_overdue", remind_failing_for_bad),
            mute_logger("odoo.addons.auto_crm.models.auto_crm_job_run"),
        ):
            self.Action._cron_remind_overdue()
        self.assertEqual(len(self._overdue_activities(good)), 1)
        self.assertFalse(self._overdue_activities(bad))
        self.assertIn("owner has no e-mail", bad.overdue_reminder_error)
        run = self.env["auto_crm.job.run"].search([("job", "=", "corrective_action_overdue")], limit=1)
        self.assertEqual((run.state, run.failed_count), ("failed", 1))
        self.assertEqual(run.line_ids.res_id, bad.id, "the run names the action that failed")
        self.assertFalse(good.overdue_reminder_error)
        with freeze_time("2026-05-03"):
            self.Action._cron_remind_overdue()
        self.assertEqual(len(self._overdue_activities(bad)), 1, "retried at the next run")
        self.assertFalse(bad.overdue_reminder_error)
        self.assertEqual(len(self._overdue_activities(good)), 1)

    def test_overdue_query_count_does_not_grow(self):
        with freeze_time("2026-04-01"):
            self.Action._cron_remind_overdue()  # what the demo data holds
        # A first small run warms the caches (activity type, model) like any run after the first.
        for size, budget in ((3, 100), (10, OVERDUE_BUDGET), (100, OVERDUE_BUDGET)):
            actions = self._approved(size)
            self.env.invalidate_all()
            with freeze_time("2026-05-02"), self.assertQueryCount(budget):
                done = self.Action._cron_remind_overdue()
            self.assertEqual(done, size)
            self.assertEqual(len(self._overdue_activities(actions)), size)
