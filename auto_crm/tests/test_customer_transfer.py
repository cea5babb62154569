from unittest.mock import patch

from odoo.exceptions import AccessError, UserError
from odoo.tests import tagged
from odoo.tools import mute_logger

from ..models.auto_crm_customer_transfer import AutoCrmCustomerTransfer
from .group_common import GroupCase


@tagged("post_install", "-at_install")
class TestCustomerTransfer(GroupCase):
    def transfer(self, user, customer, target, reason="Moved house"):
        wizard = (
            self.env["auto_crm.customer.transfer.wizard"]
            .with_user(user)
            .create({"partner_id": customer.id, "target_store": str(target.id), "reason": reason})
        )
        return wizard.action_transfer()

    def test_store_manager_transfers_a_customer_with_their_cars(self):
        customer, car = self.customers["a"], self.cars["a"]
        manager_a = self.user("a", "manager")
        action = customer.with_user(manager_a).action_auto_crm_transfer()
        self.assertEqual(action["context"]["default_partner_id"], customer.id)
        Wizard = self.env["auto_crm.customer.transfer.wizard"].with_user(manager_a)
        offered = dict(Wizard._fields["target_store"]._description_selection(Wizard.env))
        self.assertEqual(offered, {str(store.id): store.name for store in self.stores})
        with patch.object(AutoCrmCustomerTransfer, "_after_transfer", autospec=True) as hook:
            self.assertEqual(self.transfer(manager_a, customer, self.store_b), {"type": "ir.actions.act_window_close"})
        self.assertEqual(hook.call_count, 1)
        self.assertEqual(customer.company_id, self.store_b)
        self.assertEqual(car.company_id, self.store_b)
        transfer = self.env["auto_crm.customer.transfer"].search([("partner_id", "=", customer.id)])
        self.assertEqual(hook.call_args.args[0], transfer)
        self.assertRecordValues(
            transfer,
            [
                {
                    "from_company_id": self.store_a.id,
                    "company_id": self.store_b.id,
                    "user_id": manager_a.id,
                    "reason": "Moved house",
                    "vehicle_count": 1,
                }
            ],
        )
        self.assertIn("Moved house", customer.message_ids[0].body)
        self.assertIn("Store B", customer.message_ids[0].body)
        # B's users now read and serve the customer; A's no longer (no sharing), yet both read the transfer
        self.assertTrue(customer.with_user(self.user("b", "agent")).read(["name"]))
        with self.assertRaises(AccessError):
            customer.with_user(self.user("a", "agent")).read(["name"])
        self.env.invalidate_all()  # each store reads the other store's name from the database, not a warm cache
        self.assertIn("Store B", transfer.with_user(self.user("a", "agent")).display_name)
        self.assertTrue(transfer.with_user(self.user("a", "agent")).read(["reason"]))
        self.assertTrue(transfer.with_user(self.user("b", "agent")).read(["reason"]))
        self.assertFalse(self.env["auto_crm.customer.transfer"].with_user(self.user("c", "manager")).search([]))
        # the old visit stays at A with its prices
        self.assertEqual(self.visits["a"].company_id, self.store_a)

    def test_group_manager_transfers_between_any_stores(self):
        customer = self.customers["b"]
        self.transfer(self.group_manager, customer, self.store_c)
        self.assertEqual((customer.company_id, self.cars["b"].company_id), (self.store_c, self.store_c))

    @mute_logger("odoo.models")
    def test_forged_transfers_refused(self):
        customer = self.customers["a"]
        Transfer = self.env["auto_crm.customer.transfer"]
        # not a manager of the customer's store (B's manager does not even read the customer)
        for user in (self.user("b", "manager"), self.user("b", "admin"), self.user("x", "manager")):
            with self.subTest(user=user.login), self.assertRaises(AccessError):
                Transfer.with_user(user)._transfer(customer, self.store_b, "forged")
        # not a manager
        for role in ("agent", "advisor"):
            with self.subTest(role=role), self.assertRaises(AccessError):
                Transfer.with_user(self.user("a", role))._transfer(customer, self.store_b, "forged")
            with self.subTest(role=role), self.assertRaises(AccessError):
                self.transfer(self.user("a", role), customer, self.store_b)
        manager_a = self.user("a", "manager")
        # to a store of another group, to the group company itself, to the same store
        for target in (self.store_x, self.group, self.store_a):
            with self.subTest(target=target.name), self.assertRaises(UserError):
                Transfer.with_user(manager_a)._transfer(customer, target, "forged")
        with self.assertRaisesRegex(UserError, "Reason"):
            Transfer.with_user(manager_a)._transfer(customer, self.store_b, "  ")
        self.assertEqual(customer.company_id, self.store_a)
        self.assertEqual(self.cars["a"].company_id, self.store_a)
        self.assertFalse(Transfer.sudo().search([]))

    @mute_logger("odoo.models")
    def test_transfer_is_append_only(self):
        self.transfer(self.user("a", "manager"), self.customers["a"], self.store_b)
        transfer = self.env["auto_crm.customer.transfer"].search([])
        for role in ("agent", "advisor", "manager", "admin"):
            user = self.user("b", role)
            with self.subTest(role=role):
                with self.assertRaises(UserError):
                    transfer.with_user(user).write({"reason": "rewritten"})
                with self.assertRaises(UserError):
                    transfer.with_user(user).unlink()
                with self.assertRaises(UserError):
                    self.env["auto_crm.customer.transfer"].with_user(user).create(
                        {"partner_id": self.customers["b"].id, "company_id": self.store_c.id, "reason": "x"}
                    )
        with self.assertRaises(UserError):
            transfer.unlink()
        self.assertEqual(transfer.reason, "Moved house")


@tagged("post_install", "-at_install")
class TestTransferCarriesPoints(GroupCase):
    """The transfer's hook moves the customer's loyalty points: out of store A's programme, into store B's,
    by two ledger adjustments; a programme the two stores share keeps them where they are."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        Program = cls.env["auto_crm.loyalty.program"]
        settings = {"auto_enroll": False, "earn_rate": 0.1, "point_value": 1.0, "expiry_months": 0}
        cls.program_a = Program.create(dict(settings, name="A Programme", company_id=cls.store_a.id))
        cls.program_b = Program.create(dict(settings, name="B Programme", company_id=cls.store_b.id))
        cls.customer = cls.customers["a"]
        cls.member = cls.env["auto_crm.loyalty.member"].create(
            {"partner_id": cls.customer.id, "program_id": cls.program_a.id}
        )
        cls.env["auto_crm.loyalty.ledger"]._post(
            [{"member_id": cls.member.id, "kind": "adjust", "points": 120, "reason": "Opening"}]
        )

    def transfer(self, target):
        wizard = (
            self.env["auto_crm.customer.transfer.wizard"]
            .with_user(self.user("a", "manager"))
            .create({"partner_id": self.customer.id, "target_store": str(target.id), "reason": "Moved house"})
        )
        return wizard.action_transfer()

    def test_points_move_with_the_customer(self):
        opening = self.member.ledger_ids
        self.transfer(self.store_b)
        new = self.env["auto_crm.loyalty.member"].search(
            [("partner_id", "=", self.customer.id), ("program_id", "=", self.program_b.id)]
        )
        self.assertEqual((len(new), new.points_balance, new.company_id), (1, 120, self.store_b))
        self.assertEqual((self.member.active, self.member.points_balance), (False, 0))
        out = self.member.ledger_ids - opening
        self.assertEqual((out.kind, out.points, out.company_id), ("adjust", -120, self.store_a))
        self.assertEqual(
            (new.ledger_ids.points, new.ledger_ids.company_id, new.ledger_ids.transfer_of_id),
            (120, self.store_b, out),
        )
        self.assertEqual(opening.points, 120, "the opening line is untouched")

    def test_nothing_moves_without_a_programme_at_the_new_store(self):
        self.transfer(self.store_c)
        self.assertEqual((self.member.active, self.member.points_balance, len(self.member.ledger_ids)), (True, 120, 1))
