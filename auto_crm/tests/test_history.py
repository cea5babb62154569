"""Attacks on the dealer's history over plain ORM calls (what a JSON-RPC client can do): money of a
delivered visit, goodwill authority, deletion of history and the versions of the satisfaction
index weighting. Each attack is made by every group that could try it, the dealer admin and sudo
included where it applies, and must be refused with nothing changed."""

from odoo import Command
from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.tests import tagged

from .common import AutoCrmCase
from .loyalty_common import LoyaltyCase

#: AccessError and ValidationError are UserErrors (Odoo's assertRaises takes one class).
REFUSED = UserError


@tagged("post_install", "-at_install")
class TestHistoryVisitMoney(LoyaltyCase):
    def test_amount_paid_never_exceeds_what_is_left_to_pay(self):
        self.deliver(1000)  # enrols the customer, who earns 100 points
        visit = self.to_settlement(2520)
        for user in (self.advisor, self.dealer_admin):
            with self.subTest(user=user.name), self.assertRaisesRegex(ValidationError, "^Amount Settled"):
                visit.with_user(user).write({"amount_paid": 10_000_000})
            visit.invalidate_recordset()
            self.assertEqual(visit.amount_paid, 0)
        # Points paid part of it: what is left is less.
        visit.with_user(self.advisor)._loyalty_redeem(20)
        with self.assertRaisesRegex(ValidationError, "^Amount Settled"):
            visit.with_user(self.advisor).write({"amount_paid": 2520})
        visit.with_user(self.advisor).write({"amount_paid": 2500})
        self.assertTrue(visit.is_settled)
        visit.with_user(self.advisor).action_deliver()
        self.assertEqual(visit.loyalty_points_earned, 250)

    def test_delivered_visit_money_is_frozen(self):
        visit = self.deliver(2520)
        earned = visit.loyalty_points_earned
        self.assertTrue(earned)
        line = visit.line_ids
        attacks = {
            "unlink lines": lambda v: v.line_ids.unlink(),
            "unlink through the visit": lambda v: v.write({"line_ids": [Command.clear()]}),
            "amount paid to 0": lambda v: v.write({"amount_paid": 0}),
            "payment method": lambda v: v.write({"payment_method": "internal"}),
            "line price": lambda v: v.line_ids.write({"unit_price": 1}),
            "new line": lambda v: v.env["auto_crm.service.visit.line"].create(
                {"visit_id": v.id, "name": "Extra", "unit_price": 10}
            ),
            "total": lambda v: v.write({"amount_total": 0}),
        }
        for user in (self.advisor, self.manager, self.dealer_admin):
            for label, attack in attacks.items():
                with self.subTest(user=user.name, attack=label), self.assertRaises(REFUSED):
                    attack(visit.with_user(user))
        visit.invalidate_recordset()
        self.assertEqual(visit.line_ids, line)
        self.assertEqual((visit.amount_total, visit.amount_paid, visit.payment_method), (2520, 2520, "cash"))
        self.assertTrue(visit.is_settled)
        self.assertEqual(visit.loyalty_points_earned, earned)
        # Corrected through Re-open Settlement: the points go back, the money can change.
        with self.assertRaises(AccessError):
            visit.with_user(self.advisor).action_reopen_delivery()
        visit.with_user(self.manager).action_reopen_delivery()
        self.assertEqual(visit.loyalty_points_earned, 0)
        visit.with_user(self.advisor).write({"amount_paid": 0})
        line.with_user(self.advisor).write({"unit_price": 2000})
        visit.with_user(self.advisor).action_settle()
        visit.with_user(self.advisor).action_deliver()
        self.assertEqual(visit.loyalty_points_earned, 200)


@tagged("post_install", "-at_install")
class TestHistoryGoodwill(AutoCrmCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.Complaint = cls.env["auto_crm.complaint"]
        cls.company.complaint_goodwill_limit = 500

    def close(self, complaint):
        complaint.write({"root_cause": "Price not explained", "resolution": "Refund the difference"})
        complaint.action_investigate()
        complaint.action_resolve()
        complaint.action_close()

    def test_goodwill_approval_only_by_the_button(self):
        values = {"subject": "Price", "partner_id": self.customer.id, "goodwill_amount": 50000}
        for user in (self.agent, self.manager, self.dealer_admin):
            with self.subTest(user=user.name), self.assertRaises(UserError):
                self.Complaint.with_user(user).create(dict(values, goodwill_approved_by_id=self.manager.id))
        for user in (self.agent, self.manager, self.dealer_admin):
            with self.subTest(user=user.name):
                # Created above the limit, by anybody: not approved until the button.
                complaint = self.Complaint.with_user(user).create(dict(values))
                self.assertTrue(complaint.needs_manager)
                self.assertFalse(complaint.goodwill_approved_by_id)
                with self.assertRaisesRegex(UserError, "^Goodwill Amount"):
                    self.close(complaint.with_user(self.agent))
        complaint = self.Complaint.with_user(self.agent).create(dict(values))
        complaint.with_user(self.manager).action_approve_goodwill()
        self.assertEqual(complaint.goodwill_approved_by_id, self.manager)
        # A new amount needs a new approval.
        complaint.with_user(self.agent).goodwill_amount = 60000
        self.assertFalse(complaint.goodwill_approved_by_id)

    def test_needs_manager_is_never_written(self):
        complaint = self.Complaint.with_user(self.agent).create(
            {"subject": "Price", "partner_id": self.customer.id, "goodwill_amount": 50000}
        )
        for label, env in (
            ("agent", complaint.with_user(self.agent)),
            ("dealer admin", complaint.with_user(self.dealer_admin)),
            ("sudo", complaint.sudo()),
        ):
            with self.subTest(user=label), self.assertRaisesRegex(UserError, "^Beyond Customer Relations"):
                env.write({"needs_manager": False})
        with self.assertRaisesRegex(UserError, "^Beyond Customer Relations"):
            self.Complaint.with_user(self.agent).create(
                {"subject": "Price", "partner_id": self.customer.id, "goodwill_amount": 50000, "needs_manager": False}
            )
        complaint.invalidate_recordset()
        self.assertTrue(complaint.needs_manager)
        with self.assertRaisesRegex(UserError, "^Goodwill Amount"):
            self.close(complaint.with_user(self.agent))


@tagged("post_install", "-at_install")
class TestHistoryUnlink(LoyaltyCase):
    def envs(self, record):
        yield "dealer admin", record.with_user(self.dealer_admin)
        yield "sudo", record.sudo()

    def assert_kept(self, records):
        for label, as_user in self.envs(records):
            with self.subTest(model=records._name, user=label), self.assertRaises(UserError):
                as_user.unlink()
        self.assertEqual(records.exists(), records)

    def test_received_or_delivered_visits_are_kept(self):
        delivered = self.deliver(500)
        received = self.walk_to(self.make_visit(mileage_in=self._mileage + 5000), "reception")
        self.assert_kept(delivered)
        self.assert_kept(received)
        # Written back to settlement, cancelled, re-opened as an appointment: still history.
        delivered.with_user(self.manager).action_reopen_delivery()
        delivered.with_user(self.advisor).write({"cancel_reason": "Test"})
        delivered.with_user(self.advisor).action_cancel()
        delivered.with_user(self.manager).action_reopen()
        self.assertEqual(delivered.state, "appointment")
        self.assert_kept(delivered)
        self.assertEqual(delivered.loyalty_ledger_ids.exists(), delivered.loyalty_ledger_ids)

    def test_complaints_with_history_are_archived_not_deleted(self):
        Complaint = self.env["auto_crm.complaint"]
        complaint = Complaint.create({"subject": "Noise", "partner_id": self.customer.id})
        escalation = (
            self.env["auto_crm.complaint.escalation"]
            .sudo()
            .create({"complaint_id": complaint.id, "kind": "acknowledge", "company_id": complaint.company_id.id})
        )
        self.assert_kept(complaint)
        self.assertTrue(escalation.exists())
        handled = Complaint.create({"subject": "Dirty car", "partner_id": self.customer.id})
        handled.action_acknowledge()
        self.assert_kept(handled)
        handled.with_user(self.dealer_admin).action_archive()
        self.assertFalse(handled.active)

    def test_callbacks_with_attempts_are_kept(self):
        callback = self.env["auto_crm.callback"].create({"partner_id": self.customer.id})
        attempt = self.env["auto_crm.callback.attempt"].create({"callback_id": callback.id, "outcome": "no_answer"})
        self.assert_kept(callback)
        # Closed: its attempts stay too (the dealer admin may delete attempts by the access rights).
        callback.close_note = "Customer moved away"
        callback.action_cancel()
        self.assertEqual(callback.state, "cancel")
        self.assert_kept(attempt)
        self.assert_kept(callback)

    def test_approved_corrective_actions_are_kept(self):
        complaint = self.env["auto_crm.complaint"].create(
            {"subject": "Car returned dirty", "partner_id": self.customer.id}
        )
        action = (
            self.env["auto_crm.corrective.action"]
            .with_user(self.advisor)
            .create(
                {
                    "name": "Car wash checklist at delivery",
                    "origin_type": "complaint",
                    "complaint_ids": [Command.set(complaint.ids)],
                    "user_id": self.manager.id,
                    "supervisor_id": self.dealer_admin.id,
                    "deadline": "2026-04-30",
                    "description": "<p>Checklist.</p>",
                }
            )
        )
        action.action_submit()
        action.with_user(self.dealer_admin).action_approve()
        self.assertEqual(action.state, "approved")
        self.assert_kept(action)
        self.assert_kept(complaint)

    def test_activated_weightings_are_kept(self):
        hierarchy = self.env.ref("auto_crm.csi_hierarchy_default")
        self.assertEqual(hierarchy.state, "active")
        self.assert_kept(hierarchy)
        self.assert_kept(hierarchy.criterion_ids[:1])


@tagged("post_install", "-at_install")
class TestHistoryCsiVersions(AutoCrmCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.default = cls.env.ref("auto_crm.csi_hierarchy_default")

    def make_hierarchy(self, judgements):
        hierarchy = self.env["auto_crm.csi.hierarchy"].create(
            {
                "name": "Attack",
                "criterion_ids": [
                    Command.create({"name": name, "sequence": i, "step": "other"}) for i, name in enumerate("ABC")
                ],
            }
        )
        for comparison in hierarchy.comparison_ids:
            pair = (comparison.criterion_a_id.name, comparison.criterion_b_id.name)
            comparison.value = judgements[pair]
        return hierarchy

    def envs(self, record):
        yield "dealer admin", record.with_user(self.dealer_admin)
        yield "sudo", record.sudo()

    def test_state_moves_only_through_the_buttons(self):
        self.assertEqual(self.default.state, "active")
        for label, as_user in self.envs(self.default):
            with self.subTest(state="draft", user=label), self.assertRaises(REFUSED):
                as_user.write({"state": "draft"})
        # Superseding is the add-on's own move (Activate of another version): not a write, not even sudo's.
        for label, as_user in self.envs(self.default):
            with self.subTest(state="superseded", user=label), self.assertRaises(REFUSED):
                as_user.write({"state": "superseded"})
        # Inconsistent judgements (A > B > C but C > A): activated neither by a write nor by the button.
        bad = self.make_hierarchy({("A", "B"): "5", ("B", "C"): "5", ("A", "C"): "1/5"})
        for label, as_user in self.envs(bad):
            with self.subTest(user=label), self.assertRaises(REFUSED):
                as_user.write({"state": "active"})
        with self.assertRaises(ValidationError):
            bad.with_user(self.dealer_admin).action_activate()
        # Consistent: still not by a plain write of the admin; the button does it.
        good = self.make_hierarchy({("A", "B"): "1", ("B", "C"): "1", ("A", "C"): "1"})
        for label, as_user in self.envs(good):
            with self.subTest(state="active", user=label), self.assertRaises(REFUSED):
                as_user.write({"state": "active"})
        for record in (self.default, bad, good):
            record.invalidate_recordset()
        self.assertEqual((self.default.state, bad.state, good.state), ("active", "draft", "draft"))
        good.with_user(self.dealer_admin).action_activate()
        self.assertEqual((self.default.state, good.state), ("superseded", "active"))
        self.assertTrue(self.default.date_superseded and good.date_activated)
        # Superseded is final, its stamps are the workflow's.
        for label, as_user in self.envs(self.default):
            with self.subTest(user=label), self.assertRaises(UserError):
                as_user.write({"state": "active"})
        with self.assertRaises(UserError):
            self.default.with_user(self.dealer_admin).write({"date_superseded": False})

    def test_activated_weights_are_read_only(self):
        comparison = self.default.comparison_ids[:1]
        criterion = self.default.criterion_ids[:1]
        value, name = comparison.value, criterion.name
        for record, vals in ((comparison, {"value": "9"}), (criterion, {"name": "Changed"})):
            for label, as_user in self.envs(record):
                with self.subTest(model=record._name, user=label), self.assertRaises(UserError):
                    as_user.write(vals)
        with self.assertRaises(UserError):
            self.env["auto_crm.csi.criterion"].with_user(self.dealer_admin).create(
                {"hierarchy_id": self.default.id, "name": "New", "step": "other"}
            )
        self.assertEqual((comparison.value, criterion.name), (value, name))
