from odoo.tests import new_test_user
from odoo.tests.common import TransactionCase

from ..lib.vin import with_check_digit


class AutoCrmCase(TransactionCase):
    """Users of every Dealer CRM group, a second store, and a customer with a car."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env = cls.env(context=dict(cls.env.context, tracking_disable=True, mail_create_nolog=True))
        cls.company = cls.env.company
        cls.other_company = cls.env["res.company"].create({"name": "Second Store"})
        companies = (cls.company | cls.other_company).ids
        common = {"company_id": cls.company.id, "company_ids": [(6, 0, [cls.company.id])]}
        cls.agent = new_test_user(cls.env, "crm_agent", groups="auto_crm.group_agent", name="Agent", **common)
        cls.advisor = new_test_user(cls.env, "crm_advisor", groups="auto_crm.group_advisor", name="Advisor", **common)
        cls.advisor2 = new_test_user(
            cls.env, "crm_advisor2", groups="auto_crm.group_advisor", name="Advisor 2", **common
        )
        cls.manager = new_test_user(cls.env, "crm_manager", groups="auto_crm.group_manager", name="Manager", **common)
        cls.dealer_admin = new_test_user(
            cls.env, "crm_admin", groups="auto_crm.group_admin", name="Dealer Admin", **common
        )
        cls.other_advisor = new_test_user(
            cls.env,
            "crm_other_advisor",
            groups="auto_crm.group_advisor",
            name="Other Store Advisor",
            company_id=cls.other_company.id,
            company_ids=[(6, 0, [cls.other_company.id])],
        )
        cls.group_user = new_test_user(cls.env, "plain_user", groups="base.group_user", name="Plain User")
        cls.all_companies = companies
        cls.brand = cls.env["fleet.vehicle.model.brand"].create({"name": "Test Brand"})
        cls.car_model = cls.env["fleet.vehicle.model"].create({"name": "Test Sedan", "brand_id": cls.brand.id})
        cls.customer = cls.env["res.partner"].create(
            {"name": "张三", "auto_customer": True, "mobile": "+86 138 0000 0001", "auto_callback_consent": True}
        )
        cls.vehicle = cls.env["auto_crm.vehicle"].create(
            {"vin": cls.make_vin(1), "plate": "粤B·T0001", "model_id": cls.car_model.id, "partner_id": cls.customer.id}
        )

    @staticmethod
    def make_vin(number):
        """A valid VIN whose serial part is the given number."""
        return with_check_digit(f"LSVAU2180N2{number:06d}")

    def make_visit(self, **vals):
        values = {
            "partner_id": self.customer.id,
            "vehicle_id": self.vehicle.id,
            "visit_type": "maintenance",
        }
        values.update(vals)
        return self.env["auto_crm.service.visit"].create(values)

    def add_line(self, visit, line_type="labour", price=100.0, quantity=1.0, **vals):
        return self.env["auto_crm.service.visit.line"].create(
            {
                "visit_id": visit.id,
                "line_type": line_type,
                "name": vals.pop("name", "Work"),
                "unit_price": price,
                "quantity": quantity,
                **vals,
            }
        )

    #: The button that takes a visit out of each stage, in the workshop's order.
    NEXT_STEP = {
        "appointment": "action_receive",
        "reception": "action_start_repair",
        "repair": "action_request_inspection",
        "inspection": "action_inspection_pass",
    }

    def walk_to(self, visit, state, payment_method="cash"):
        """Take a visit through the real workflow (its buttons, guards included) up to ``state``;
        reaching follow-up settles and delivers it."""
        if not visit.mileage_in:
            visit.mileage_in = 12000
        while visit.state != state and visit.state in self.NEXT_STEP:
            getattr(visit, self.NEXT_STEP[visit.state])()
        if state == "followup" and visit.state == "delivery":
            visit.payment_method = payment_method
            visit.action_settle()
            visit.action_deliver()
        self.assertEqual(visit.state, state)
        return visit
