import threading
import traceback

from psycopg2 import errors

from odoo import SUPERUSER_ID, api
from odoo.tests import new_test_user, tagged
from odoo.tests.common import TransactionCase
from odoo.tools import SQL, mute_logger

from ..lib.vin import with_check_digit

ROUNDS = 6
SETUP_CONTEXT = {
    "tracking_disable": True,
    "mail_create_nolog": True,
    "mail_create_nosubscribe": True,
    "no_reset_password": True,
}


@tagged("post_install", "-at_install")
class TestReceiveConcurrency(TransactionCase):
    """Stores B and C of a dealer group that shares its archive receive the same car of store A at the
    same instant: two threads, each with its own cursor from the registry, both holding their snapshot
    (they have read the car) when a barrier releases them. One receives the car from A; the other's
    transaction fails with a serialization failure and is run again, as Odoo's RPC layer does, and then
    receives the car from the winner. The receipts always tell the car's path: never two from A, never
    a duplicate car. Committed data, deleted at the end."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.created = {"companies": [], "users": [], "partners": [], "vehicles": []}
        cls.addClassCleanup(cls._delete_created)
        with cls.registry.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, SETUP_CONTEXT)
            Company = env["res.company"]
            group = Company.create({"name": "Race Dealer Group", "auto_crm_share_archive": True})
            stores = [Company.create({"name": f"Race Store {key}", "parent_id": group.id}) for key in "ABC"]
            users = [
                new_test_user(
                    env,
                    f"crm_race_receiver_{store.id}",
                    groups="auto_crm.group_advisor",
                    company_id=store.id,
                    company_ids=[(6, 0, store.ids)],
                )
                for store in stores[1:]
            ]
            cls.group_id = group.id
            cls.store_ids = [store.id for store in stores]
            cls.user_ids = [user.id for user in users]
        cls.created["companies"] += [*reversed(cls.store_ids), cls.group_id]
        cls.created["users"] += cls.user_ids

    @classmethod
    def _delete_created(cls):
        created = cls.created
        with cls.registry.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, SETUP_CONTEXT)
            vehicles = created["vehicles"]
            # The receipts refuse unlink on purpose: SQL, for the test's own rows only.
            cr.execute(SQL("DELETE FROM auto_crm_vehicle_receipt WHERE vehicle_id = ANY(%s)", vehicles))
            cr.execute(SQL("DELETE FROM mail_message WHERE model = 'auto_crm.vehicle' AND res_id = ANY(%s)", vehicles))
            env["auto_crm.vehicle"].browse(vehicles).exists().unlink()
            users = env["res.users"].browse(created["users"]).exists()
            partners = env["res.partner"].browse(created["partners"]) | users.partner_id
            users.unlink()
            partners.exists().unlink()
            companies = env["res.company"].browse(created["companies"]).exists()
            company_partners = companies.partner_id
            for company in companies:
                company.unlink()
            company_partners.exists().unlink()

    def _car(self, number):
        """A customer of store A with a car kept by A. Committed."""
        with self.registry.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, SETUP_CONTEXT)
            store_a = self.store_ids[0]
            partner = env["res.partner"].create(
                {"name": f"Race Customer {number}", "auto_customer": True, "company_id": store_a}
            )
            car = env["auto_crm.vehicle"].create(
                {"vin": with_check_digit(f"LRWAU2180N7{number:06d}"), "partner_id": partner.id, "company_id": store_a}
            )
            self.created["partners"].append(partner.id)
            self.created["vehicles"].append(car.id)
            return car.id, car.vin

    def _receive(self, barrier, uid, store_id, vin, outcome):
        """One request as the RPC layer runs it: a cursor, an environment, the call, commit; on a
        serialization failure, rollback and the call once more in a fresh transaction."""
        try:
            for attempt in range(2):
                with self.registry.cursor() as cr:
                    # The test runner holds the registries' lock while tests run: give the cursor its
                    # transaction on this registry, so that the environment needs no registry lookup.
                    cr.transaction = api.Transaction(self.registry)
                    env = api.Environment(cr, uid, {"allowed_company_ids": [store_id]})
                    try:
                        # The snapshot: the car as the advisor's screen shows it, before both are released.
                        env["auto_crm.vehicle"].sudo().search([("vin", "=", vin)]).company_id.mapped("name")
                        if not attempt:
                            barrier.wait()
                        env["auto_crm.vehicle.receipt"]._receive(vin, env["res.company"].browse(store_id))
                        env.flush_all()
                        cr.commit()  # pylint: disable=invalid-commit
                    except errors.SerializationFailure:
                        cr.rollback()
                        outcome.append("serialization failure")
                        continue
                    outcome.append("received")
                    return
        except BaseException as error:  # reported by the main thread
            outcome.append(repr(error) + traceback.format_exc())
            barrier.abort()

    @mute_logger("odoo.sql_db")
    def test_two_stores_receive_one_car_at_once(self):
        store_a, store_b, store_c = self.store_ids
        for number in range(1, ROUNDS + 1):
            car_id, vin = self._car(number)
            barrier = threading.Barrier(2, timeout=30)
            outcomes = ([], [])
            threads = [
                threading.Thread(target=self._receive, args=(barrier, uid, store, vin, outcome))
                for uid, store, outcome in zip(self.user_ids, (store_b, store_c), outcomes, strict=True)
            ]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(30)
            self.assertFalse([thread for thread in threads if thread.is_alive()], "a request hung")
            with self.subTest(round=number):
                self.assertEqual([outcome[-1] for outcome in outcomes], ["received", "received"], outcomes)
                self.assertEqual(sum(outcome.count("serialization failure") for outcome in outcomes), 1, outcomes)
                with self.registry.cursor() as cr:
                    env = api.Environment(cr, SUPERUSER_ID, {})
                    car = env["auto_crm.vehicle"].browse(car_id)
                    receipts = env["auto_crm.vehicle.receipt"].search([("vehicle_id", "=", car_id)], order="id")
                    self.assertEqual(len(receipts), 2)
                    self.assertEqual(receipts[0].from_company_id.id, store_a)
                    self.assertEqual(receipts[1].from_company_id, receipts[0].company_id)
                    self.assertEqual(car.company_id, receipts[1].company_id)
                    self.assertEqual(set(receipts.company_id.ids), {store_b, store_c})
                    self.assertEqual(env["auto_crm.vehicle"].search_count([("vin", "=", vin)]), 1)
