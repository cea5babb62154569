from contextlib import contextmanager

from odoo.tests import new_test_user

from .common import AutoCrmCase

#: The group programme's rates: one point per 10 paid, a point worth 1.00, points kept for ever.
GROUP_PROGRAM = {
    "name": "Group Programme",
    "is_group_program": True,
    "auto_enroll": True,
    "earn_rate": 0.1,
    "point_value": 1.0,
    "expiry_months": 0,
    "tier_basis": "spend",
    "qualification_months": 12,
}


def make_group(env, prefix="Group"):
    """A dealer group G (a company) with three stores A, B, C below it (companies whose parent is G)."""
    Company = env["res.company"]
    group = Company.create({"name": f"{prefix} G"})
    stores = Company.create([{"name": f"{prefix} Store {letter}", "parent_id": group.id} for letter in "ABC"])
    return group, stores


def make_store_users(env, prefix, stores, group):
    """{(role, store letter): user} for the advisor and manager of each store, and a group manager
    holding the group and every store."""
    users = {}
    for store, letter in zip(stores, "ABC", strict=True):
        common = {"company_id": store.id, "company_ids": [(6, 0, [store.id])]}
        for role in ("advisor", "manager", "admin"):
            users[role, letter] = new_test_user(
                env,
                f"{prefix}_{role}_{letter}".lower(),
                groups=f"auto_crm.group_{role}",
                name=f"{role.title()} {letter}",
                **common,
            )
    users["group_manager"] = new_test_user(
        env,
        f"{prefix}_group_manager".lower(),
        groups="auto_crm.group_manager",
        name="Group Manager",
        company_id=group.id,
        company_ids=[(6, 0, (group | stores).ids)],
    )
    return users


class GroupLoyaltyCase(AutoCrmCase):
    """A dealer group G with stores A, B and C, and a group programme owned by G; an advisor, a manager
    and a dealer administrator per store; a customer of the whole group (no store) with a car."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.group, cls.stores = make_group(cls.env)
        cls.store_a, cls.store_b, cls.store_c = cls.stores
        cls.users = make_store_users(cls.env, "gl", cls.stores, cls.group)
        cls.group_program = cls.env["auto_crm.loyalty.program"].create(dict(GROUP_PROGRAM, company_id=cls.group.id))
        cls.group_customer = cls.env["res.partner"].create(
            {"name": "集团客户", "auto_customer": True, "mobile": "+86 138 0000 0777", "company_id": False}
        )
        cls.group_car = cls.env["auto_crm.vehicle"].create(
            {"vin": cls.make_vin(777001), "partner_id": cls.group_customer.id, "company_id": False}
        )
        cls.Member = cls.env["auto_crm.loyalty.member"]
        cls.Ledger = cls.env["auto_crm.loyalty.ledger"]
        cls._group_mileage = 20000

    @contextmanager
    def assertRefused(self, exception, pattern):
        """``assertRaisesRegex`` within a savepoint (Odoo's ``assertRaises`` has one, the regex one not)."""
        with self.assertRaises(exception) as caught:
            yield caught
        self.assertRegex(str(caught.exception), pattern)

    def visit_at(self, store, amount, partner=None, vehicle=None):
        """A visit of the group customer at ``store`` with one labour line, at reception."""
        type(self)._group_mileage += 1000
        visit = self.make_visit(
            partner_id=(partner or self.group_customer).id,
            vehicle_id=(vehicle or self.group_car).id,
            company_id=store.id,
            mileage_in=self._group_mileage,
        )
        self.add_line(visit, "labour", amount)
        return visit

    def deliver_at(self, store, amount, partner=None, vehicle=None):
        return self.walk_to(self.visit_at(store, amount, partner, vehicle), "followup")

    def group_member(self, partner=None):
        return self.Member.with_context(active_test=False).search(
            [("partner_id", "=", (partner or self.group_customer).id), ("program_id", "=", self.group_program.id)]
        )
