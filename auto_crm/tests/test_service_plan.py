from datetime import date

from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.tests import Form, tagged
from odoo.tools import mute_logger

from .common import AutoCrmCase


@tagged("post_install", "-at_install")
class TestServicePlan(AutoCrmCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.Plan = cls.env["auto_crm.service.plan"]
        cls.default = cls.env.ref("auto_crm.auto_crm_service_plan_default")
        # Other plans (demo data, earlier tests) out of the way: only the seeded default is active.
        (cls.Plan.search([]) - cls.default).write({"active": False})
        cls.other_model = cls.env["fleet.vehicle.model"].create({"name": "Test Coupe", "brand_id": cls.brand.id})

    def plan_of(self, vehicle):
        return self.Plan._for_vehicle(vehicle)

    def test_seeded_default(self):
        plan = self.default
        self.assertFalse(plan.company_id or plan.brand_id or plan.model_id)
        self.assertEqual(
            (plan.first_service_km, plan.first_service_months, plan.interval_km, plan.interval_months),
            (5000, 6, 10000, 12),
        )
        self.assertEqual((plan.warranty_years, plan.warranty_km), (3, 100000))
        self.assertEqual(
            (
                plan.inspection_first_years,
                plan.inspection_second_years,
                plan.inspection_interval_months,
                plan.inspection_old_years,
                plan.inspection_old_interval_months,
            ),
            (6, 10, 12, 15, 6),
        )
        self.assertIn("2022", plan._fields["inspection_first_years"].help)

    def test_lookup_model_then_brand_then_store_then_group(self):
        self.assertEqual(self.plan_of(self.vehicle), self.default)
        store = self.Plan.create({"name": "Store default", "company_id": self.company.id})
        self.assertEqual(self.plan_of(self.vehicle), store)
        brand = self.Plan.create({"name": "Brand plan", "brand_id": self.brand.id, "interval_km": 7500})
        self.assertEqual(self.plan_of(self.vehicle), brand)
        model = self.Plan.create({"name": "Sedan plan", "model_id": self.car_model.id})
        self.assertEqual(model.brand_id, self.brand, "the model's brand is filled in")
        self.assertEqual(self.plan_of(self.vehicle), model)
        other = self.vehicle.copy({"vin": self.make_vin(77), "model_id": self.other_model.id})
        self.assertEqual(self.plan_of(other), brand, "another model of the brand takes the brand's plan")
        # A store's own plan of the brand comes before the group's one of the same scope.
        store_brand = self.Plan.create(
            {"name": "Store brand", "brand_id": self.brand.id, "company_id": self.company.id}
        )
        self.assertEqual(self.plan_of(other), store_brand)
        # An archived plan does not count.
        model.active = False
        self.assertEqual(self.plan_of(self.vehicle), store_brand)
        # A car of another store does not take this store's plans.
        elsewhere = self.vehicle.copy({"vin": self.make_vin(78), "company_id": self.other_company.id})
        self.assertEqual(self.plan_of(elsewhere), brand)

    def test_rights(self):
        for user in (self.agent, self.advisor):
            with self.subTest(user=user.name):
                self.assertEqual(self.default.with_user(user).name, self.default.name)
                with self.assertRaises(AccessError), mute_logger("odoo.models"):
                    self.default.with_user(user).write({"interval_km": 20000})
                with self.assertRaises(AccessError), mute_logger("odoo.models"):
                    self.Plan.with_user(user).create({"name": "Mine", "brand_id": self.brand.id})
        plan = self.Plan.with_user(self.manager).create({"name": "Manager's", "brand_id": self.brand.id})
        plan.write({"interval_km": 15000})
        with self.assertRaises(AccessError), mute_logger("odoo.models"):
            plan.unlink()
        plan.with_user(self.dealer_admin).unlink()

    def test_store_rule(self):
        mine = self.Plan.create({"name": "First store", "company_id": self.company.id})
        theirs = self.Plan.create({"name": "Second store", "company_id": self.other_company.id})
        visible = self.Plan.with_user(self.other_advisor).search([])
        self.assertIn(theirs, visible)
        self.assertIn(self.default, visible, "a shared plan is for every store")
        self.assertNotIn(mine, visible)

    def test_bad_input_is_refused_naming_the_field(self):
        cases = [
            ({"interval_km": 0}, "Maintenance Every \\(km\\)"),
            ({"first_service_months": -1}, "First Maintenance \\(months\\)"),
            ({"warranty_km": 3_000_000}, "Warranty \\(km\\)"),
            (
                {
                    "model_id": self.env["fleet.vehicle.model"].search([("brand_id", "!=", self.brand.id)], limit=1).id,
                    "brand_id": self.brand.id,
                },
                "is not a model of the brand",
            ),
            ({"inspection_first_years": 6, "inspection_second_years": 5}, "Second Inspection"),
            ({}, "already covers the same store, brand and model"),
        ]
        for vals, message in cases:
            with self.subTest(vals=vals), self.assertRaisesRegex(ValidationError, message):
                with self.env.cr.savepoint():
                    self.Plan.create(dict({"name": "Bad"}, **vals))
        with self.assertRaisesRegex(ValidationError, "Maintenance Every \\(months\\)"), self.env.cr.savepoint():
            self.default.write({"interval_months": 0})
        self.assertEqual(self.default.interval_months, 12, "nothing half-written")

    def test_every_field_is_a_persons(self):
        """A plan is configuration: every stored field belongs to the people who may write plans."""
        self.assertFalse(self.Plan._owned_system_fields())
        with self.assertRaises(UserError), mute_logger("odoo.models"):
            self.vehicle.with_user(self.dealer_admin).write({"next_service_mileage": 1})

    def test_inspection_schedule_of_a_private_car(self):
        plan = self.default
        registered = date(2020, 5, 10)
        self.assertEqual(plan._next_inspection(registered, date(2026, 1, 1)), date(2026, 5, 10))
        self.assertEqual(plan._next_inspection(registered, date(2026, 5, 11)), date(2030, 5, 10))
        self.assertEqual(plan._next_inspection(registered, date(2032, 1, 1)), date(2032, 5, 10))
        self.assertEqual(plan._next_inspection(registered, date(2035, 6, 1)), date(2035, 11, 10))
        plan.inspection_second_years = 0  # the rule before the 2022 reform
        self.assertEqual(plan._next_inspection(registered, date(2026, 5, 11)), date(2027, 5, 10))

    def test_new_car_form_proposes_the_plan(self):
        """A new car's form proposes its plan's warranty and first maintenance, and keeps what was typed."""
        self.Plan.create(
            {
                "name": "Sedan plan",
                "model_id": self.car_model.id,
                "warranty_years": 4,
                "warranty_km": 120000,
                "first_service_months": 3,
                "first_service_km": 3000,
            }
        )
        form = Form(self.env["auto_crm.vehicle"])
        form.vin = self.make_vin(90)
        form.model_id = self.car_model
        form.purchase_date = date(2026, 3, 15)
        self.assertEqual(form.warranty_end_date, date(2030, 3, 14))
        self.assertEqual(form.warranty_end_mileage, 120000)
        self.assertEqual((form.first_service_date, form.first_service_mileage), (date(2026, 6, 15), 3000))
        form.warranty_end_date = date(2029, 1, 1)
        form.purchase_date = date(2026, 3, 16)
        self.assertEqual(form.warranty_end_date, date(2029, 1, 1), "what a person typed stays")
        car = form.save()
        self.assertEqual(car.next_service_mileage, 3000)
