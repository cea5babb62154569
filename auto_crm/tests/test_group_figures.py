import base64
import datetime
import io
import json

from freezegun import freeze_time
from openpyxl import load_workbook

from odoo import Command
from odoo.exceptions import AccessError, UserError
from odoo.tests import new_test_user, tagged
from odoo.tools.misc import file_open

from odoo.addons.spreadsheet.utils.validate_data import fields_in_spreadsheet

from .test_csi_report import CsiReportCase


class GroupCase(CsiReportCase):
    """A dealer group (the parent company) with three stores A, B and C. The group's active weighting weighs
    greeting 3:1 over cleanliness (0.75 / 0.25); store A has its own, 1:3 (0.25 / 0.75), made while the
    group allowed it, and the group no longer allows it unless a test says so."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        Company = cls.env["res.company"]
        cls.group = Company.create({"name": "Dealer Group", "auto_crm_store_weighting": True})
        cls.store_a, cls.store_b, cls.store_c = Company.create(
            [{"name": f"Store {letter}", "parent_id": cls.group.id} for letter in "ABC"]
        )
        cls.stores = cls.store_a | cls.store_b | cls.store_c
        cls.group_weighting = cls.make_active_hierarchy("3", company=cls.group)
        cls.own_weighting = cls.make_active_hierarchy("1/3", company=cls.store_a)
        cls.group.auto_crm_store_weighting = False
        everywhere = (cls.group | cls.stores | cls.company).ids
        cls.agent.company_ids = [Command.link(cid) for cid in everywhere]
        cls.group_manager = new_test_user(
            cls.env,
            "crm_group_manager",
            groups="auto_crm.group_manager",
            name="Group Manager",
            company_id=cls.group.id,
            company_ids=[Command.set((cls.group | cls.stores).ids)],
        )
        cls.store_manager = new_test_user(
            cls.env,
            "crm_store_a_manager",
            groups="auto_crm.group_manager",
            name="Store A Manager",
            company_id=cls.store_a.id,
            company_ids=[Command.set(cls.store_a.ids)],
        )
        # weightings are made by dealer administrators: one working at store A, one at the group
        cls.store_admin = new_test_user(
            cls.env,
            "crm_store_a_admin",
            groups="auto_crm.group_admin",
            name="Store A Administrator",
            company_id=cls.store_a.id,
            company_ids=[Command.set(cls.store_a.ids)],
        )
        cls.group_admin = new_test_user(
            cls.env,
            "crm_group_admin",
            groups="auto_crm.group_admin",
            name="Group Administrator",
            company_id=cls.group.id,
            company_ids=[Command.set((cls.group | cls.stores).ids)],
        )

    def scored(self, store, due="2025-03-05"):
        # greeting 5 -> 100, cleanliness 3 -> 50
        return self.answer(self.make_callback(due, company=store), greeting=5, cleanliness=3, overall=4)


@tagged("post_install", "-at_install")
class TestGroupWeighting(GroupCase):
    def test_weights_hand_computed(self):
        group = self.group_weighting.criterion_ids.sorted("sequence").mapped("global_weight")
        own = self.own_weighting.criterion_ids.sorted("sequence").mapped("global_weight")
        self.assertEqual([round(w, 6) for w in group], [0.75, 0.25])
        # 1/3 is stored as a float: the eigenvector is 0.25 / 0.75 to 6 places
        self.assertEqual([round(w, 6) for w in own], [0.25, 0.75])

    def test_stores_use_the_group_weighting_when_not_allowed(self):
        for store in self.stores:
            callback = self.scored(store)
            # 0.75 * 100 + 0.25 * 50, even at store A, whose own weighting is active but not allowed
            self.assertAlmostEqual(callback.csi, 87.5, places=6, msg=store.name)
            self.assertEqual(callback.csi_hierarchy_id, self.group_weighting, store.name)
        self.assertEqual(self.env["auto_crm.csi.hierarchy"]._get_effective(self.store_a), self.group_weighting)

    def test_own_weighting_when_allowed_and_present(self):
        self.group.auto_crm_store_weighting = True
        callback_a = self.scored(self.store_a)
        self.assertAlmostEqual(callback_a.csi, 62.5, places=4)  # 0.25 * 100 + 0.75 * 50
        self.assertEqual(callback_a.csi_hierarchy_id, self.own_weighting)
        callback_b = self.scored(self.store_b)  # allowed, but B has none: the group's
        self.assertAlmostEqual(callback_b.csi, 87.5, places=6)
        self.assertEqual(callback_b.csi_hierarchy_id, self.group_weighting)
        Hierarchy = self.env["auto_crm.csi.hierarchy"]
        self.assertEqual(Hierarchy._get_effective(self.store_a), self.own_weighting)
        self.assertEqual(Hierarchy._get_effective(self.store_b), self.group_weighting)

    def test_a_done_index_keeps_its_weighting(self):
        callback = self.scored(self.store_a)
        self.group.auto_crm_store_weighting = True
        callback.answer_ids.filtered(lambda a: a.step == "cleanliness").score = "1"  # 0.75 * 100 + 0.25 * 0
        self.assertAlmostEqual(callback.csi, 75.0, places=6)
        self.assertEqual(callback.csi_hierarchy_id, self.group_weighting)

    def test_store_without_group_keeps_its_own(self):
        callback = self.scored(self.company)
        self.assertAlmostEqual(callback.csi, 87.5, places=6)
        self.assertEqual(callback.csi_hierarchy_id, self.hierarchy_v1)

    def test_store_cannot_create_or_activate_its_own_when_not_allowed(self):
        # a store manager has no right to weightings at all (ACL); a dealer administrator at the store is
        # refused by the group rule
        with self.assertRaises(AccessError):
            self.env["auto_crm.csi.hierarchy"].with_user(self.store_manager).create(
                {"name": "Own index", "company_id": self.store_a.id}
            )
        Hierarchy = self.env["auto_crm.csi.hierarchy"].with_user(self.store_admin).with_company(self.store_a)
        with self.assertRaisesRegex(UserError, "Dealer Group"):
            Hierarchy.create({"name": "Own index", "company_id": self.store_a.id})
        with self.assertRaises(UserError):
            self.own_weighting.with_user(self.store_admin).with_company(self.store_a).action_new_version()
        # a draft made while it was allowed cannot be activated now
        self.group.auto_crm_store_weighting = True
        draft = Hierarchy.create(
            {
                "name": "Own index v3",
                "company_id": self.store_a.id,
                "criterion_ids": [
                    Command.create({"name": "Greeting", "sequence": 1, "step": "greeting"}),
                    Command.create({"name": "Cleanliness", "sequence": 2, "step": "cleanliness"}),
                ],
            }
        )
        self.group.auto_crm_store_weighting = False
        with self.assertRaisesRegex(UserError, "Dealer Group"):
            draft.action_activate()
        self.assertEqual(draft.state, "draft")
        self.assertEqual(self.own_weighting.state, "active")
        # nor moved from the group to a store
        new = self.group_weighting.with_user(self.group_admin).with_company(self.group).action_new_version()
        group_draft = self.env["auto_crm.csi.hierarchy"].browse(new["res_id"]).with_user(self.group_admin)
        with self.assertRaises(UserError):
            group_draft.write({"company_id": self.store_b.id})

    def test_own_weighting_when_allowed_and_the_group_at_the_group(self):
        self.group.auto_crm_store_weighting = True
        Hierarchy = self.env["auto_crm.csi.hierarchy"].with_user(self.store_admin).with_company(self.store_a)
        self.assertTrue(Hierarchy.create({"name": "Own index", "company_id": self.store_a.id}))
        self.group.auto_crm_store_weighting = False
        new = self.group_weighting.with_user(self.group_admin).with_company(self.group).action_new_version()
        draft = self.env["auto_crm.csi.hierarchy"].browse(new["res_id"])
        draft.with_user(self.group_admin).with_company(self.group).action_activate()
        self.assertEqual(draft.state, "active")
        self.assertEqual(self.group_weighting.state, "superseded")
        callback = self.scored(self.store_c)
        self.assertEqual(callback.csi_hierarchy_id, draft)

    def test_the_setting_is_the_dealer_administrators(self):
        for user in (self.store_manager, self.group_manager, self.agent, self.store_admin, self.group_admin):
            with self.subTest(user=user.login), self.assertRaises(AccessError):
                self.group.with_user(user).write({"auto_crm_store_weighting": True})
        self.assertFalse(self.group.auto_crm_store_weighting)
        admin = new_test_user(
            self.env,
            "crm_group_system",
            groups="auto_crm.group_admin,base.group_system",
            company_id=self.group.id,
            company_ids=[Command.set((self.group | self.stores).ids)],
        )
        settings = self.env["res.config.settings"].with_user(self.group_manager).with_company(self.group)
        with self.assertRaises(AccessError):
            settings.create({"auto_crm_store_weighting": True})
        settings = self.env["res.config.settings"].with_user(admin).with_company(self.group)
        settings.create({"auto_crm_store_weighting": True}).execute()
        self.assertTrue(self.group.auto_crm_store_weighting)


@tagged("post_install", "-at_install")
class TestGroupFigures(GroupCase):
    """March 2025 at the three stores, hand-counted:

    * visits delivered in March: A 2, B 1, C 0 (658.00 each); one delivered 28 February at A (not counted);
    * callbacks due in March: A 2 done (CSI 87.5 each) + 1 open with no attempt, B 1 done (87.5) and 1
      failed, C none; one done at B due in April (not counted);
    * complaints: A opened 2 in March (one closed in March), B opened 1 in February and closed in March;
      overdue: A's second one, resolve deadline 10 March, unresolved; B's, deadline 2 March, resolved 5 March.
    """

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.bulk_delivered_visits(2, datetime.datetime(2025, 3, 10, 9), company=cls.store_a)
        cls.bulk_delivered_visits(1, datetime.datetime(2025, 2, 28, 9), company=cls.store_a)
        cls.bulk_delivered_visits(1, datetime.datetime(2025, 3, 31, 23), company=cls.store_b)
        cls.complaints = cls.env["auto_crm.complaint"].create(
            [
                {"subject": f"Noise {n}", "partner_id": cls.customer.id, "company_id": store.id}
                for n, store in enumerate((cls.store_a, cls.store_a, cls.store_b))
            ]
        )
        cls.env.flush_all()
        dates = [
            # received, closed, resolve deadline, resolved
            ("2025-03-03 10:00", "2025-03-08 10:00", "2025-03-06 10:00", "2025-03-05 10:00"),
            ("2025-03-07 10:00", None, "2025-03-10 10:00", None),
            ("2025-02-27 10:00", "2025-03-09 10:00", "2025-03-02 10:00", "2025-03-05 10:00"),
        ]
        for complaint, (received, closed, deadline, resolved) in zip(cls.complaints, dates, strict=True):
            cls.env.cr.execute(
                """UPDATE auto_crm_complaint SET date_received = %s, date_closed = %s, deadline_resolve = %s,
                          date_resolved = %s WHERE id = %s""",
                [received, closed, deadline, resolved, complaint.id],
            )
        cls.env.invalidate_all()

    def setUp(self):
        super().setUp()
        for store, due in ((self.store_a, "2025-03-05"), (self.store_a, "2025-03-20"), (self.store_b, "2025-03-31")):
            self.scored(store, due)
        self.scored(self.store_b, "2025-04-01")
        self.make_callback("2025-03-12", company=self.store_a)
        failed = self.make_callback("2025-03-15", company=self.store_b)
        failed.action_start()
        self.env.flush_all()
        self.env.cr.execute("UPDATE auto_crm_callback SET state = 'failed' WHERE id = %s", [failed.id])
        self.env.invalidate_all()

    def wizard(self, user=None, stores=None):
        user = user or self.group_manager
        stores = stores or self.stores
        return (
            self.env["auto_crm.callback.report.wizard"]
            .with_user(user)
            .with_context(allowed_company_ids=(stores | (user.company_ids & self.stores)).ids)
            .create({"month": "2025-03-01", "company_ids": [Command.set(stores.ids)], "compare_stores": True})
        )

    @freeze_time("2025-04-10 08:00:00")
    def test_stores_side_by_side_and_total(self):
        figures = self.wizard()._get_group_figures()
        rows = figures["rows"]
        a, b, c, total = rows[self.store_a.id], rows[self.store_b.id], rows[self.store_c.id], figures["total"]
        self.assertEqual([a["visits"], b["visits"], c["visits"], total["visits"]], [2, 1, 0, 3])
        self.assertEqual([a["revenue"], b["revenue"], c["revenue"], total["revenue"]], [1316.0, 658.0, 0.0, 1974.0])
        self.assertEqual([a["due"], b["due"], c["due"], total["due"]], [3, 2, 0, 5])
        self.assertEqual([a["executed"], b["executed"], total["executed"]], [2, 2, 4])
        self.assertEqual([a["successful"], b["successful"], total["successful"]], [2, 1, 3])
        self.assertEqual([a["csi"], b["csi"], c["csi"], total["csi"]], [87.5, 87.5, None, 87.5])
        self.assertAlmostEqual(total["executed_rate"], 0.8)
        self.assertAlmostEqual(total["successful_rate"], 0.6)
        self.assertEqual([a["opened"], b["opened"], c["opened"], total["opened"]], [2, 0, 0, 2])
        self.assertEqual([a["closed"], b["closed"], total["closed"]], [1, 1, 2])
        self.assertEqual([a["overdue"], b["overdue"], total["overdue"]], [1, 1, 2])
        self.assertEqual(
            [store.name for store in figures["stores"]], ["Store A", "Store B", "Store C"], "stores by sequence, name"
        )

    @freeze_time("2025-04-10 08:00:00")
    def test_own_weighting_shows_in_the_store_csi(self):
        self.group.auto_crm_store_weighting = True
        self.scored(self.store_a, "2025-03-25")  # 62.5 with A's own weights
        figures = self.wizard()._get_group_figures(figures=("callbacks",))
        self.assertAlmostEqual(figures["rows"][self.store_a.id]["csi"], (87.5 + 87.5 + 62.5) / 3, places=4)
        self.assertAlmostEqual(figures["total"]["csi"], (87.5 * 3 + 62.5) / 4, places=4)

    @freeze_time("2025-04-10 08:00:00")
    def test_retention_per_store(self):
        # two cars delivered at B on 10 September 2024 are due for their service in March 2025 (6 months);
        # the first comes back on 15 March: B retains 1 of 2, A and C have none due
        first, _second = self.bulk_delivered_visits(2, datetime.datetime(2024, 9, 10, 9), company=self.store_b)
        self.env.cr.execute(
            """INSERT INTO auto_crm_service_visit (name, company_id, partner_id, vehicle_id, advisor_id, state,
                       visit_type, mileage_in, date_appointment, date_reception, kanban_state, inspection_failures,
                       create_date, write_date, create_uid, write_uid)
               SELECT 'RETURN/1', company_id, partner_id, vehicle_id, advisor_id, 'repair', 'maintenance', 15000,
                      '2025-03-15 08:00', '2025-03-15 09:00', 'normal', 0, now(), now(), 1, 1
                 FROM auto_crm_service_visit WHERE id = %s""",
            [first],
        )
        figures = self.wizard()._get_group_figures(figures=("retention",))
        b, total = figures["rows"][self.store_b.id], figures["total"]
        self.assertEqual((b["retention_due"], b["retention_returned"], b["retention_rate"]), (2, 1, 0.5))
        self.assertEqual(figures["rows"][self.store_a.id]["retention_due"], 0)
        self.assertEqual((total["retention_due"], total["retention_returned"]), (2, 1))

    @freeze_time("2025-03-20 08:00:00")
    def test_overdue_counts_only_deadlines_passed(self):
        # on 20 March A's deadline of 10 March has passed; B's resolved late on 5 March
        figures = self.wizard()._get_group_figures(figures=("complaints",))
        self.assertEqual(figures["total"]["overdue"], 2)
        with freeze_time("2025-03-08 08:00:00"):
            figures = self.wizard()._get_group_figures(figures=("complaints",))
        self.assertEqual(figures["total"]["overdue"], 1)  # A's deadline not yet passed

    @freeze_time("2025-04-10 08:00:00")
    def test_store_manager_sees_only_their_store(self):
        with self.assertRaises(AccessError):
            self.wizard(user=self.store_manager)
        figures = self.wizard(user=self.store_manager, stores=self.store_a)._get_group_figures()
        self.assertEqual(list(figures["rows"]), [self.store_a.id])
        self.assertEqual(figures["total"]["visits"], 2)
        with self.assertRaises(AccessError):
            self.wizard(user=self.agent, stores=self.store_a)._get_group_figures()

    def count_queries(self, wizard):
        """Queries of the figures, measured on a second call (the stores and the record rules in the caches:
        what is left is the figures' own SQL)."""
        figures = ("visits", "callbacks", "complaints")
        wizard._get_group_figures(figures=figures)
        self.env.flush_all()
        before = self.env.cr.sql_log_count
        wizard._get_group_figures(figures=figures)
        return self.env.cr.sql_log_count - before

    @freeze_time("2025-04-10 08:00:00")
    def test_one_query_per_figure(self):
        # SET LOCAL jit = off, then ONE query per family of figures, whatever the number of stores
        self.assertEqual(self.count_queries(self.wizard()), 4)
        self.assertEqual(self.count_queries(self.wizard(stores=self.store_a)), 4)

    @freeze_time("2025-04-10 08:00:00")
    def test_screen_shows_the_table(self):
        wizard = self.wizard()
        wizard.action_compute()
        self.assertIn("o_auto_crm_report_compare", wizard.summary_html)
        self.assertIn("Store B", wizard.summary_html)
        self.assertIn("1,974.00", wizard.summary_html)

    @freeze_time("2025-04-10 08:00:00")
    def test_workbook_of_the_stores(self):
        wizard = self.wizard()
        action = wizard.action_export_xlsx()
        self.assertIn("stores_2025_03.xlsx", action["url"])
        sheet = load_workbook(io.BytesIO(base64.b64decode(wizard.xlsx_file)), read_only=True).active
        rows = [row for row in sheet.iter_rows(values_only=True) if row and row[0]]
        header = next(i for i, row in enumerate(rows) if row[0] == "Store")
        table = {row[0]: row[1:] for row in rows[header + 1 :]}
        self.assertEqual(table["Store A"][:3], (2, 1316.0, 87.5))
        self.assertEqual(table["Store B"][4:7], (0, 1, 1))  # complaints opened, closed, overdue
        self.assertEqual(table["Total of the stores"][0], 3)
        self.assertEqual(table["Total of the stores"][7:9], (5, 4))  # callbacks due, executed


@tagged("post_install", "-at_install")
class TestGroupDashboard(GroupCase):
    """The Dealer Group dashboard: its pivots name fields that exist, each groups by store (the spilled PIVOT
    table shows every store and the total) and runs as a group manager, who sees every store's rows."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        with file_open("auto_crm/data/files/group_dashboard.json") as f:
            cls.data = json.load(f)
        cls.dashboard = cls.env.ref("auto_crm.spreadsheet_dashboard_group_stores")

    def test_models_and_fields_exist(self):
        for model, chains in fields_in_spreadsheet(self.data).items():
            for chain in chains:
                field_model = model
                for fname in chain.split("."):
                    self.assertIn(fname, self.env[field_model]._fields, f"{model}: {chain}")
                    field = self.env[field_model]._fields[fname]
                    if field.relational:
                        field_model = field.comodel_name

    def test_every_table_by_store_with_total(self):
        filters = {f["id"] for f in self.data["globalFilters"]}
        cells = self.data["sheets"][0]["cells"]
        for pivot_id, pivot in self.data["pivots"].items():
            with self.subTest(pivot=pivot["name"]):
                self.assertEqual(pivot["rows"], [{"fieldName": "company_id"}])
                self.assertIn({"content": f"=PIVOT({pivot_id})"}, cells.values())
                self.assertEqual(set(pivot["fieldMatching"]), filters)
                Model = (
                    self.env[pivot["model"]]
                    .with_user(self.group_manager)
                    .with_context(allowed_company_ids=(self.group | self.stores).ids)
                )
                aggregates = [
                    "__count"
                    if m["fieldName"] == "__count"
                    else f"{m['fieldName']}:{Model._fields[m['fieldName']].aggregator}"
                    for m in pivot["measures"]
                ]
                groupby = ["company_id"] + [c["fieldName"] for c in pivot["columns"]]
                Model._read_group(pivot["domain"], groupby, aggregates)
                for matching in pivot["fieldMatching"].values():
                    Model.search_count([(matching["chain"], "!=", False)])

    def test_visits_per_store_for_the_group_manager(self):
        self.bulk_delivered_visits(2, datetime.datetime(2025, 3, 10, 9), company=self.store_a)
        self.bulk_delivered_visits(1, datetime.datetime(2025, 3, 11, 9), company=self.store_c)
        pivot = self.data["pivots"]["1"]
        Visit = (
            self.env["auto_crm.service.visit"]
            .with_user(self.group_manager)
            .with_context(allowed_company_ids=(self.group | self.stores).ids)
        )
        rows = dict(
            Visit._read_group(pivot["domain"] + [("company_id", "in", self.stores.ids)], ["company_id"], ["__count"])
        )
        self.assertEqual(rows, {self.store_a: 2, self.store_c: 1})

    def test_published_for_managers_in_the_after_sales_group(self):
        self.assertEqual(
            self.dashboard.dashboard_group_id, self.env.ref("auto_crm.spreadsheet_dashboard_group_after_sales")
        )
        self.assertEqual(self.dashboard.group_ids, self.env.ref("auto_crm.group_manager"))
        Dashboard = self.env["spreadsheet.dashboard"]
        self.assertIn(self.dashboard, Dashboard.with_user(self.group_manager).search([]))
        self.assertNotIn(self.dashboard, Dashboard.with_user(self.agent).search([]))
        self.dashboard.with_user(self.group_manager).get_readonly_dashboard()
