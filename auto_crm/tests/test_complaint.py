from datetime import datetime, timedelta
from unittest.mock import patch

from freezegun import freeze_time
from psycopg2 import IntegrityError

from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.tests import Form, new_test_user, tagged
from odoo.tools import mute_logger

from .common import AutoCrmCase

T0 = datetime(2026, 3, 2, 9, 0, 0)


class ComplaintCase(AutoCrmCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.Complaint = cls.env["auto_crm.complaint"]
        cls.Escalation = cls.env["auto_crm.complaint.escalation"]
        Policy = cls.env["auto_crm.complaint.sla.policy"]
        # The store's own service levels; they win over the group-wide ones shipped as data.
        cls.policy_general = Policy.create(
            {"severity": "general", "hours_to_acknowledge": 2, "hours_to_resolve": 48, "company_id": cls.company.id}
        )
        cls.policy_major = Policy.create(
            {"severity": "major", "hours_to_acknowledge": 1, "hours_to_resolve": 8, "company_id": cls.company.id}
        )
        cls.company.complaint_goodwill_limit = 500
        cls.category = cls.env.ref("auto_crm.complaint_category_quality")

    def make_complaint(self, **vals):
        values = {
            "subject": "Noise after repair",
            "partner_id": self.customer.id,
            "vehicle_id": self.vehicle.id,
            "category_id": self.category.id,
            "channel": "phone",
        }
        values.update(vals)
        return self.Complaint.create(values)

    def escalations(self, complaints):
        return self.Escalation.search([("complaint_id", "in", complaints.ids)])

    def activities(self, records, activity_xmlid):
        return self.env["mail.activity"].search(
            [
                ("res_model", "=", records._name),
                ("res_id", "in", records.ids),
                ("activity_type_id", "=", self.env.ref(activity_xmlid).id),
            ]
        )

    def settle_existing_breaches(self):
        """The demo database holds complaints of its own: escalate them first so that counts only
        see the test's complaints."""
        self.Complaint._cron_escalate_sla()


@tagged("post_install", "-at_install")
class TestComplaintSla(ComplaintCase):
    def test_number_and_deadlines_from_the_store_policy(self):
        with freeze_time(T0):
            complaint = self.make_complaint()
        self.assertTrue(complaint.name.startswith("CP"))
        self.assertEqual(complaint.state, "new")
        self.assertEqual(complaint.sla_policy_id, self.policy_general)
        self.assertEqual(complaint.deadline_acknowledge, T0 + timedelta(hours=2))
        self.assertEqual(complaint.deadline_resolve, T0 + timedelta(hours=48))
        # Raising the severity tightens the deadlines, still counted from receipt.
        complaint.severity = "major"
        self.assertEqual(complaint.deadline_acknowledge, T0 + timedelta(hours=1))
        self.assertEqual(complaint.deadline_resolve, T0 + timedelta(hours=8))
        # No store policy for "escalated": the group's policy applies.
        group_policy = self.env.ref("auto_crm.complaint_sla_policy_escalated")
        complaint.severity = "escalated"
        self.assertEqual(complaint.sla_policy_id, group_policy)
        self.assertEqual(complaint.deadline_resolve, T0 + timedelta(hours=group_policy.hours_to_resolve))
        # A policy edited later does not move the deadlines of complaints already received.
        group_policy.hours_to_resolve = 500
        self.assertEqual(complaint.deadline_resolve, T0 + timedelta(hours=48))

    def test_policy_rules(self):
        Policy = self.env["auto_crm.complaint.sla.policy"]
        with self.assertRaises(ValidationError) as caught:
            Policy.create(
                {
                    "severity": "escalated",
                    "hours_to_acknowledge": 10,
                    "hours_to_resolve": 5,
                    "company_id": self.other_company.id,
                }
            )
        self.assertTrue(str(caught.exception).startswith("Hours to Resolve"))
        with mute_logger("odoo.sql_db"), self.assertRaises(IntegrityError), self.env.cr.savepoint():
            Policy.create(
                {"severity": "general", "hours_to_acknowledge": 1, "hours_to_resolve": 5, "company_id": self.company.id}
            )

    def test_sla_state_moves_with_time(self):
        with freeze_time(T0):
            complaint = self.make_complaint()
        checks = [
            (T0 + timedelta(hours=1), "on_track", False),
            (T0 + timedelta(hours=1, minutes=45), "at_risk", False),
            (T0 + timedelta(hours=3), "overdue", True),
        ]
        for moment, state, overdue in checks:
            with freeze_time(moment), self.subTest(moment=moment):
                complaint.invalidate_recordset(["sla_state", "is_overdue"])
                self.assertEqual(complaint.sla_state, state)
                self.assertEqual(complaint.is_overdue, overdue)
                found = self.Complaint.search([("id", "=", complaint.id), ("is_overdue", "=", True)])
                self.assertEqual(bool(found), overdue)
                not_found = self.Complaint.search([("id", "=", complaint.id), ("is_overdue", "=", False)])
                self.assertEqual(bool(not_found), not overdue)
        with freeze_time(T0 + timedelta(hours=3)):
            complaint.action_acknowledge()
        self.assertEqual(complaint.date_acknowledged, T0 + timedelta(hours=3))
        with freeze_time(T0 + timedelta(hours=10)):
            complaint.invalidate_recordset(["sla_state"])
            self.assertEqual(complaint.sla_state, "at_risk", "acknowledged late: the resolution is at risk")
        with freeze_time(T0 + timedelta(hours=49)):
            complaint.invalidate_recordset(["sla_state", "is_overdue"])
            self.assertEqual(complaint.sla_state, "overdue")
            complaint.write({"root_cause": "Loose trim clip", "resolution": "Clip fixed"})
            complaint.action_investigate()
            complaint.action_resolve()
            complaint.action_close()
            complaint.invalidate_recordset(["sla_state", "is_overdue"])
            self.assertEqual(complaint.sla_state, "missed")
            self.assertFalse(complaint.is_overdue)

    def test_sla_met(self):
        with freeze_time(T0):
            complaint = self.make_complaint(root_cause="Cause", resolution="Fix")
        with freeze_time(T0 + timedelta(minutes=30)):
            complaint.action_investigate()
        self.assertTrue(complaint.date_acknowledged, "investigating acknowledges")
        with freeze_time(T0 + timedelta(hours=20)):
            complaint.action_resolve()
            complaint.action_await_confirmation()
        with freeze_time(T0 + timedelta(hours=100)):
            complaint.invalidate_recordset(["sla_state"])
            self.assertEqual(complaint.sla_state, "met", "waiting for the customer does not count against the store")
            complaint.action_close()
        self.assertEqual(complaint.date_resolved, T0 + timedelta(hours=20))


@tagged("post_install", "-at_install")
class TestComplaintEscalation(ComplaintCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.other_manager = new_test_user(
            cls.env,
            "crm_other_manager",
            groups="auto_crm.group_manager",
            name="Other Store Manager",
            company_id=cls.other_company.id,
            company_ids=[(6, 0, [cls.other_company.id])],
        )

    def test_breach_escalated_once_to_the_store_managers(self):
        with freeze_time(T0):
            late = self.make_complaint(subject="Late")
            on_time = self.make_complaint(subject="On time")
        with freeze_time(T0 + timedelta(hours=1)):
            on_time.action_acknowledge()
        with freeze_time(T0 + timedelta(hours=3)):
            self.settle_existing_breaches()
        escalation = self.escalations(late)
        self.assertEqual(escalation.mapped("kind"), ["acknowledge"])
        self.assertEqual(escalation.state, "done")
        self.assertTrue(late.escalated_ack)
        self.assertFalse(late.escalated_resolve)
        self.assertFalse(self.escalations(on_time))
        activities = self.activities(late, "auto_crm.mail_activity_type_complaint_escalation")
        self.assertIn(self.manager, activities.user_id)
        self.assertIn(self.dealer_admin, activities.user_id)
        self.assertNotIn(self.other_manager, activities.user_id, "managers of another store are not concerned")
        self.assertNotIn(self.agent, activities.user_id)
        self.assertIn("SLA breached", late.message_ids[0].body)
        # The same breach is never escalated twice, however often the job runs.
        with freeze_time(T0 + timedelta(hours=5)):
            self.Complaint._cron_escalate_sla()
            self.Complaint._cron_escalate_sla()
        self.assertEqual(len(self.escalations(late)), 1)
        self.assertEqual(self.activities(late, "auto_crm.mail_activity_type_complaint_escalation"), activities)
        # A later breach of the resolution deadline is another breach: escalated once too.
        with freeze_time(T0 + timedelta(hours=49)):
            self.Complaint._cron_escalate_sla()
            self.Complaint._cron_escalate_sla()
        self.assertEqual(sorted(self.escalations(late).mapped("kind")), ["acknowledge", "resolve"])
        self.assertEqual(self.escalations(on_time).mapped("kind"), ["resolve"])
        self.assertEqual(
            len(self.activities(late, "auto_crm.mail_activity_type_complaint_escalation")), 2 * len(activities)
        )

    def test_resolved_archived_and_closed_complaints_are_not_escalated(self):
        with freeze_time(T0):
            offered = self.make_complaint(root_cause="Cause", resolution="Fix")
            archived = self.make_complaint()
        offered.action_investigate()
        offered.action_resolve()
        offered.action_await_confirmation()
        archived.active = False
        with freeze_time(T0 + timedelta(hours=100)):
            self.Complaint._cron_escalate_sla()
        self.assertFalse(self.escalations(offered | archived))

    def test_cron_record_runs_the_job(self):
        with freeze_time(T0):
            late = self.make_complaint()
        with freeze_time(T0 + timedelta(hours=3)):
            self.env.ref("auto_crm.ir_cron_complaint_escalate_sla").method_direct_trigger()
        self.assertEqual(self.escalations(late).kind, "acknowledge")

    def test_a_bad_complaint_does_not_stop_the_run(self):
        with freeze_time(T0):
            good = self.make_complaint(subject="Good")
            bad = self.make_complaint(subject="Bad")
        with freeze_time(T0 + timedelta(hours=1)):
            self.settle_existing_breaches()
        Model = type(self.Complaint)
        original = Model._sla_notify

        def notify_failing_for_bad(model, complaints, kinds_by_complaint):
            if bad in complaints:
                raise ValueError("mail server exploded")
            return original(model, complaints, kinds_by_complaint)

        with (
            freeze_time(T0 + timedelta(hours=3)),
            patch.object(Model, "_sla_notify", notify_failing_for_bad),
            mute_logger("odoo.addons.auto_crm.models.auto_crm_job_run"),
        ):
            self.Complaint._cron_escalate_sla()
        run = self.env["auto_crm.job.run"].search([("job", "=", "complaint_escalation")], limit=1)
        self.assertEqual(run.state, "failed")
        failure = run.line_ids.filtered(lambda line: line.state == "failed")
        self.assertEqual((failure.res_model, failure.res_id, failure.res_name), (bad._name, bad.id, bad.display_name))
        self.assertIn("mail server exploded", failure.message)
        self.assertEqual(self.escalations(good).state, "done")
        failed = self.escalations(bad)
        self.assertEqual(failed.state, "failed")
        self.assertIn("mail server exploded", failed.error)
        self.assertFalse(self.activities(bad, "auto_crm.mail_activity_type_complaint_escalation"))
        # The next run retries the failed one, and only it.
        good_activities = self.activities(good, "auto_crm.mail_activity_type_complaint_escalation")
        with freeze_time(T0 + timedelta(hours=4)):
            self.Complaint._cron_escalate_sla()
        self.assertEqual(self.escalations(bad).state, "done")
        self.assertFalse(self.escalations(bad).error)
        self.assertTrue(self.activities(bad, "auto_crm.mail_activity_type_complaint_escalation"))
        self.assertEqual(self.activities(good, "auto_crm.mail_activity_type_complaint_escalation"), good_activities)

    def test_escalation_query_count_does_not_grow(self):
        """One run costs the same budget at 10 and at 100 breached complaints. The few queries more
        at 100 are the ORM's own chunking of INSERTs by 100 rows (one activity and one follower per
        complaint and manager), not queries per complaint."""
        with freeze_time(T0 - timedelta(days=10)):
            self.settle_existing_breaches()
        # A first small run warms the caches (activity types, models, groups) like any run after the first.
        for size, budget in ((3, 100), (10, ESCALATION_BUDGET), (100, ESCALATION_BUDGET)):
            with freeze_time(T0):
                complaints = self.Complaint.create(
                    [
                        {"subject": f"Complaint {i}", "partner_id": self.customer.id, "category_id": self.category.id}
                        for i in range(size)
                    ]
                )
            self.env.invalidate_all()
            with freeze_time(T0 + timedelta(hours=3)), self.assertQueryCount(budget):
                done = self.Complaint._cron_escalate_sla()
            self.assertEqual(done, size)
            self.assertEqual(len(self.escalations(complaints)), size)
            # Leave nothing for the next size.
            complaints.write({"active": False})


#: Queries of one escalation run (one batch) at 10 and at 100 complaints (41 before the run log: the
#: job's advisory lock, the run created, then closed; 47 before the store's day: its time zone, read once).
ESCALATION_BUDGET = 48


@tagged("post_install", "-at_install")
class TestComplaintWorkflow(ComplaintCase):
    def test_stage_guards(self):
        complaint = self.make_complaint()
        for target in ("resolving", "awaiting_confirmation", "closed"):
            with self.subTest(target=target), self.assertRaises(UserError) as caught:
                complaint.write({"state": target})
            self.assertTrue(str(caught.exception).startswith("Stage"))
        self.assertEqual(complaint.state, "new")
        with self.assertRaises(UserError):
            self.make_complaint(state="closed")
        # The kanban drag goes through the same guards.
        complaint.with_user(self.agent).write({"state": "acknowledged"})
        self.assertEqual(complaint.state, "acknowledged")
        with self.assertRaises(UserError):
            complaint.with_user(self.agent).write({"state": "closed"})

    def test_closing_needs_root_cause_and_resolution_and_reopen(self):
        complaint = self.make_complaint()
        complaint.action_acknowledge()
        complaint.action_investigate()
        complaint.action_resolve()
        with self.assertRaises(UserError) as caught:
            complaint.action_close()
        self.assertTrue(str(caught.exception).startswith("Root Cause"))
        complaint.root_cause = "Brake pads glazed"
        with self.assertRaises(UserError) as caught:
            complaint.action_await_confirmation()
        self.assertTrue(str(caught.exception).startswith("Resolution"))
        self.assertEqual(complaint.state, "resolving")
        # Both given in the same write as the stage: accepted.
        with freeze_time(T0):
            complaint.write({"state": "awaiting_confirmation", "resolution": "Pads replaced free of charge"})
            complaint.action_close()
        self.assertEqual(complaint.date_closed, T0)
        self.assertEqual(complaint.date_resolved, T0)
        complaint.action_reopen()
        self.assertEqual(complaint.state, "investigating")
        self.assertFalse(complaint.date_closed)
        self.assertFalse(complaint.date_resolved)
        self.assertEqual(complaint.reopen_count, 1)
        self.assertTrue(complaint.date_acknowledged)

    def test_customer_refuses_the_resolution(self):
        complaint = self.make_complaint(root_cause="Cause", resolution="Fix")
        complaint.action_investigate()
        complaint.action_resolve()
        complaint.action_await_confirmation()
        self.assertTrue(complaint.date_resolved)
        complaint.action_customer_refused()
        self.assertEqual(complaint.state, "resolving")
        self.assertFalse(complaint.date_resolved)

    def test_visit_fills_customer_car_and_staff(self):
        visit = self.make_visit(advisor_id=self.advisor.id, technician_id=self.advisor2.id)
        form = Form(self.Complaint.with_user(self.agent))
        form.subject = "Car not washed"
        form.visit_id = visit
        self.assertEqual(form.partner_id, self.customer)
        self.assertEqual(form.vehicle_id, self.vehicle)
        complaint = form.save()
        self.assertEqual(complaint.advisor_id, self.advisor)
        self.assertEqual(complaint.technician_id, self.advisor2)
        self.assertEqual(complaint.user_id, self.agent)
        other = self.env["res.partner"].create({"name": "李四"})
        with self.assertRaises(ValidationError) as caught:
            complaint.partner_id = other
        self.assertTrue(str(caught.exception).startswith("Service Visit"))

    def test_evidence_belongs_to_the_complaint(self):
        attachment = self.env["ir.attachment"].create({"name": "photo.jpg", "raw": b"jpeg"})
        complaint = self.make_complaint(evidence_ids=[(6, 0, attachment.ids)])
        self.assertEqual((attachment.res_model, attachment.res_id), ("auto_crm.complaint", complaint.id))

    def test_delete_only_a_new_complaint(self):
        complaint = self.make_complaint()
        complaint.action_acknowledge()
        with self.assertRaises(UserError):
            complaint.with_user(self.dealer_admin).unlink()
        fresh = self.make_complaint()
        fresh.with_user(self.dealer_admin).unlink()
        self.assertFalse(fresh.exists())


@tagged("post_install", "-at_install")
class TestComplaintAuthority(ComplaintCase):
    def _ready_to_offer(self, complaint):
        complaint.write({"root_cause": "Price not explained", "resolution": "Refund the difference"})
        complaint.action_investigate()
        complaint.action_resolve()

    def test_within_the_limit_customer_relations_decide(self):
        complaint = self.make_complaint(goodwill_amount=500).with_user(self.agent)
        self.assertFalse(complaint.needs_manager)
        self._ready_to_offer(complaint)
        complaint.action_await_confirmation()
        complaint.action_close()
        self.assertEqual(complaint.state, "closed")
        with self.assertRaises(UserError):
            complaint.with_user(self.manager).action_approve_goodwill()

    def test_above_the_limit_a_manager_approves(self):
        complaint = self.Complaint.with_user(self.agent).create(
            {"subject": "Price", "partner_id": self.customer.id, "goodwill_amount": 800}
        )
        self.assertTrue(complaint.needs_manager)
        self.assertFalse(complaint.goodwill_approved_by_id)
        referral = self.activities(complaint, "auto_crm.mail_activity_type_complaint_authority")
        self.assertIn(self.manager, referral.user_id)
        self._ready_to_offer(complaint)
        with self.assertRaises(UserError) as caught:
            complaint.action_await_confirmation()
        self.assertTrue(str(caught.exception).startswith("Goodwill Amount"))
        with self.assertRaises(AccessError):
            complaint.action_approve_goodwill()
        complaint.with_user(self.manager).action_approve_goodwill()
        self.assertEqual(complaint.goodwill_approved_by_id, self.manager)
        self.assertFalse(self.activities(complaint, "auto_crm.mail_activity_type_complaint_authority"))
        # A new amount is a new decision.
        complaint.goodwill_amount = 900
        self.assertFalse(complaint.goodwill_approved_by_id)
        with self.assertRaises(UserError):
            complaint.action_await_confirmation()
        # A manager who sets the amount decides it at once.
        complaint.with_user(self.manager).goodwill_amount = 850
        self.assertEqual(complaint.goodwill_approved_by_id, self.manager)
        complaint.action_await_confirmation()
        self.assertEqual(complaint.state, "awaiting_confirmation")

    def test_limit_is_per_store(self):
        complaint = self.make_complaint(goodwill_amount=800)
        self.assertTrue(complaint.needs_manager)
        self.company.complaint_goodwill_limit = 1000
        self.assertFalse(complaint.needs_manager)

    def test_settings_for_admins_only(self):
        # Settings → Dealer CRM: Odoo's settings page, for dealer administrators who are system administrators.
        settings_admin = new_test_user(
            self.env,
            "crm_complaint_settings_admin",
            groups="auto_crm.group_admin,base.group_system",
            company_id=self.company.id,
            company_ids=[self.company.id],
        )
        Settings = self.env["res.config.settings"].with_user(settings_admin)
        settings = Settings.create({})
        self.assertEqual(settings.complaint_goodwill_limit, 500)
        # The section links to the SLA policies, whose list shows the store's and the group-wide ones.
        sla_action = self.env.ref("auto_crm.auto_crm_complaint_sla_policy_action")
        arch = Settings.get_views([(False, "form")])["views"]["form"]["arch"]
        self.assertIn(f'name="{sla_action.id}"', arch)
        policies = self.env[sla_action.res_model].with_user(self.dealer_admin).search([])
        self.assertIn(self.policy_general, policies)
        self.assertIn(self.env.ref("auto_crm.complaint_sla_policy_escalated"), policies)
        Settings.create({"complaint_goodwill_limit": 1500, "complaint_callback_score_threshold": 3}).execute()
        self.assertEqual(self.company.complaint_goodwill_limit, 1500)
        self.assertEqual(self.company.complaint_callback_score_threshold, 3)
        with self.assertRaises(AccessError):
            self.env["res.config.settings"].with_user(self.manager).create({})
        with mute_logger("odoo.sql_db"), self.assertRaises(IntegrityError), self.env.cr.savepoint():
            self.company.complaint_callback_score_threshold = 9
            self.env.flush_all()


@tagged("post_install", "-at_install")
class TestComplaintOrigin(ComplaintCase):
    def test_create_from_origin_is_idempotent(self):
        visit_a = self.make_visit()
        visit_b = self.make_visit()

        def vals(visit):
            return {
                "subject": f"From {visit.name}",
                "partner_id": visit.partner_id.id,
                "visit_id": visit.id,
                "channel": "callback",
                "origin_model": visit._name,
                "origin_res_id": visit.id,
            }

        first = self.Complaint._create_from_origin([vals(visit_a), vals(visit_a)])
        self.assertEqual(len(first), 1, "the same origin twice in one call opens one complaint")
        self.assertEqual(first.visit_id, visit_a)
        count = self.Complaint.search_count([])
        second = self.Complaint._create_from_origin([vals(visit_b), vals(visit_a)])
        self.assertEqual(second[1], first[0], "an origin with a complaint gets it back")
        self.assertEqual(self.Complaint.search_count([]), count + 1)
        # Archived complaints count too: an origin never opens a second one.
        first.active = False
        third = self.Complaint._create_from_origin([vals(visit_a)])
        self.assertEqual(third, first)
        with self.assertRaises(UserError):
            self.Complaint._create_from_origin([{"subject": "No origin", "partner_id": self.customer.id}])

    def test_database_refuses_a_second_complaint_for_an_origin(self):
        self.env.cr.execute("SELECT indexdef FROM pg_indexes WHERE indexname = 'auto_crm_complaint_origin_uniq'")
        definition = self.env.cr.fetchone()[0]
        self.assertIn("UNIQUE", definition)
        self.assertIn("WHERE (origin_model IS NOT NULL)", definition)
        visit = self.make_visit()
        self.make_complaint(origin_model=visit._name, origin_res_id=visit.id)
        with mute_logger("odoo.sql_db"), self.assertRaises(IntegrityError), self.env.cr.savepoint():
            self.make_complaint(origin_model=visit._name, origin_res_id=visit.id)
        # Complaints without an origin are not limited.
        self.make_complaint()
        self.make_complaint()


@tagged("post_install", "-at_install")
class TestComplaintAccess(ComplaintCase):
    def test_agents_create_and_work_complaints(self):
        complaint = self.Complaint.with_user(self.agent).create(
            {"subject": "Rude reception", "partner_id": self.customer.id, "channel": "walk_in"}
        )
        complaint.write({"root_cause": "Staff shortage", "resolution": "Apology"})
        complaint.action_acknowledge()
        complaint.action_investigate()
        complaint.action_resolve()
        complaint.action_await_confirmation()
        complaint.action_close()
        self.assertEqual(complaint.state, "closed")
        with self.assertRaises(AccessError):
            complaint.unlink()

    def test_configuration_for_admins(self):
        for user in (self.agent, self.advisor, self.manager):
            with self.subTest(user=user.login), self.assertRaises(AccessError):
                self.policy_general.with_user(user).hours_to_resolve = 1
            with self.assertRaises(AccessError):
                self.category.with_user(user).name = "Renamed"
            with self.assertRaises(AccessError):
                self.Escalation.with_user(user).create(
                    {"complaint_id": self.make_complaint().id, "kind": "acknowledge", "company_id": self.company.id}
                )
        self.policy_general.with_user(self.dealer_admin).hours_to_resolve = 40
        self.env["auto_crm.complaint.category"].with_user(self.dealer_admin).create({"name": "Test Drive"})

    def test_plain_user_and_other_store_see_nothing(self):
        complaint = self.make_complaint()
        with self.assertRaises(AccessError):
            self.Complaint.with_user(self.group_user).search([])
        self.assertFalse(self.Complaint.with_user(self.other_advisor).search([("id", "=", complaint.id)]))
        with self.assertRaises(AccessError):
            complaint.with_user(self.other_advisor).read(["subject"])

    def test_complaint_of_another_store_refused(self):
        other_customer = self.env["res.partner"].create({"name": "王五", "company_id": self.other_company.id})
        with self.assertRaises(UserError):
            self.make_complaint(partner_id=other_customer.id, vehicle_id=False)
