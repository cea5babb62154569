"""The after-sales spreadsheet dashboard: every pivot, list and chart names models and fields that exist
(as Odoo's own dashboard modules are checked), its domains run, and it opens for an after-sales manager
and nobody below."""

import base64
import json

from odoo.tests import tagged
from odoo.tools.misc import file_open

from odoo.addons.spreadsheet.utils.validate_data import fields_in_spreadsheet, odoo_charts

from .common import AutoCrmCase

DASHBOARD_FILE = "auto_crm/data/files/after_sales_dashboard.json"


@tagged("post_install", "-at_install")
class TestDashboard(AutoCrmCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        with file_open(DASHBOARD_FILE) as f:
            cls.data = json.load(f)
        cls.dashboard = cls.env.ref("auto_crm.spreadsheet_dashboard_after_sales")

    def test_models_and_fields_exist(self):
        used = fields_in_spreadsheet(self.data)
        self.assertIn("auto_crm.callback", used)
        self.assertIn("auto_crm.csi.report", used)
        for model, chains in used.items():
            self.assertIn(model, self.env, model)
            for chain in chains:
                field_model = model
                for fname in chain.split("."):
                    self.assertIn(fname, self.env[field_model]._fields, f"{model}: {chain}")
                    field = self.env[field_model]._fields[fname]
                    if field.relational:
                        field_model = field.comodel_name
        # the measures are numbers the ORM aggregates, the groupings real fields
        for pivot in self.data["pivots"].values():
            Model = self.env[pivot["model"]]
            for measure in pivot["measures"]:
                name = measure["fieldName"]
                if name != "__count":
                    self.assertIn(Model._fields[name].type, ("integer", "float", "monetary"), name)
                    self.assertTrue(Model._fields[name].aggregator, name)

    def test_every_figure_runs_for_a_manager(self):
        """Each pivot's domain and grouping and each chart's search run as the manager: the dashboard
        shows figures, not errors (a non-searchable field would raise here)."""
        for pivot in self.data["pivots"].values():
            Model = self.env[pivot["model"]].with_user(self.manager)
            groupby = [row["fieldName"] for row in pivot["rows"]]
            aggregates = [
                f"{m['fieldName']}:{Model._fields[m['fieldName']].aggregator}"
                if m["fieldName"] != "__count"
                else "__count"
                for m in pivot["measures"]
            ]
            Model._read_group(pivot["domain"], groupby, aggregates)
            for filter_id, matching in pivot["fieldMatching"].items():
                self.assertIn(filter_id, {f["id"] for f in self.data["globalFilters"]})
                Model.search_count([(matching["chain"], "!=", False)])
        charts = odoo_charts(self.data)
        self.assertTrue(charts)
        for chart in charts:
            self.assertEqual(chart["type"], "odoo_bar", chart["id"])
            self.assertEqual(chart["metaData"]["groupBy"], ["date_due:month"])
            Model = self.env[chart["metaData"]["resModel"]].with_user(self.manager)
            Model.read_group(chart["searchParams"]["domain"], [chart["metaData"]["measure"]], ["date_due:month"])

    def test_tiles(self):
        """The tiles the issue asks for, each a scorecard reading the Data sheet."""
        figures = self.data["sheets"][0]["figures"]
        titles = {f["data"]["title"]["text"] for f in figures if f["data"]["type"] == "scorecard"}
        for title in (
            "Calls due today", "Execution rate", "Success rate", "CSI this month", "Open complaints",
            "Service retention", "On-time delivery",
        ):  # fmt: skip
            self.assertIn(title, titles)
        data_cells = self.data["sheets"][1]["cells"]
        for figure in figures:
            if figure["data"]["type"] == "scorecard":
                cell = figure["data"]["keyValue"].split("!")[1]
                self.assertIn(cell, data_cells, figure["id"])
        csi = next(f for f in figures if f["data"]["title"]["text"] == "CSI this month")["data"]
        this, last = (data_cells[csi[key].split("!")[1]]["content"] for key in ("keyValue", "baseline"))
        pivots = self.data["pivots"]
        month_filter = next(f["id"] for f in self.data["globalFilters"] if f["type"] == "date")
        offsets = [pivots[c.split("(")[2].split(",")[0]]["fieldMatching"][month_filter]["offset"] for c in (this, last)]
        self.assertEqual(offsets, [0, -1])
        # on-time delivery from the stamped deliveries of the month
        on_time = next(p for p in pivots.values() if p["model"] == "auto_crm.delivery.report")
        self.assertEqual({m["fieldName"] for m in on_time["measures"]}, {"delivery_count", "on_time_count"})
        self.assertEqual(on_time["fieldMatching"][month_filter]["chain"], "date_delivered")
        per = {p["rows"][0]["fieldName"] for p in pivots.values() if p["rows"]}
        self.assertEqual(per, {"company_id", "advisor_id"})

    def test_opens_for_the_after_sales_manager_only(self):
        self.assertEqual(self.dashboard.group_ids, self.env.ref("auto_crm.group_manager"))
        stored = json.loads(base64.b64decode(self.dashboard.spreadsheet_binary_data))
        self.assertEqual(stored["pivots"].keys(), self.data["pivots"].keys())
        data = self.dashboard.with_user(self.manager).get_readonly_dashboard()
        self.assertEqual(data["snapshot"]["pivots"].keys(), self.data["pivots"].keys())
        Dashboard = self.env["spreadsheet.dashboard"]
        self.assertIn(self.dashboard, Dashboard.with_user(self.manager).search([]))
        for user in (self.agent, self.advisor):
            self.assertNotIn(self.dashboard, Dashboard.with_user(user).search([]), user.login)
        # and it is a menu of the Dealer CRM app
        action = self.env.ref("auto_crm.spreadsheet_dashboard_after_sales_action")
        self.assertEqual(action.params["dashboard_id"], self.dashboard.id)
        menu = self.env.ref("auto_crm.auto_crm_dashboard_menu")
        self.assertEqual(menu.action, action)
        self.assertTrue(menu.parent_path.startswith(f"{self.env.ref('auto_crm.auto_crm_menu_root').id}/"))
