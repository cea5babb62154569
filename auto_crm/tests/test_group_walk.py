import logging

import psycopg2

from odoo.exceptions import AccessError, UserError
from odoo.tests import tagged
from odoo.tools import mute_logger

from .group_common import ROLES, GroupCase

_logger = logging.getLogger(__name__)

#: Models whose records a group that shares its archive lets every store of the group read.
SHARED_MODELS = {"res.partner", "auto_crm.vehicle", "auto_crm.vehicle.service.history"}
#: Records kept by one store that the other store of the move reads too (with a rule of their own).
BOTH_STORES_MODELS = {"auto_crm.vehicle.receipt", "auto_crm.customer.transfer"}


@tagged("post_install", "-at_install")
class TestGroupRuleWalk(GroupCase):
    """Every model of the add-on with a store (``company_id``), walked as each user of three stores and
    as the group manager: a store's users count only their store's records, the group manager counts
    all of them. Models without a company field are skipped by design (they are listed in the log);
    models with no record at the three stores in this set-up (added by other parts of the add-on, or
    filled by jobs) are skipped, never failed."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        # More records at the stores: a copy of the main store's (or a shared) first record of each model that
        # has none there (when the copy holds at another store: a record tied to the main store's others does not).
        # A callback and a complaint about each store's visit (the agents' and managers' daily records).
        for key, store in zip("abc", cls.stores, strict=True):
            partner, car, visit = cls.customers[key], cls.cars[key], cls.visits[key]
            cls.env["auto_crm.callback"].create(
                {"partner_id": partner.id, "company_id": store.id, "date_due": "2026-12-01", "visit_id": visit.id}
            )
            cls.env["auto_crm.complaint"].with_company(store).create(
                {
                    "subject": f"Noise after the service at {store.name}",
                    "company_id": store.id,
                    "partner_id": partner.id,
                    "vehicle_id": car.id,
                    "visit_id": visit.id,
                }
            )
        main = cls.env.ref("base.main_company")
        names, _skipped = cls.walked_models()
        with mute_logger("odoo.sql_db", "odoo.models"):
            for name in names:
                Model = cls.env[name].sudo().with_context(active_test=False)
                if name == "res.partner" or Model._auto is False:
                    continue
                if Model.search_count([("company_id", "in", cls.stores.ids)]):
                    continue
                source = Model.search([("company_id", "in", [main.id, False])], limit=1, order="company_id, id")
                for store in cls.stores if source else ():
                    try:
                        with cls.env.cr.savepoint():
                            source.copy({"company_id": store.id})
                    except (UserError, psycopg2.Error):
                        break

    @classmethod
    def walked_models(cls):
        names = ["res.partner"]
        skipped = []
        for name in sorted(cls.env.registry):
            model = cls.env[name]
            if model._abstract or model._transient or model._original_module != "auto_crm":
                continue
            field = model._fields.get("company_id")
            if field and field.store and field.type == "many2one" and field.comodel_name == "res.company":
                names.append(name)
            else:
                skipped.append(name)
        return names, skipped

    def store_counts(self, name):
        Model = self.env[name].sudo().with_context(active_test=False)
        return {store: Model.search_count([("company_id", "=", store.id)]) for store in self.stores}

    def walk(self, shared):
        names, skipped = self.walked_models()
        _logger.info("group walk: models without a store field, skipped by design: %s", ", ".join(skipped))
        walked, empty = [], []
        for name in names:
            counts = self.store_counts(name)
            if not any(counts.values()):
                empty.append(name)
                continue
            walked.append(name)
            everything = [("company_id", "in", self.stores.ids)]
            sees_other_stores = shared and name in SHARED_MODELS
            for store in self.stores:
                key = store.name[-1].lower()
                others = self.stores - store
                for role in ROLES:
                    user = self.user(key, role)
                    Model = self.env[name].with_user(user).with_context(active_test=False)
                    if not Model.has_access("read"):
                        continue
                    with self.subTest(model=name, store=store.name, role=role, shared=shared):
                        own = Model.search_count([("company_id", "=", store.id)])
                        self.assertLessEqual(own, counts[store])
                        foreign = Model.search([("company_id", "in", others.ids)])
                        if sees_other_stores:
                            self.assertEqual(len(foreign), sum(counts[other] for other in others))
                        elif name not in BOTH_STORES_MODELS:
                            self.assertFalse(foreign, f"{user.login} reads {name} of other stores")
                            rows = Model.sudo().search([("company_id", "in", others.ids)], limit=1)
                            if rows:
                                with self.assertRaises(AccessError):
                                    rows.with_user(user).read(["company_id"])
                        # RPC-like: search_read over everything returns nothing of a store not shared
                        read = Model.search_read(everything, ["company_id"], limit=200)
                        read_stores = {row["company_id"][0] for row in read if row["company_id"]}
                        if not sees_other_stores and name not in BOTH_STORES_MODELS:
                            self.assertLessEqual(read_stores, {store.id})
            Model = self.env[name].with_user(self.group_manager).with_context(active_test=False)
            with self.subTest(model=name, user="group manager", shared=shared):
                self.assertEqual(Model.search_count(everything), sum(counts.values()))
        _logger.info(
            "group walk (shared=%s): %s models walked (%s); no record at the stores: %s",
            shared,
            len(walked),
            ", ".join(walked),
            ", ".join(empty),
        )
        return walked

    def test_store_users_see_their_store_group_manager_all(self):
        walked = self.walk(shared=False)
        self.assertGreaterEqual(len(walked), 20)
        for name in (
            "res.partner",
            "auto_crm.vehicle",
            "auto_crm.service.visit",
            "auto_crm.service.visit.line",
            "auto_crm.vehicle.service.history",
            "auto_crm.vehicle.ownership",
        ):
            self.assertIn(name, walked)

    def test_sharing_opens_the_archive_and_nothing_else(self):
        self.share()
        # a car received and a customer transferred, so that their records are walked too
        self.env["auto_crm.vehicle.receipt"].with_user(self.user("b", "advisor"))._receive(
            self.cars["a"].vin, self.store_b
        )
        self.env["auto_crm.customer.transfer"].with_user(self.user("c", "manager"))._transfer(
            self.customers["c"], self.store_a, "Closer to work"
        )
        walked = self.walk(shared=True)
        self.assertIn("auto_crm.vehicle.receipt", walked)
        self.assertIn("auto_crm.customer.transfer", walked)
