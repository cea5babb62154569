from odoo.tests import HttpCase, tagged
from odoo.tests.common import JsonRpcException
from odoo.tools import mute_logger

from .group_common import GroupCase


@tagged("post_install", "-at_install")
class TestGroupRpc(HttpCase, GroupCase):
    """The dealer group over JSON-RPC, as a client of store B calls the server (``/web/dataset/call_kw``)."""

    def call(self, model, method, *args, **kwargs):
        return self.make_jsonrpc_request(
            "/web/dataset/call_kw", {"model": model, "method": method, "args": list(args), "kwargs": kwargs}
        )

    def assertRefused(self, model, method, *args, **kwargs):
        with mute_logger("odoo.http"), self.assertRaises(JsonRpcException) as caught:
            self.call(model, method, *args, **kwargs)
        self.assertIn(str(caught.exception), ("odoo.exceptions.AccessError", "odoo.exceptions.UserError"))

    def test_store_b_over_rpc(self):
        car_a, visit_a, customer_a = self.cars["a"], self.visits["a"], self.customers["a"]
        self.authenticate("advisor_b", "advisor_b")
        # without sharing: A's car, customer and history are invisible, and refused by id
        self.assertEqual(self.call("auto_crm.vehicle", "search_count", [("id", "=", car_a.id)]), 0)
        self.assertRefused("auto_crm.vehicle", "read", [car_a.id], ["vin"])
        self.assertRefused("res.partner", "read", [customer_a.id], ["name"])
        self.assertRefused("auto_crm.vehicle.service.history", "read", [visit_a.id], ["work_done"])
        self.share()
        # with sharing: A's car, customer and the car's history without prices; never A's visit
        self.assertEqual(self.call("auto_crm.vehicle", "read", [car_a.id], ["vin"])[0]["vin"], car_a.vin)
        self.assertEqual(self.call("res.partner", "read", [customer_a.id], ["name"])[0]["name"], customer_a.name)
        rows = self.call("auto_crm.vehicle.service.history", "search_read", [("vehicle_id", "=", car_a.id)], fields=[])
        self.assertEqual([row["id"] for row in rows], [visit_a.id])
        self.assertFalse({"amount_total", "unit_price", "inspection_note"} & set(rows[0]))
        self.assertEqual(self.call("auto_crm.service.visit", "search_count", [("id", "=", visit_a.id)]), 0)
        self.assertRefused("auto_crm.service.visit", "read", [visit_a.id], ["amount_total"])
        self.assertRefused("auto_crm.service.visit.line", "read", visit_a.line_ids.ids, ["unit_price"])
        # forged writes: A's car, the history view, a receipt, the group's switch
        self.assertRefused("auto_crm.vehicle", "write", [car_a.id], {"company_id": self.store_b.id})
        self.assertRefused("auto_crm.vehicle.service.history", "write", [visit_a.id], {"mileage": 1})
        self.assertRefused(
            "auto_crm.vehicle.receipt",
            "create",
            {"vehicle_id": car_a.id, "vin": car_a.vin, "company_id": self.store_b.id},
        )
        self.assertRefused("res.company", "write", [self.group.id], {"auto_crm_share_archive": False})
        self.assertEqual(car_a.company_id, self.store_a)
        # the receiving path itself, over RPC
        wizard_id = self.call("auto_crm.vehicle.receive.wizard", "create", {"vin": car_a.vin})
        action = self.call("auto_crm.vehicle.receive.wizard", "action_receive", [wizard_id])
        self.assertEqual(action["res_id"], car_a.id)
        self.assertEqual(car_a.company_id, self.store_b)

    def test_forged_transfer_over_rpc(self):
        customer_a = self.customers["a"]
        self.authenticate("manager_b", "manager_b")
        wizard = {"partner_id": customer_a.id, "target_store": str(self.store_b.id), "reason": "forged"}
        with mute_logger("odoo.http"), self.assertRaises(JsonRpcException):
            wizard_id = self.call("auto_crm.customer.transfer.wizard", "create", wizard)
            self.call("auto_crm.customer.transfer.wizard", "action_transfer", [wizard_id])
        self.assertEqual(customer_a.company_id, self.store_a)
        self.authenticate("manager_a", "manager_a")
        wizard_id = self.call("auto_crm.customer.transfer.wizard", "create", wizard)
        self.call("auto_crm.customer.transfer.wizard", "action_transfer", [wizard_id])
        self.assertEqual(customer_a.company_id, self.store_b)
