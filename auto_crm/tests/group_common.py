from odoo.tests import new_test_user
from odoo.tests.common import TransactionCase

from ..lib.vin import with_check_digit

#: The roles of a store, by the group each user gets.
ROLES = {
    "agent": "auto_crm.group_agent",
    "advisor": "auto_crm.group_advisor",
    "manager": "auto_crm.group_manager",
    "admin": "auto_crm.group_admin",
}


class GroupCase(TransactionCase):
    """A dealer group G with three stores A, B and C (children of G), one user per role per store, a
    group manager holding G and its stores, and a dealer group H of one store X outside G. Each store
    has a customer with a car and a received visit (a priced work line and a priced part)."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env = cls.env(context=dict(cls.env.context, tracking_disable=True, mail_create_nolog=True))
        Company = cls.env["res.company"]
        cls.group = Company.create({"name": "Pearl River Auto Group"})
        cls.store_a = Company.create({"name": "Store A", "parent_id": cls.group.id})
        cls.store_b = Company.create({"name": "Store B", "parent_id": cls.group.id})
        cls.store_c = Company.create({"name": "Store C", "parent_id": cls.group.id})
        cls.other_group = Company.create({"name": "Other Group"})
        cls.store_x = Company.create({"name": "Store X", "parent_id": cls.other_group.id})
        cls.stores = cls.store_a | cls.store_b | cls.store_c
        cls.users = {}
        for store in cls.stores | cls.store_x:
            key = store.name[-1].lower()
            for role, group in ROLES.items():
                cls.users[key, role] = new_test_user(
                    cls.env,
                    f"{role}_{key}",
                    groups=group,
                    name=f"{role.title()} {store.name}",
                    company_id=store.id,
                    company_ids=[(6, 0, store.ids)],
                )
        cls.group_manager = new_test_user(
            cls.env,
            "group_manager",
            groups="auto_crm.group_group_manager",
            name="Group Manager",
            company_id=cls.group.id,
            company_ids=[(6, 0, (cls.group | cls.stores).ids)],
        )
        cls.brand = cls.env["fleet.vehicle.model.brand"].create({"name": "Group Brand"})
        cls.car_model = cls.env["fleet.vehicle.model"].create({"name": "Group Sedan", "brand_id": cls.brand.id})
        cls.customers, cls.cars, cls.visits = {}, {}, {}
        for number, store in enumerate(cls.stores | cls.store_x, start=1):
            key = store.name[-1].lower()
            customer = cls.env["res.partner"].create(
                {"name": f"Customer {store.name}", "auto_customer": True, "company_id": store.id}
            )
            car = cls.env["auto_crm.vehicle"].create(
                {
                    "vin": cls.make_vin(900 + number),
                    "plate": f"粤A·G{number:04d}",
                    "model_id": cls.car_model.id,
                    "partner_id": customer.id,
                    "company_id": store.id,
                }
            )
            visit = (
                cls.env["auto_crm.service.visit"]
                .with_company(store)
                .create(
                    {
                        "partner_id": customer.id,
                        "vehicle_id": car.id,
                        "company_id": store.id,
                        "visit_type": "maintenance",
                        "mileage_in": 10000 * number,
                        "work_content": f"Oil change at {store.name}",
                        "inspection_note": f"Internal note of {store.name}",
                    }
                )
            )
            for line_type, name, price in (("labour", "Oil change labour", 180.0), ("part", "Oil filter", 66.0)):
                cls.env["auto_crm.service.visit.line"].create(
                    {"visit_id": visit.id, "line_type": line_type, "name": name, "unit_price": price, "quantity": 1}
                )
            visit.action_receive()
            cls.customers[key], cls.cars[key], cls.visits[key] = customer, car, visit

    @staticmethod
    def make_vin(number):
        return with_check_digit(f"LFVAU2180N5{number:06d}")

    def user(self, store_key, role):
        return self.users[store_key, role]

    def share(self, on=True):
        """Switch the group's shared archive (as a dealer administrator of the group would)."""
        self.group.sudo().auto_crm_share_archive = on
