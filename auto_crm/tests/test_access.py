from odoo.exceptions import AccessError, UserError
from odoo.tests import tagged

from .common import AutoCrmCase


@tagged("post_install", "-at_install")
class TestAccess(AutoCrmCase):
    def test_every_model_has_acl_for_every_group_and_a_company_rule(self):
        """Every model auto_crm defines (found in ir.model, not listed by hand, so a new model
        cannot be forgotten): an ACL row for each Dealer CRM group, and a multi-company record
        rule unless it is a wizard."""
        groups = [self.env.ref(f"auto_crm.group_{g}") for g in ("agent", "advisor", "manager", "admin")]
        xmlids = self.env["ir.model.data"].search([("module", "=", "auto_crm"), ("model", "=", "ir.model")])
        ir_models = self.env["ir.model"].browse(xmlids.mapped("res_id"))
        checked = 0
        for ir_model in ir_models:
            Model = self.env[ir_model.model]
            if Model._abstract or Model._original_module != "auto_crm":
                continue
            checked += 1
            acl_groups = self.env["ir.model.access"].search([("model_id", "=", ir_model.id)]).group_id
            for group in groups:
                self.assertIn(group, acl_groups, f"{ir_model.model} has no ACL row for {group.name}")
            if Model._transient:
                continue
            rules = self.env["ir.rule"].search([("model_id", "=", ir_model.id)])
            self.assertTrue(
                any("company_ids" in (rule.domain_force or "") for rule in rules),
                f"{ir_model.model} has no multi-company rule",
            )
        self.assertGreater(checked, 30)

    def test_group_chain(self):
        self.assertTrue(self.dealer_admin.has_group("auto_crm.group_manager"))
        self.assertTrue(self.manager.has_group("auto_crm.group_advisor"))
        self.assertTrue(self.advisor.has_group("auto_crm.group_agent"))
        self.assertFalse(self.agent.has_group("auto_crm.group_advisor"))

    def test_agent_reads_visits_but_does_not_run_them(self):
        visit = self.make_visit(mileage_in=100)
        as_agent = visit.with_user(self.agent)
        self.assertEqual(as_agent.name, visit.name)
        with self.assertRaises(AccessError):
            as_agent.action_receive()
        with self.assertRaises(AccessError):
            self.env["auto_crm.service.visit"].with_user(self.agent).create(
                {"partner_id": self.customer.id, "vehicle_id": self.vehicle.id}
            )
        # Agents keep the customer records: customers, vehicles, odometer readings from their calls.
        vehicle = self.env["auto_crm.vehicle"].with_user(self.agent).create({"vin": self.make_vin(70)})
        self.env["auto_crm.vehicle.odometer"].with_user(self.agent).create({"vehicle_id": vehicle.id, "value": 10})
        customer = self.env["res.partner"].with_user(self.agent).create({"name": "新客户", "auto_customer": True})
        self.assertTrue(customer)

    def test_nobody_but_admin_deletes_customer_records(self):
        for user in (self.agent, self.advisor, self.manager):
            with self.subTest(user=user.login), self.assertRaises(AccessError):
                self.vehicle.with_user(user).unlink()
        with self.assertRaises(AccessError):
            self.env["auto_crm.vehicle.ownership"].with_user(self.advisor).create(
                {"vehicle_id": self.vehicle.id, "partner_id": self.customer.id, "date_start": "2024-01-01"}
            )

    def test_admin_cannot_delete_a_started_visit(self):
        visit = self.make_visit(mileage_in=100)
        visit.action_receive()
        with self.assertRaises(UserError):
            visit.with_user(self.dealer_admin).unlink()
        fresh = self.make_visit()
        fresh.with_user(self.dealer_admin).unlink()
        self.assertFalse(fresh.exists())

    def test_plain_user_sees_nothing(self):
        with self.assertRaises(AccessError):
            self.env["auto_crm.service.visit"].with_user(self.group_user).search([])
        with self.assertRaises(AccessError):
            self.env["auto_crm.vehicle"].with_user(self.group_user).search([])

    def test_other_store_is_invisible(self):
        visit = self.make_visit()
        other_env_visits = self.env["auto_crm.service.visit"].with_user(self.other_advisor)
        self.assertFalse(other_env_visits.search([("id", "=", visit.id)]))
        with self.assertRaises(AccessError):
            visit.with_user(self.other_advisor).read(["name"])
        lines = self.add_line(visit)
        with self.assertRaises(AccessError):
            lines.with_user(self.other_advisor).read(["name"])
        # A car kept by one store is invisible to the other; a shared car is visible to both.
        with self.assertRaises(AccessError):
            self.vehicle.with_user(self.other_advisor).read(["vin"])
        self.vehicle.company_id = False
        self.assertEqual(self.vehicle.with_user(self.other_advisor).read(["vin"])[0]["vin"], self.vehicle.vin)

    def test_wrong_company_records_refused(self):
        other_customer = self.env["res.partner"].create({"name": "Other", "company_id": self.other_company.id})
        with self.assertRaises(UserError):
            self.env["auto_crm.service.visit"].create(
                {"partner_id": other_customer.id, "vehicle_id": self.vehicle.id, "company_id": self.company.id}
            )
        other_vehicle = self.env["auto_crm.vehicle"].create(
            {"vin": self.make_vin(71), "company_id": self.other_company.id}
        )
        with self.assertRaises(UserError):
            self.make_visit(vehicle_id=other_vehicle.id)
