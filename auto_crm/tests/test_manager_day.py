"""The manager's day (issue 12): month headings in the reader's language, the monthly report's month
picker and print set-up, recurring issues by count, the criteria as a tree, activation refused before
its confirmation, report views without "New" and with bars by month, and the demo store."""

import base64
import datetime
import io
import zipfile

from freezegun import freeze_time
from lxml import etree
from openpyxl import load_workbook

from odoo import Command
from odoo.exceptions import UserError, ValidationError
from odoo.tests import Form, tagged

from .common import AutoCrmCase
from .test_csi_report import CsiReportCase


@tagged("post_install", "-at_install")
class TestManagerDay(AutoCrmCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env["res.lang"]._activate_lang("zh_CN")
        cls.env["ir.module.module"].search([("name", "=", "auto_crm")])._update_translations(["zh_CN"])

    # ------------------------------------------------------------------ month headings

    def test_month_headings_follow_the_language(self):
        self.vehicle.purchase_date = datetime.date(2026, 11, 15)
        Vehicle = self.env["auto_crm.vehicle"]
        domain = [("id", "=", self.vehicle.id)]

        def heading(lang, granularity="month"):
            groups = Vehicle.with_context(lang=lang).read_group(
                domain, ["purchase_date"], [f"purchase_date:{granularity}"]
            )
            return groups[0][f"purchase_date:{granularity}"]

        self.assertEqual(heading("zh_CN"), "2026年11月")
        self.assertEqual(heading("en_US"), "November 2026")
        self.assertEqual(heading("zh_CN", "quarter"), "2026年第4季度")
        # the group still narrows to its month
        group = Vehicle.with_context(lang="zh_CN").read_group(domain, ["purchase_date"], ["purchase_date:month"])[0]
        self.assertEqual(group["__range"]["purchase_date:month"], {"from": "2026-11-01", "to": "2026-12-01"})
        # Odoo's own models are left as Odoo shows them
        partner_groups = (
            self.env["res.partner"]
            .with_context(lang="zh_CN")
            .read_group([("id", "=", self.customer.id)], ["create_date"], ["create_date:month"])
        )
        self.assertNotIn("年", partner_groups[0]["create_date:month"])

    # ------------------------------------------------------------------ names and chatter of the seeded data

    def test_seeded_names_are_translated(self):
        expected = {
            "auto_crm.callback_rule_service_delivered": "维修交车后3天回访",
            "auto_crm.csi_hierarchy_default": "默认满意度指数",
            "auto_crm.questionnaire_after_service": "售后服务回访",
        }
        for xmlid, chinese in expected.items():
            record = self.env.ref(xmlid)
            self.assertTrue(record._fields["name"].translate, xmlid)
            self.assertEqual(record.with_context(lang="zh_CN").name, chinese, xmlid)
            self.assertNotEqual(record.with_context(lang="en_US").name, chinese, xmlid)

    def test_no_install_time_chatter_in_english(self):
        for xmlid in (
            "auto_crm.callback_rule_service_delivered",
            "auto_crm.questionnaire_after_service",
            "auto_crm.csi_hierarchy_default",
        ):
            record = self.env.ref(xmlid)
            bodies = record.message_ids.filtered(lambda m: m.body).mapped("body")
            self.assertFalse(bodies, f"{xmlid} got notes at install: {bodies}")
        # activated all the same, with its date
        self.assertEqual(self.env.ref("auto_crm.csi_hierarchy_default").state, "active")
        self.assertTrue(self.env.ref("auto_crm.csi_hierarchy_default").date_activated)

    def test_short_chinese_column_labels(self):
        Criterion = self.env["auto_crm.csi.criterion"].with_context(lang="zh_CN")
        for fname in ("lambda_max", "ci", "cr", "local_weight", "global_weight"):
            label = Criterion.fields_get([fname])[fname]["string"]
            self.assertLessEqual(len(label), 5, f"{fname}: {label}")

    # ------------------------------------------------------------------ recurring issues, criteria tree

    def test_recurring_issues_sorted_by_count(self):
        Tag = self.env["auto_crm.callback.issue.tag"]
        rare = Tag.create({"name": "Rare issue"})
        often = Tag.create({"name": "Frequent issue"})
        callbacks = self.env["auto_crm.callback"].search([], limit=3)
        if len(callbacks) < 3:
            self.skipTest("needs three callbacks")
        now = datetime.datetime.now()
        self.env.flush_all()
        self.env.cr.execute(
            "UPDATE auto_crm_callback SET state = 'done', date_done = %s WHERE id = ANY(%s)", (now, callbacks.ids)
        )
        self.env.cr.execute(
            "INSERT INTO auto_crm_callback_issue_tag_rel (callback_id, tag_id) VALUES (%s, %s), (%s, %s), (%s, %s)",
            (callbacks[0].id, often.id, callbacks[1].id, often.id, callbacks[2].id, rare.id),
        )
        self.env.invalidate_all()
        found = Tag.search([("id", "in", (rare | often).ids)], order="recent_count desc, name")
        self.assertEqual(found, often | rare)
        self.assertEqual(found.mapped("recent_count"), [2, 1])
        found = Tag.search([("id", "in", (rare | often).ids)], order="recent_count asc, name")
        self.assertEqual(found, rare | often)
        arch = Tag.get_views([(self.env.ref("auto_crm.auto_crm_callback_issue_tag_view_list_recurring").id, "list")])
        root = etree.fromstring(arch["views"]["list"]["arch"])
        self.assertEqual(root.get("default_order"), "recent_count desc, name")
        # its columns: the name, the counts, the actions; no column without a header but the button
        self.assertEqual(
            [f.get("name") for f in root.iter("field")],
            ["name", "recent_count", "recent_complaint_count", "preventive_action_ids"],
        )

    def test_criteria_shown_as_a_tree(self):
        default = self.env.ref("auto_crm.csi_hierarchy_default")
        criteria = self.env["auto_crm.csi.criterion"].search([("hierarchy_id", "=", default.id)], order="tree_key")
        self.assertTrue(any(c.parent_id for c in criteria))
        seen = self.env["auto_crm.csi.criterion"]
        current_main = None
        for criterion in criteria:
            if criterion.parent_id:
                # right under its main criterion (or a sibling of it)
                self.assertEqual(criterion.parent_id, current_main, criterion.name)
                self.assertTrue(criterion.tree_name.strip().startswith("└"), criterion.tree_name)
            else:
                current_main = criterion
                self.assertEqual(criterion.tree_name, criterion.name)
            seen |= criterion
        mains = criteria.filtered(lambda c: not c.parent_id)
        self.assertEqual(mains, mains.sorted(lambda c: (c.sequence, c.id)))
        # the lists sort by it
        for xmlid in ("auto_crm.auto_crm_csi_criterion_view_list",):
            view = self.env.ref(xmlid)
            self.assertIn("tree_key", etree.fromstring(view.arch).get("default_order"))
        form = etree.fromstring(self.env.ref("auto_crm.auto_crm_csi_hierarchy_view_form").arch)
        criteria_list = form.xpath("//field[@name='criterion_ids']/list")[0]
        self.assertEqual(criteria_list.get("default_order"), "tree_key")
        # the tree key is the add-on's
        draft = self.env["auto_crm.csi.hierarchy"].create(
            {"name": "Draft", "company_id": self.company.id, "criterion_ids": [Command.create({"name": "A"})]}
        )
        with self.assertRaisesRegex(UserError, "Position in the Tree"):
            draft.criterion_ids.with_user(self.dealer_admin).write({"tree_key": "0"})

    # ------------------------------------------------------------------ activation refused before "Continue?"

    def test_inconsistent_weights_refused_before_the_confirmation(self):
        hierarchy = self.env["auto_crm.csi.hierarchy"].create(
            {
                "name": "Proposal",
                "company_id": self.company.id,
                "criterion_ids": [
                    Command.create({"name": name, "sequence": i, "step": "other"})
                    for i, name in enumerate(["A", "B", "C"])
                ],
            }
        )
        pairs = {(c.criterion_a_id.name, c.criterion_b_id.name): c for c in hierarchy.comparison_ids}
        pairs[("A", "B")].value = "9"
        pairs[("B", "C")].value = "9"
        pairs[("A", "C")].value = "1/9"
        self.assertTrue(hierarchy.activation_problem)
        self.assertIn("inconsistent", hierarchy.activation_problem)
        with self.assertRaises(ValidationError) as caught:
            hierarchy.with_user(self.dealer_admin).action_activate()
        self.assertEqual(str(caught.exception), hierarchy.activation_problem)
        # a consistent one has no problem, and its button asks for the confirmation
        pairs[("A", "B")].value = "1"
        pairs[("B", "C")].value = "1"
        pairs[("A", "C")].value = "1"
        self.assertFalse(hierarchy.activation_problem)
        form = etree.fromstring(self.env.ref("auto_crm.auto_crm_csi_hierarchy_view_form").arch)
        buttons = form.xpath("//header/button[@name='action_activate']")
        self.assertEqual(len(buttons), 2)
        confirmed = [b for b in buttons if b.get("confirm")]
        plain = [b for b in buttons if not b.get("confirm")]
        self.assertEqual(len(confirmed), 1)
        self.assertIn("or activation_problem", confirmed[0].get("invisible"))
        self.assertIn("not activation_problem", plain[0].get("invisible"))
        # activated by a person, the chatter says so, whatever context the caller sends
        hierarchy.with_user(self.dealer_admin).with_context(install_mode=True).action_activate()
        self.assertEqual(hierarchy.state, "active")
        self.assertTrue(any("Activated with" in str(m.body) for m in hierarchy.message_ids))
        # the same in a form, before anything is saved
        with Form(self.env["auto_crm.csi.hierarchy"].with_user(self.dealer_admin)) as form_:
            form_.name = "Draft in a form"
            with form_.criterion_ids.new() as line:
                line.name = "Only"
            self.assertIn("Questionnaire Step", form_.activation_problem)

    # ------------------------------------------------------------------ report views

    def test_report_views_bars_by_month_and_no_new_button(self):
        for model, action in (
            ("auto_crm.csi.report", "auto_crm.auto_crm_csi_report_action"),
            ("auto_crm.retention.report", "auto_crm.auto_crm_retention_report_action"),
        ):
            views = self.env[model].get_views([(False, "graph"), (False, "list"), (False, "pivot")])["views"]
            graph = etree.fromstring(views["graph"]["arch"])
            self.assertEqual(graph.get("type"), "bar", model)
            self.assertEqual(graph.xpath("//field[@interval]")[0].get("interval"), "month", model)
            listing = etree.fromstring(views["list"]["arch"])
            self.assertIn(listing.get("create"), ("0", "false"), model)
            self.assertNotIn("list", self.env.ref(action).view_mode.split(",")[:1])
        segments = etree.fromstring(self.env.ref("auto_crm.res_partner_view_list_segments").arch)
        self.assertEqual(segments.get("create"), "0")

    # ------------------------------------------------------------------ demo

    def test_demo_store_and_staff(self):
        agent = self.env.ref("auto_crm.user_agent_demo", raise_if_not_found=False)
        if not agent:
            self.skipTest("demo data not loaded")
        store = self.env.ref("base.main_company")
        self.assertEqual(store.currency_id, self.env.ref("base.CNY"))
        self.assertEqual(store.country_id, self.env.ref("base.cn"))
        self.assertIn("4S", store.name)
        self.assertTrue(store.city and store.street)
        root = self.env.ref("auto_crm.auto_crm_menu_root")
        for xmlid in ("user_advisor_demo", "user_agent_demo", "user_technician_demo", "user_manager_demo"):
            user = self.env.ref(f"auto_crm.{xmlid}")
            self.assertTrue(user.action_id, xmlid)
            menus = self.env["ir.ui.menu"].search([("action", "=", f"{user.action_id.type},{user.action_id.id}")])
            self.assertTrue(menus, xmlid)
            self.assertTrue(any(m.parent_path.startswith(f"{root.id}/") for m in menus), xmlid)
            # and the user sees the app
            self.assertIn(root, self.env["ir.ui.menu"].with_user(user).search([("id", "=", root.id)]), xmlid)


@tagged("post_install", "-at_install")
class TestMonthlyReportPrint(CsiReportCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env["res.lang"]._activate_lang("zh_CN")

    def test_month_picker(self):
        with freeze_time("2026-11-20 10:00:00"):
            with Form(self.env(user=self.manager)["auto_crm.callback.report.wizard"]) as form:
                self.assertEqual(form.period_month, "11")
                self.assertEqual(form.period_year, 2026)
                form.period_month = "2"
                form.period_year = 2025
            self.assertEqual(form.record.month, datetime.date(2025, 2, 1))
        wizard = self.env(user=self.manager)["auto_crm.callback.report.wizard"].create({"month": "2025-02-01"})
        with self.assertRaisesRegex(ValidationError, "Year: 1990"):
            wizard.write({"period_year": 1990})
        wizard.write({"period_month": "5", "period_year": 2024})
        self.assertEqual(wizard.month, datetime.date(2024, 5, 1))
        view = etree.fromstring(self.env.ref("auto_crm.auto_crm_callback_report_wizard_view_form").arch)
        self.assertEqual(view.xpath("//field[@name='month']")[0].get("invisible"), "1")
        self.assertTrue(view.xpath("//field[@name='period_month']"))

    def _workbook(self, lang="en_US"):
        wizard = self.env(user=self.manager, context=dict(self.env.context, lang=lang))[
            "auto_crm.callback.report.wizard"
        ].create({"month": "2025-03-15", "company_ids": [Command.set(self.company.ids)]})
        wizard.action_export_xlsx()
        return load_workbook(io.BytesIO(base64.b64decode(wizard.xlsx_file))), wizard

    def test_xlsx_prints_landscape_fitted(self):
        book, wizard = self._workbook()
        self.assertEqual(book.sheetnames[:2], ["Summary", "Chart"])
        # the chart sheet prints landscape on A4 (openpyxl does not read a chart sheet's page set-up)
        with zipfile.ZipFile(io.BytesIO(base64.b64decode(wizard.xlsx_file))) as archive:
            chart_sheet = archive.read("xl/chartsheets/sheet1.xml").decode()
        self.assertIn('orientation="landscape"', chart_sheet)
        self.assertIn('paperSize="9"', chart_sheet)
        summary = book["Summary"]
        self.assertEqual(summary.page_setup.orientation, "landscape")
        self.assertEqual(int(summary.page_setup.paperSize), 9)
        self.assertTrue(summary.sheet_properties.pageSetUpPr.fitToPage)
        # openpyxl reads an absent fitToWidth / fitToHeight as the default, 1
        self.assertEqual(int(summary.page_setup.fitToWidth or 1), 1)
        self.assertEqual(int(summary.page_setup.fitToHeight or 1), 1)
        self.assertIn("$A$1:$J$", str(summary.print_area))
        self.assertEqual(len(book["Chart"]._charts), 1)
        for name in ("Questions", "Issues", "Callbacks"):
            sheet = book[name]
            self.assertEqual(sheet.page_setup.orientation, "landscape", name)
            self.assertTrue(sheet.sheet_properties.pageSetUpPr.fitToPage, name)
            self.assertEqual(int(sheet.page_setup.fitToWidth or 1), 1, name)
            height = sheet.page_setup.fitToHeight
            if name == "Callbacks":
                self.assertEqual(int(height), 0, name)  # as many pages down as the month needs
            else:
                self.assertIn(height, (None, 1, "1"), name)

    def test_month_in_chinese_in_the_workbook_and_on_screen(self):
        book, wizard = self._workbook("zh_CN")
        self.assertEqual(book.worksheets[0].cell(2, 2).value, "2025年3月")
        wizard.with_context(lang="zh_CN").action_compute()
        self.assertIn("2025年3月", str(wizard.summary_html))
        book, wizard = self._workbook("en_US")
        self.assertEqual(book.worksheets[0].cell(2, 2).value, "March 2025")
