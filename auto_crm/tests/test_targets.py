"""Monthly targets (auto_crm.target) and the daily report (日报表), against hand-counted figures.

The store is Shanghai's (UTC+8): a car received at 23:30 in the store is on that local day although it
is 15:30 UTC, and one received at 00:30 on the 1st of a month is in that month although UTC still says
the month before."""

import base64
import datetime
import io
import json

from freezegun import freeze_time
from openpyxl import load_workbook

from odoo import fields
from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.tests import Form, new_test_user, tagged
from odoo.tools import SQL, mute_logger
from odoo.tools.misc import file_open

from odoo.addons.spreadsheet.utils.validate_data import fields_in_spreadsheet

from .callback_common import CallbackCase
from .common import AutoCrmCase

D = fields.Date.to_date
DT = fields.Datetime.to_datetime


class TargetCase(CallbackCase):
    """A store of its own (no demo figure in it), in Shanghai, with two advisors, a manager and an agent,
    and November 2026 written out visit by visit and call by call (UTC times):

    visits (store's customers P1..P6):
      v1      P1 car A  advisor   received 11-03 02:00  delivered 11-03 08:00  follow-up   1000
      v_late  P2        advisor2  received 11-10 15:30 (23:30 local 11-10)  delivered 11-11 02:00  follow-up  500
      v_edge  P3        advisor   received 10-31 16:30 (00:30 local 11-01)  delivered 11-01 02:00  re-opened  700
      v_out   P4        advisor   received 11-30 16:30 (00:30 local 12-01)  at reception
      v_cancel P5       advisor   received 11-05 02:00  cancelled
      vA_may  P1 car A  advisor   delivered 2026-05-15  follow-up (due back in November, came back: v1)
      vB_may  P6 car B  advisor2  delivered 2026-05-20  follow-up (due back in November, did not come)

    callbacks due in November: c1 done CSI 80 (v1), c2 done CSI 90 (v_late), c3 failed (v_edge),
    c4 with an attempt (v_late), c5 open (v_out), c6 cancelled (v1); c7 done but due on 12-01.
    """

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.store = cls.env["res.company"].create({"name": "Target Store", "auto_crm_tz": "Asia/Shanghai"})
        common = {"company_id": cls.store.id, "company_ids": [(6, 0, cls.store.ids)]}
        cls.t_manager = new_test_user(cls.env, "tg_manager", groups="auto_crm.group_manager", **common)
        cls.t_admin = new_test_user(cls.env, "tg_admin", groups="auto_crm.group_admin", **common)
        cls.t_agent = new_test_user(cls.env, "tg_agent", groups="auto_crm.group_agent", **common)
        cls.t_advisor = new_test_user(cls.env, "tg_advisor", groups="auto_crm.group_advisor", **common)
        cls.t_advisor2 = new_test_user(cls.env, "tg_advisor2", groups="auto_crm.group_advisor", **common)
        cls.users = {
            "agent": cls.t_agent,
            "advisor": cls.t_advisor,
            "manager": cls.t_manager,
            "dealer admin": cls.t_admin,
        }
        Partner = cls.env["res.partner"]
        partners = Partner.create(
            [{"name": f"目标客户 {n}", "auto_customer": True, "auto_callback_consent": True} for n in range(1, 7)]
        )
        cars = cls.env["auto_crm.vehicle"].create(
            [{"vin": cls.make_vin(cls.next_vin()), "partner_id": p.id, "company_id": cls.store.id} for p in partners]
        )
        p1, p2, p3, p4, p5, p6 = partners
        car = dict(zip(partners, cars, strict=True))
        Visit = cls.env["auto_crm.service.visit"].with_company(cls.store)

        def visit(partner, advisor, state, received, delivered=None, amount=0.0):
            record = Visit.create(
                {
                    "partner_id": partner.id,
                    "vehicle_id": car[partner].id,
                    "company_id": cls.store.id,
                    "advisor_id": advisor.id,
                    "mileage_in": 10000,
                }
            )
            cls.set_visit_dates(
                record,
                state=state,
                date_reception=DT(received),
                date_delivered=delivered and DT(delivered),
                amount_total=amount,
            )
            return record

        a1, a2 = cls.t_advisor, cls.t_advisor2
        cls.v1 = visit(p1, a1, "followup", "2026-11-03 02:00:00", "2026-11-03 08:00:00", 1000)
        cls.v_late = visit(p2, a2, "followup", "2026-11-10 15:30:00", "2026-11-11 02:00:00", 500)
        cls.v_edge = visit(p3, a1, "delivery", "2026-10-31 16:30:00", "2026-11-01 02:00:00", 700)
        cls.v_out = visit(p4, a1, "reception", "2026-11-30 16:30:00")
        cls.v_cancel = visit(p5, a1, "cancel", "2026-11-05 02:00:00")
        cls.va_may = visit(p1, a1, "followup", "2026-05-15 01:00:00", "2026-05-15 02:00:00", 800)
        cls.vb_may = visit(p6, a2, "followup", "2026-05-20 01:00:00", "2026-05-20 02:00:00", 600)

        hierarchy = cls.env["auto_crm.csi.hierarchy"].sudo().search([], limit=1)
        cls.hierarchy = hierarchy
        Callback = cls.env["auto_crm.callback"]

        def callback(visit, due, state, done=None, csi=None):
            record = Callback.create(
                {
                    "partner_id": visit.partner_id.id,
                    "visit_id": visit.id,
                    "company_id": cls.store.id,
                    "date_due": D(due),
                }
            )
            cls.env.flush_all()
            cls.env.cr.execute(
                SQL(
                    # after-service calls: the CSI takes those only (survey kinds)
                    "UPDATE auto_crm_callback SET state = %s, date_done = %s, csi = %s, csi_hierarchy_id = %s, "
                    "survey_kind = 'after_service' WHERE id = %s",
                    state,
                    done and DT(done),
                    csi,
                    hierarchy.id if csi is not None else None,
                    record.id,
                )
            )
            record.invalidate_recordset()
            return record

        cls.c1 = callback(cls.v1, "2026-11-06", "done", "2026-11-10 03:00:00", 80.0)
        cls.c2 = callback(cls.v_late, "2026-11-13", "done", "2026-11-09 17:00:00", 90.0)  # 01:00 local 11-10
        cls.c3 = callback(cls.v_edge, "2026-11-04", "failed")
        cls.c4 = callback(cls.v_late, "2026-11-14", "todo")
        cls.env["auto_crm.callback.attempt"].create(
            {"callback_id": cls.c4.id, "outcome": "no_answer", "date": DT("2026-11-10 05:00:00")}
        )
        cls.c5 = callback(cls.v_out, "2026-11-30", "todo")
        cls.c6 = callback(cls.v1, "2026-11-07", "cancel")
        cls.c7 = callback(cls.v1, "2026-12-01", "done", "2026-12-01 03:00:00", 10.0)

        Target = cls.env["auto_crm.target"]
        cls.target = Target.create(
            {
                "company_id": cls.store.id,
                "month": D("2026-11-01"),
                "target_execution_rate": 90,
                "target_success_rate": 50,
                "target_csi": 80,
                "target_retention_rate": 40,
                "target_visits": 30,
                "target_revenue": 30000,
            }
        )
        cls.advisor_target = Target.create(
            {
                "company_id": cls.store.id,
                "month": D("2026-11-01"),
                "advisor_id": a1.id,
                "target_visits": 4,
                "target_revenue": 2000,
            }
        )


@tagged("post_install", "-at_install")
class TestTargets(TargetCase):
    @freeze_time("2026-11-20 04:00:00")
    def test_store_actuals_hand_counted(self):
        self.assertTrue(self.hierarchy, "the satisfaction weights of the demo data")
        target = self.target
        # callbacks due in November, cancelled excepted: c1..c5; worked: c1 c2 c3 c4; done: c1 c2
        self.assertAlmostEqual(target.actual_execution_rate, 80.0, places=1)
        self.assertAlmostEqual(target.actual_success_rate, 40.0, places=1)
        self.assertAlmostEqual(target.actual_csi, 85.0)  # (80 + 90) / 2; c7 is December's
        # cars due back in November: A (came back: v1) and B (did not)
        self.assertAlmostEqual(target.actual_retention_rate, 50.0, places=1)
        # received in November (local): v_edge (00:30 on the 1st), v1, v_late (23:30 on the 10th)
        self.assertEqual(target.actual_visits, 3)
        # of P1, P2, P3 only P1 had a visit delivered in the 12 months before
        self.assertAlmostEqual(target.actual_loyalty_rate, 100.0 / 3, places=1)
        # delivered and not re-opened: v1 1000 + v_late 500 (v_edge was re-opened)
        self.assertAlmostEqual(target.actual_revenue, 1500.0, places=1)
        self.assertAlmostEqual(target.attainment_execution_rate, 80.0 / 90 * 100, places=1)
        self.assertAlmostEqual(target.attainment_success_rate, 80.0, places=1)
        self.assertAlmostEqual(target.attainment_csi, 85.0 / 80 * 100, places=1)
        self.assertAlmostEqual(target.attainment_retention_rate, 125.0, places=1)
        self.assertAlmostEqual(target.attainment_loyalty_rate, 100.0 / 3 / 75 * 100, places=1)
        self.assertAlmostEqual(target.attainment_visits, 10.0, places=1)
        self.assertAlmostEqual(target.attainment_revenue, 5.0, places=1)
        self.assertEqual(target.target_loyalty_rate, 75.0, "the manuals' 75% by default")

    @freeze_time("2026-11-20 15:30:00")  # 23:30 in the store
    def test_advisor_actuals_hand_counted(self):
        target = self.advisor_target
        # the advisor's visits' callbacks: c1 (done, 80), c3 (failed), c5 (open)
        self.assertAlmostEqual(target.actual_execution_rate, 200.0 / 3, places=1)
        self.assertAlmostEqual(target.actual_success_rate, 100.0 / 3, places=1)
        self.assertAlmostEqual(target.actual_csi, 80.0, places=1)
        self.assertAlmostEqual(target.actual_retention_rate, 100.0)  # car A, whose last visit was theirs
        self.assertEqual(target.actual_visits, 2)  # v1, v_edge
        self.assertAlmostEqual(target.actual_loyalty_rate, 50.0)  # P1 returning, P3 new
        self.assertAlmostEqual(target.actual_revenue, 1000.0, places=1)
        self.assertAlmostEqual(target.attainment_visits, 50.0, places=1)
        self.assertAlmostEqual(target.attainment_revenue, 50.0, places=1)

    def test_actuals_are_set_based(self):
        """Reading the actuals of many targets costs the same queries as reading one."""
        Target = self.env["auto_crm.target"]
        extra = Target.create(
            [{"company_id": self.store.id, "month": D(f"2026-{m:02d}-01"), "target_visits": 10} for m in (8, 9, 10)]
        )

        def queries(targets):
            self.env.invalidate_all()
            targets = Target.browse(targets.ids)
            before = self.env.cr.sql_log_count
            targets.mapped("actual_visits")
            return self.env.cr.sql_log_count - before

        one = queries(self.target)
        many = queries(self.target | self.advisor_target | extra)
        self.assertEqual(one, many)
        self.assertLessEqual(many, 10)

    @freeze_time("2026-12-02 03:00:00")
    def test_form_takes_the_month_of_any_day(self):
        with Form(self.env["auto_crm.target"].with_user(self.t_manager)) as form:
            self.assertEqual(form.month, D("2026-12-01"), "this month of the store by default")
            form.month = D("2027-03-17")
            self.assertEqual(form.month, D("2027-03-01"))
            form.target_visits = 12
        self.assertEqual(form.record.company_id, self.store)
        self.assertEqual(form.record.target_loyalty_rate, 75.0)

    def test_bad_input_names_the_field(self):
        Target = self.env["auto_crm.target"].with_user(self.t_manager)
        count = Target.search_count([])
        cases = [
            ({"month": D("2026-12-15")}, "Month"),
            ({"target_visits": -1}, "Visits Target"),
            ({"target_revenue": -5.0}, "Revenue Target"),
            ({"target_success_rate": 101}, "Callback Success Target"),
            ({"target_execution_rate": -0.5}, "Callback Execution Target"),
            ({"target_csi": 120}, "CSI Target"),
            ({"target_loyalty_rate": 100.5}, "Loyalty Target"),
            ({"target_retention_rate": 250}, "Service Retention Target"),
            ({"month": D("2026-11-01")}, "already has targets"),
            ({"advisor_id": self.advisor.id}, "does not work for"),
        ]
        for vals, message in cases:
            with self.subTest(vals=vals), self.assertRaisesRegex(ValidationError, message), self.env.cr.savepoint():
                Target.create(dict({"company_id": self.store.id, "month": D("2026-12-01")}, **vals))
        self.assertEqual(Target.search_count([]), count, "nothing half-written")
        with self.assertRaisesRegex(ValidationError, "Callback Success Target"), self.env.cr.savepoint():
            self.target.with_user(self.t_manager).write({"target_success_rate": 100.1})
        self.target.invalidate_recordset()
        self.assertEqual(self.target.target_success_rate, 50.0)
        # moved onto the store's own target of the month: refused as well
        with self.assertRaisesRegex(ValidationError, "already has targets"), self.env.cr.savepoint():
            self.advisor_target.with_user(self.t_manager).write({"advisor_id": False})

    def test_rights(self):
        Target = self.env["auto_crm.target"]
        values = {"company_id": self.store.id, "month": D("2027-01-01"), "target_visits": 5}
        for user in (self.t_agent, self.t_advisor):
            with self.subTest(user=user.login):
                # they read their store's targets and figures
                self.assertEqual(self.target.with_user(user).actual_visits, 3)
                with self.assertRaises(AccessError):
                    Target.with_user(user).create(values)
                with self.assertRaises(AccessError):
                    self.target.with_user(user).write({"target_visits": 1})
                with self.assertRaises(AccessError):
                    self.target.with_user(user).unlink()
        # the store's manager sets them, for their store only
        mine = Target.with_user(self.t_manager).create(values)
        mine.write({"target_visits": 6})
        self.assertEqual(mine.target_visits, 6)
        with self.assertRaises(AccessError):
            Target.with_user(self.t_manager).create(dict(values, company_id=self.company.id))
        other = Target.create({"company_id": self.company.id, "month": D("2027-01-01")})
        for user in (self.t_agent, self.t_manager):
            self.assertFalse(Target.with_user(user).search([("id", "=", other.id)]))
            with self.assertRaises(AccessError):
                other.with_user(user).read(["target_visits"])

    def test_actuals_refused_for_every_group(self):
        figures = [name for name in self.target._fields if name.startswith(("actual_", "attainment_"))]
        self.assertEqual(len(figures), 14)
        for label, user in self.users.items():
            for fname in figures:
                with self.subTest(user=label, field=fname), self.assertRaises(UserError):
                    self.target.with_user(user).write({fname: 99})
                with self.subTest(user=label, field=fname, create=True), self.assertRaises(UserError):
                    self.env["auto_crm.target"].with_user(user).create(
                        {"company_id": self.store.id, "month": D("2027-02-01"), fname: 99}
                    )
        # the superuser's code is refused too: the figures are computed, never stored
        with self.assertRaisesRegex(UserError, "is set by the Dealer CRM itself"):
            self.target.sudo().write({"actual_revenue": 1e9})

    def test_unique_under_the_index(self):
        """The store's own target of a month is one (NULL advisor counted as one value), at the database."""
        self.env.flush_all()
        with mute_logger("odoo.sql_db"), self.assertRaises(Exception) as caught, self.env.cr.savepoint():
            self.env.cr.execute(
                SQL(
                    "INSERT INTO auto_crm_target (company_id, month, target_visits) VALUES (%s, %s, 1)",
                    self.store.id,
                    D("2026-11-01"),
                )
            )
        self.assertIn("auto_crm_target_company_month_advisor_uniq", str(caught.exception))


@tagged("post_install", "-at_install")
class TestDailyReport(TargetCase):
    def report(self, day, user=None):
        Wizard = self.env["auto_crm.daily.report.wizard"].with_user(user or self.t_manager)
        return Wizard.create({"company_id": self.store.id, "date": D(day)})

    @freeze_time("2026-11-10 23:30:00")  # 07:30 on 11 November in the store
    def test_default_day_is_the_store_day(self):
        wizard = self.env["auto_crm.daily.report.wizard"].with_user(self.t_manager).create({})
        self.assertEqual(wizard.company_id, self.store)
        self.assertEqual(wizard.date, D("2026-11-11"))

    @freeze_time("2026-11-10 15:45:00")  # 23:45 on 10 November in the store
    def test_day_figures_in_the_store_time_zone(self):
        wizard = self.report("2026-11-10")
        # v_late was received at 23:30 local: that day (15:30 UTC)
        self.assertEqual(wizard.visits_received, 1)
        self.assertEqual(wizard.visits_delivered, 0)
        self.assertEqual(wizard.revenue_day, 0.0)
        # c1 done 11:00 local, c2 done 01:00 local (17:00 UTC the day before), c4 attempted 13:00 local
        self.assertEqual(wizard.callbacks_done, 3)
        self.assertEqual(wizard.callbacks_successful, 2)
        # month to date: v_edge (00:30 on the 1st), v1, v_late; revenue: v1 (v_edge re-opened)
        self.assertEqual(wizard.mtd_visits, 3)
        self.assertEqual(wizard.mtd_revenue, 1000.0)
        self.assertEqual(wizard.target_id, self.target)
        self.assertEqual(wizard.target_visits, 30)
        self.assertEqual(wizard.target_revenue, 30000.0)
        self.assertAlmostEqual(wizard.pro_rata, 100.0 / 3, places=1)  # day 10 of 30
        self.assertAlmostEqual(wizard.expected_visits, 10.0, places=1)
        self.assertAlmostEqual(wizard.expected_revenue, 10000.0, places=1)
        self.assertAlmostEqual(wizard.attainment_visits, 10.0, places=1)
        self.assertAlmostEqual(wizard.attainment_revenue, 100.0 / 30, places=1)
        # per advisor, month to date: advisor v_edge and v1 (1000 delivered) against 4 cars and 2000;
        # advisor 2 v_late (delivered the next day), no target
        figures = wizard._get_figures()
        lines = {line["advisor"]: line for line in figures["advisors"]}
        self.assertEqual(set(lines), {self.t_advisor.name, self.t_advisor2.name})
        mine = lines[self.t_advisor.name]
        self.assertEqual((mine["mtd_visits"], mine["target_visits"], mine["mtd_revenue"]), (2, 4, 1000.0))
        self.assertAlmostEqual(mine["attainment_visits"], 50.0)
        self.assertAlmostEqual(mine["attainment_revenue"], 50.0)
        self.assertAlmostEqual(mine["expected_visits"], 4 / 3)
        other = lines[self.t_advisor2.name]
        self.assertEqual((other["mtd_visits"], other["target_visits"], other["attainment_visits"]), (1, 0, 0.0))
        self.assertIn("o_auto_crm_daily_advisors", wizard.advisors_html)

    def test_next_days(self):
        day3 = self.report("2026-11-03")
        self.assertEqual((day3.visits_received, day3.visits_delivered, day3.revenue_day), (1, 1, 1000.0))
        self.assertEqual((day3.mtd_visits, day3.mtd_revenue), (2, 1000.0))  # v_edge and v1
        day11 = self.report("2026-11-11")
        self.assertEqual((day11.visits_received, day11.visits_delivered, day11.revenue_day), (0, 1, 500.0))
        self.assertEqual((day11.mtd_visits, day11.mtd_revenue), (3, 1500.0))
        self.assertAlmostEqual(day11.pro_rata, 11 / 30 * 100, places=1)
        dec1 = self.report("2026-12-01")  # v_out, 00:30 local on 1 December; no targets set
        self.assertEqual((dec1.visits_received, dec1.mtd_visits, dec1.target_visits), (1, 1, 0))
        self.assertFalse(dec1.target_id)
        self.assertEqual(dec1.attainment_visits, 0.0)

    def test_xlsx_read_back(self):
        wizard = self.report("2026-11-10")
        action = wizard.action_export_xlsx()
        self.assertEqual(action["type"], "ir.actions.act_url")
        self.assertEqual(wizard.xlsx_name, "daily_report_2026_11_10.xlsx")
        book = load_workbook(io.BytesIO(base64.b64decode(wizard.xlsx_file)))
        sheet = book["Daily Report"]
        self.assertEqual(sheet["B2"].value, "Target Store")
        self.assertEqual(sheet["B3"].value, datetime.datetime(2026, 11, 10))
        rows = {
            sheet.cell(r, 1).value: [sheet.cell(r, c).value for c in range(2, 7)] for r in range(1, sheet.max_row + 1)
        }
        self.assertEqual(rows["Visits Received"][0], 1)
        self.assertEqual(rows["Revenue of the Day"][0], 0)
        self.assertEqual(rows["Callbacks Worked"][0], 3)
        self.assertEqual(rows["Callbacks Successful"][0], 2)
        visits = rows["Visits (cars)"]
        self.assertEqual(visits[:3], [3, 30, 10])
        self.assertAlmostEqual(visits[3], 0.1)
        self.assertAlmostEqual(visits[4], 1 / 3)
        revenue = rows["Revenue"]
        self.assertEqual(revenue[:3], [1000, 30000, 10000])
        self.assertAlmostEqual(revenue[3], 1 / 30)
        self.assertEqual(rows[self.t_advisor.name][:5], [2, 4, 0.5, 1000, 2000])
        self.assertEqual(rows[self.t_advisor2.name][:3], [1, 0, 0])

    def test_rights(self):
        # every group reads its store's day; another store is refused
        for user in (self.t_agent, self.t_advisor, self.t_manager):
            self.assertEqual(self.report("2026-11-03", user).visits_received, 1)
        with self.assertRaises(AccessError):
            wizard = (
                self.env["auto_crm.daily.report.wizard"]
                .with_user(self.t_manager)
                .create({"company_id": self.company.id, "date": D("2026-11-03")})
            )
            wizard.read(["mtd_visits"])
        wizard = self.report("2026-11-03", self.t_agent)
        for fname in ("mtd_visits", "revenue_day", "attainment_revenue"):
            with self.assertRaises(UserError):
                wizard.write({fname: 5})
        for fname in ("xlsx_file", "xlsx_name"):
            with self.assertRaises(UserError):
                wizard.write({fname: "attack"})
        # the button to the month's targets
        action = self.report("2026-11-03").action_open_target()
        self.assertEqual(action["res_id"], self.target.id)


@tagged("post_install", "-at_install")
class TestDailyDashboard(AutoCrmCase):
    """The daily report's spreadsheet dashboard, a tab of the After-Sales group: its pivots name models
    and fields that exist and run as the manager, and it opens for after-sales managers only."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        with file_open("auto_crm/data/files/daily_report_dashboard.json") as f:
            cls.data = json.load(f)
        cls.dashboard = cls.env.ref("auto_crm.spreadsheet_dashboard_daily_report")

    def test_pivots_run_for_a_manager(self):
        used = fields_in_spreadsheet(self.data)
        self.assertEqual(set(used), {"auto_crm.service.visit", "auto_crm.target"})
        filters = {f["id"] for f in self.data["globalFilters"]}
        for pivot in self.data["pivots"].values():
            Model = self.env[pivot["model"]].with_user(self.manager)
            aggregates = [
                "__count"
                if m["fieldName"] == "__count"
                else f"{m['fieldName']}:{Model._fields[m['fieldName']].aggregator}"
                for m in pivot["measures"]
            ]
            groupby = [f"{row['fieldName']}:{row['granularity']}" for row in pivot["rows"]]
            Model._read_group(pivot["domain"], groupby, aggregates)
            for filter_id, matching in pivot["fieldMatching"].items():
                self.assertIn(filter_id, filters)
                self.assertIn(matching["chain"], Model._fields)
        # the month-to-date block: actual, target, expected (target x pro rata), attainment, pro rata
        cells = self.data["sheets"][0]["cells"]
        self.assertEqual(cells["D5"]["content"], "=C5*F5")
        self.assertEqual(cells["E6"]["content"], "=IFERROR(B6/C6,0)")
        self.assertEqual(cells["F5"]["content"], "=DAY(TODAY())/DAY(EOMONTH(TODAY(),0))")

    def test_a_tab_of_the_after_sales_group_for_managers(self):
        self.assertEqual(
            self.dashboard.dashboard_group_id, self.env.ref("auto_crm.spreadsheet_dashboard_group_after_sales")
        )
        self.assertEqual(self.dashboard.group_ids, self.env.ref("auto_crm.group_manager"))
        data = self.dashboard.with_user(self.manager).get_readonly_dashboard()
        self.assertEqual(data["snapshot"]["pivots"].keys(), self.data["pivots"].keys())
        Dashboard = self.env["spreadsheet.dashboard"]
        for user in (self.agent, self.advisor):
            self.assertNotIn(self.dashboard, Dashboard.with_user(user).search([]), user.login)
