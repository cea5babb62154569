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
