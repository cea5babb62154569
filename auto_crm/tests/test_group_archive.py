from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.tests import new_test_user, tagged
from odoo.tools import mute_logger

from .group_common import GroupCase

#: Columns of a visit a store of the group never reads at another store.
PRICE_FIELDS = {"amount_total", "amount_labour", "amount_parts", "amount_paid", "unit_price", "subtotal", "discount"}


@tagged("post_install", "-at_install")
class TestGroupArchive(GroupCase):
    def test_group_manager_group(self):
        group_manager = self.env.ref("auto_crm.group_group_manager")
        self.assertIn(self.env.ref("auto_crm.group_manager"), group_manager.implied_ids)
        self.assertTrue(self.group_manager.has_group("auto_crm.group_manager"))
        self.assertFalse(self.user("a", "admin").has_group("auto_crm.group_group_manager"))

    def test_sharing_is_the_groups_and_follows_the_hierarchy(self):
        self.assertFalse(self.stores.mapped("auto_crm_share_group_id"))
        self.share()
        for store in self.stores | self.group:
            self.assertEqual(store.auto_crm_share_group_id, self.group, store.name)
        self.assertFalse(self.store_x.auto_crm_share_group_id)
        with self.assertRaisesRegex(ValidationError, "Share Customer Archive Across Stores"):
            self.store_a.auto_crm_share_archive = True
        self.share(False)
        self.assertFalse(self.store_b.auto_crm_share_group_id)

    @mute_logger("odoo.models")
    def test_only_dealer_admin_or_group_manager_switch_sharing(self):
        settings_group = "base.group_erp_manager"
        manager = new_test_user(
            self.env,
            "settings_manager_a",
            groups=f"auto_crm.group_manager,{settings_group}",
            company_id=self.store_a.id,
            company_ids=[(6, 0, (self.group | self.store_a).ids)],
        )
        with self.assertRaises(AccessError):
            self.group.with_user(manager).auto_crm_share_archive = True
        self.assertFalse(self.group.auto_crm_share_archive)
        for user in (self.user("a", "agent"), self.user("a", "advisor"), self.user("a", "manager")):
            with self.subTest(user=user.login), self.assertRaises(AccessError):
                self.group.with_user(user).write({"auto_crm_share_archive": True})
        self.group_manager.groups_id = [(4, self.env.ref(settings_group).id)]
        self.group.with_user(self.group_manager).auto_crm_share_archive = True
        self.assertEqual(self.store_c.auto_crm_share_group_id, self.group)
        admin = new_test_user(
            self.env,
            "settings_admin_g",
            groups=f"auto_crm.group_admin,{settings_group}",
            company_id=self.group.id,
            company_ids=[(6, 0, (self.group | self.stores).ids)],
        )
        self.group.with_user(admin).auto_crm_share_archive = False
        self.assertFalse(self.store_c.auto_crm_share_group_id)
        # the computed group is the add-on's: nobody writes it
        with self.assertRaises(UserError):
            self.store_a.with_user(admin).auto_crm_share_group_id = self.group

    def test_settings_show_the_groups_switch(self):
        settings = self.env["res.config.settings"].with_company(self.store_b).create({})
        self.assertEqual(settings.auto_crm_dealer_group_id, self.group)
        settings.auto_crm_share_archive = True
        settings.execute()
        self.assertTrue(self.group.auto_crm_share_archive)

    def test_store_admin_saves_the_stores_settings(self):
        """A store's administrator (who does not hold the group company) opens and saves the settings:
        the group's switch is shown, left as it is."""
        admin_b = new_test_user(
            self.env,
            "settings_admin_b",
            groups="auto_crm.group_admin,base.group_system",
            company_id=self.store_b.id,
            company_ids=[(6, 0, self.store_b.ids)],
        )
        self.share()
        self.env.invalidate_all()
        settings = self.env["res.config.settings"].with_user(admin_b).create({})
        self.assertTrue(settings.auto_crm_share_archive)
        settings.execute()
        self.assertTrue(self.group.auto_crm_share_archive)

    def test_store_users_read_only_their_store_without_sharing(self):
        car_a, customer_a = self.cars["a"], self.customers["a"]
        for role in ("agent", "advisor", "manager", "admin"):
            user = self.user("b", role)
            with self.subTest(role=role):
                self.assertFalse(self.env["auto_crm.vehicle"].with_user(user).search([("id", "=", car_a.id)]))
                self.assertFalse(self.env["res.partner"].with_user(user).search([("id", "=", customer_a.id)]))
                with self.assertRaises(AccessError):
                    car_a.with_user(user).read(["vin"])
                with self.assertRaises(AccessError):
                    customer_a.with_user(user).read(["name"])

    def test_sharing_stores_read_each_others_archive_and_write_only_their_own(self):
        self.share()
        car_a, customer_a = self.cars["a"], self.customers["a"]
        for role in ("agent", "advisor", "manager", "admin"):
            user = self.user("b", role)
            with self.subTest(role=role):
                rows = self.env["auto_crm.vehicle"].with_user(user).search_read([("id", "=", car_a.id)], ["vin"])
                self.assertEqual(rows[0]["vin"], car_a.vin)
                self.assertEqual(customer_a.with_user(user).read(["name"])[0]["name"], customer_a.name)
                with self.assertRaises(AccessError):
                    car_a.with_user(user).write({"plate": "粤A·FORGE"})
        # A group outside does not read G's archive, and G's stores do not read its.
        user_x = self.user("x", "manager")
        self.assertFalse(self.env["auto_crm.vehicle"].with_user(user_x).search([("id", "=", car_a.id)]))
        self.assertFalse(self.env["res.partner"].with_user(user_x).search([("id", "=", customer_a.id)]))
        self.other_group.sudo().auto_crm_share_archive = True
        self.assertFalse(
            self.env["auto_crm.vehicle"].with_user(self.user("b", "agent")).search([("id", "=", self.cars["x"].id)])
        )

    # ------------------------------------------------------------------ receiving a car by its VIN
    def receive(self, user, vin, store=None):
        wizard = (
            self.env["auto_crm.vehicle.receive.wizard"]
            .with_user(user)
            .create({"vin": vin, "company_id": (store or user.company_id).id})
        )
        return wizard.action_receive()

    def test_car_archived_at_a_received_at_b(self):
        self.share()
        car, owner = self.cars["a"], self.customers["a"]
        cars_before = self.env["auto_crm.vehicle"].sudo().with_context(active_test=False).search_count([])
        advisor_b = self.user("b", "advisor")
        action = self.receive(advisor_b, car.vin.lower())
        self.assertEqual((action["res_model"], action["res_id"]), ("auto_crm.vehicle", car.id))
        self.assertEqual(car.company_id, self.store_b)
        # its owner becomes a customer of the group, served at every store
        self.assertEqual(owner.company_id, self.group)
        receipt = self.env["auto_crm.vehicle.receipt"].search([("vehicle_id", "=", car.id)])
        self.assertRecordValues(
            receipt,
            [
                {
                    "vin": car.vin,
                    "company_id": self.store_b.id,
                    "from_company_id": self.store_a.id,
                    "owner_id": owner.id,
                    "owner_from_company_id": self.store_a.id,
                    "user_id": advisor_b.id,
                }
            ],
        )
        self.assertIn("Store A", car.message_ids[0].body)
        # received again: the same car, no second receipt, never a duplicate
        action = self.receive(advisor_b, car.vin)
        self.assertEqual(action["res_id"], car.id)
        self.assertEqual(self.env["auto_crm.vehicle.receipt"].search_count([("vehicle_id", "=", car.id)]), 1)
        self.assertEqual(
            self.env["auto_crm.vehicle"].sudo().with_context(active_test=False).search_count([]), cars_before
        )
        # store B opens a visit for the car and its owner
        visit = (
            self.env["auto_crm.service.visit"]
            .with_user(advisor_b)
            .create({"partner_id": owner.id, "vehicle_id": car.id, "visit_type": "repair"})
        )
        self.assertEqual(visit.company_id, self.store_b)
        # both stores see the receipt (and the other store's name); store C does not
        self.env.invalidate_all()
        self.assertIn("Store B", receipt.with_user(self.user("a", "agent")).display_name)
        self.assertTrue(receipt.with_user(self.user("a", "agent")).read(["vin"]))
        self.assertFalse(self.env["auto_crm.vehicle.receipt"].with_user(self.user("c", "manager")).search([]))
        # a new car with the received VIN is still refused
        with self.assertRaises(ValidationError):
            self.env["auto_crm.vehicle"].with_user(advisor_b).create({"vin": car.vin})

    def test_receiving_refused_without_sharing_or_outside_the_group(self):
        car = self.cars["a"]
        with self.assertRaisesRegex(UserError, f"VIN {car.vin}: this car belongs to another store"):
            self.receive(self.user("b", "advisor"), car.vin)
        self.assertEqual(car.company_id, self.store_a)
        self.share()
        self.other_group.sudo().auto_crm_share_archive = True
        with self.assertRaisesRegex(UserError, "belongs to another store"):
            self.receive(self.user("x", "advisor"), car.vin)
        self.assertEqual(car.company_id, self.store_a)
        self.assertFalse(self.env["auto_crm.vehicle.receipt"].sudo().search([("vehicle_id", "=", car.id)]))

    def test_receiving_is_an_advisors_and_for_their_own_store(self):
        self.share()
        car = self.cars["a"]
        with self.assertRaises(AccessError):
            self.env["auto_crm.vehicle.receipt"].with_user(self.user("b", "agent"))._receive(car.vin, self.store_b)
        with self.assertRaises(AccessError):
            self.env["auto_crm.vehicle.receipt"].with_user(self.user("b", "advisor"))._receive(car.vin, self.store_c)
        self.assertEqual(car.company_id, self.store_a)

    def test_unknown_vin_opens_a_new_car_and_own_car_opens(self):
        vin = self.make_vin(4242)
        action = self.receive(self.user("b", "advisor"), vin)
        self.assertEqual(action["context"]["default_vin"], vin)
        self.assertNotIn("res_id", action)
        action = self.receive(self.user("b", "advisor"), self.cars["b"].vin)
        self.assertEqual(action["res_id"], self.cars["b"].id)
        with self.assertRaisesRegex(ValidationError, "VIN"):
            self.receive(self.user("b", "advisor"), "NOT-A-VIN")

    @mute_logger("odoo.models")
    def test_receipt_is_append_only(self):
        self.share()
        self.receive(self.user("b", "advisor"), self.cars["a"].vin)
        receipt = self.env["auto_crm.vehicle.receipt"].search([], limit=1)
        for role in ("agent", "advisor", "manager", "admin"):
            user = self.user("b", role)
            with self.subTest(role=role):
                with self.assertRaises(UserError):
                    receipt.with_user(user).write({"vin": self.make_vin(1)})
                with self.assertRaises(UserError):
                    receipt.with_user(user).unlink()
                with self.assertRaises(UserError):
                    self.env["auto_crm.vehicle.receipt"].with_user(user).create(
                        {"vehicle_id": self.cars["b"].id, "vin": self.cars["b"].vin}
                    )
        with self.assertRaises(UserError):
            receipt.write({"vin": self.make_vin(1)})
        with self.assertRaises(UserError):
            receipt.unlink()

    # ------------------------------------------------------------------ history across the group
    def test_b_reads_as_history_but_not_its_prices(self):
        self.share()
        visit_a, car_a = self.visits["a"], self.cars["a"]
        History = self.env["auto_crm.vehicle.service.history"]
        self.assertFalse(PRICE_FIELDS & set(History.fields_get()), "the history exposes no price")
        self.assertNotIn("inspection_note", History._fields)
        for role in ("agent", "advisor", "manager", "admin"):
            user = self.user("b", role)
            with self.subTest(role=role):
                rows = History.with_user(user).search_read([("vehicle_id", "=", car_a.id)])
                self.assertEqual(len(rows), 1)
                row = rows[0]
                self.assertEqual(row["company_id"][0], self.store_a.id)
                self.assertEqual(row["mileage"], 10000)
                self.assertEqual(row["work_done"], "Oil change at Store A")
                self.assertEqual(row["work_lines"], "Oil change labour; Oil filter")
                self.assertEqual(row["reference"], visit_a.name)
                self.assertFalse(PRICE_FIELDS & set(row))
                self.assertNotIn("Internal note", str(row))
                # the visit itself, with its prices, stays A's
                self.assertFalse(self.env["auto_crm.service.visit"].with_user(user).search([("id", "=", visit_a.id)]))
                with self.assertRaises(AccessError):
                    visit_a.with_user(user).read(["amount_total"])
                with self.assertRaises(AccessError):
                    visit_a.line_ids.with_user(user).read(["unit_price"])
                # on the car's form: the group's history, and none of A's visits
                car = car_a.with_user(user)
                self.assertEqual(car.service_history_ids.ids, [visit_a.id])
                self.assertFalse(car.visit_ids)
                with self.assertRaises(AccessError):
                    History.with_user(user).browse(visit_a.id).write({"mileage": 1})

    def test_history_without_sharing_is_the_stores_own(self):
        History = self.env["auto_crm.vehicle.service.history"]
        user = self.user("b", "agent")
        self.assertEqual(History.with_user(user).search([]).company_id, self.store_b)
        with self.assertRaises(AccessError):
            History.browse(self.visits["a"].id).with_user(user).read(["work_done"])
        # a group manager reads every store's history
        self.assertEqual(
            History.with_user(self.group_manager).search([("company_id", "in", self.stores.ids)]).company_id,
            self.stores,
        )
        # the cancelled and the not yet received visit are no history
        fresh = (
            self.env["auto_crm.service.visit"]
            .with_user(self.user("b", "advisor"))
            .create({"partner_id": self.customers["b"].id, "vehicle_id": self.cars["b"].id})
        )
        self.assertFalse(History.browse(fresh.id).exists())
