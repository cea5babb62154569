from freezegun import freeze_time

from odoo import Command
from odoo.tests import tagged, warmup
from odoo.tools import mute_logger

from .loyalty_common import LoyaltyCase
from .nightly_common import NightlyBulkMixin

#: Queries of one nightly segmentation run (at most; the same whatever the number of customers): the
#: store's settings and address read, the run log's three (lock, run created, closed), the stores'
#: thresholds and ONE UPDATE grading every customer, then the stores to score and per store its standard
#: (four reads) and two UPDATEs (vehicles, customers), plus a savepoint and its release per unit.
SEGMENT_QUERY_BUDGET = 20


@tagged("post_install", "-at_install")
class TestSegments(NightlyBulkMixin, LoyaltyCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.company.write(
            {"lifecycle_satisfied_visits": 2, "lifecycle_retained_visits": 3, "lifecycle_loyal_visits": 5}
        )

    def customer_with_car(self, name, number, **vals):
        partner = self.env["res.partner"].create({"name": name, "auto_customer": True, **vals})
        vehicle = self.env["auto_crm.vehicle"].create(
            {"vin": self.make_vin(700000 + number), "partner_id": partner.id, "plate": f"粤B·S{number:04d}"}
        )
        return partner, vehicle

    def test_value_grade_and_lifecycle_stage(self):
        loyal, loyal_car = self.customer_with_car("忠诚客户", 101)
        retained, retained_car = self.customer_with_car("留住客户", 102)
        satisfied, satisfied_car = self.customer_with_car("满意客户", 103)
        new, new_car = self.customer_with_car("新客户", 104)
        at_risk, at_risk_car = self.customer_with_car("风险客户", 105)
        lost, lost_car = self.customer_with_car("流失客户", 106)
        potential, _car = self.customer_with_car("潜在客户", 107)
        for month in ("2025-09-01", "2025-11-01", "2026-01-05", "2026-03-01", "2026-06-01"):
            self.deliver(300, when=f"{month} 10:00:00", vehicle=loyal_car)
        for month in ("2025-08-01", "2026-01-01", "2026-05-01"):
            self.deliver(100, when=f"{month} 10:00:00", vehicle=retained_car)
        for month in ("2026-02-01", "2026-05-20"):
            self.deliver(1800, when=f"{month} 10:00:00", vehicle=satisfied_car)
        self.deliver(200, when="2026-05-10 10:00:00", vehicle=new_car)
        self.deliver(12000, when="2025-10-01 10:00:00", vehicle=at_risk_car)
        self.deliver(500, when="2025-03-01 10:00:00", vehicle=lost_car)
        # A cancelled visit is not a visit.
        cancelled = self.make_visit(vehicle_id=potential.auto_vehicle_ids.id, partner_id=potential.id)
        cancelled.cancel_reason = "No show"
        cancelled.action_cancel()

        with freeze_time("2026-06-15"):
            self.env.ref("auto_crm.ir_cron_auto_crm_segments").method_direct_trigger()
        expected = {
            loyal: ("A", "loyal", 1500, 5),  # five visits in 12 months
            retained: ("B", "retained", 300, 3),  # three visits, little money
            satisfied: ("B", "satisfied", 3600, 2),
            new: ("C", "new", 200, 1),
            at_risk: ("A", "at_risk", 12000, 1),  # valuable, but 257 days without a visit
            lost: ("C", "lost", 0, 0),  # 471 days without a visit
            potential: ("C", "potential", 0, 0),
        }
        for partner, (grade, stage, spend, visits) in expected.items():
            with self.subTest(customer=partner.name):
                self.assertEqual(
                    (
                        partner.auto_value_grade,
                        partner.auto_lifecycle_stage,
                        partner.auto_spend_12m,
                        partner.auto_visits_12m,
                    ),
                    (grade, stage, spend, visits),
                )
                self.assertEqual(str(partner.auto_lifecycle_stage_date), "2026-06-15")
                self.assertEqual(partner.auto_segment_company_id, self.company)
        self.assertEqual(self.program.segments_run_id.state, "done")
        self.assertFalse(self.program.segments_run_id.line_ids, "nothing failed")

        with freeze_time("2026-12-20"):
            self.env["res.partner"]._cron_auto_crm_segments()
        self.assertEqual(new.auto_lifecycle_stage, "at_risk", "224 days without a visit")
        self.assertEqual(str(new.auto_lifecycle_stage_date), "2026-12-20")
        self.assertEqual(potential.auto_lifecycle_stage, "potential")
        self.assertEqual(
            str(potential.auto_lifecycle_stage_date), "2026-06-15", "the stage date is kept while the stage is"
        )
        self.assertEqual(at_risk.auto_lifecycle_stage, "lost")
        self.assertEqual(at_risk.auto_value_grade, "C", "the big repair is more than 12 months old")

    def test_every_customer_is_graded(self):
        self.env["res.partner"]._cron_auto_crm_segments()
        customers = self.env["res.partner"].search([("auto_customer", "=", True)])
        self.assertTrue(customers)
        for field in (
            "auto_value_grade",
            "auto_lifecycle_stage",
            "auto_lifecycle_stage_date",
            "auto_segment_company_id",
        ):
            self.assertFalse(customers.filtered(lambda p, f=field: not p[f]), f"{field} missing")
        self.assertFalse(customers.filtered(lambda p: p.auto_completeness_score <= 0))

    def test_prospect_grade(self):
        partner = self.env["res.partner"].create({"name": "潜客", "auto_customer": True})
        cases = [
            ((True, True, True), "A"),
            ((False, True, True), "B"),
            ((True, False, True), "C"),
            ((True, True, False), False),
            ((False, False, False), False),
        ]
        for (confidence, need, power), grade in cases:
            with self.subTest(flags=(confidence, need, power)):
                partner.write(
                    {
                        "auto_prospect_confidence": confidence,
                        "auto_prospect_need": need,
                        "auto_prospect_purchasing_power": power,
                    }
                )
                self.assertEqual(partner.auto_prospect_grade, grade)
        self.assertEqual(
            self.env["res.partner"].search_count([("id", "=", partner.id), ("auto_prospect_grade", "=", False)]),
            1,
            "stored, searchable",
        )

    def test_completeness_standard_and_profile_confirmation(self):
        fields_ = self.env["ir.model.fields"]
        self.company.write(
            {
                "completeness_partner_field_ids": [
                    Command.set(
                        fields_.search([("model", "=", "res.partner"), ("name", "in", ("mobile", "auto_birthday"))]).ids
                    )
                ],
                "completeness_vehicle_field_ids": [
                    Command.set(
                        fields_.search(
                            [("model", "=", "auto_crm.vehicle"), ("name", "in", ("plate", "purchase_date"))]
                        ).ids
                    )
                ],
                "completeness_profile": True,
            }
        )
        partner = (
            self.env["res.partner"]
            .with_user(self.agent)
            .create({"name": "资料不全", "auto_customer": True, "mobile": "13800000009"})
        )
        vehicle = self.env["auto_crm.vehicle"].create(
            {"vin": self.make_vin(700120), "partner_id": partner.id, "plate": "粤B·Q0001"}
        )
        self.env["res.partner"]._cron_auto_crm_segments()
        self.assertEqual(vehicle.completeness_score, 50)
        # mobile 1 + birthday 0 + profile 0 (created only) + vehicle 50% of 2 fields = 2 of 5
        self.assertEqual(partner.auto_completeness_score, 40)
        partner.with_user(self.manager).action_profile_verify()
        # The agent records the full date where agents read the month and day (the year is the managers').
        partner.auto_birthday_month_day = "1990-01-01"
        vehicle.purchase_date = "2024-01-01"
        self.env["res.partner"]._cron_auto_crm_segments()
        self.assertEqual(partner.auto_completeness_score, 90)
        partner.with_user(self.dealer_admin).action_profile_file()
        self.env["res.partner"]._cron_auto_crm_segments()
        self.assertEqual(partner.auto_completeness_score, 100)
        # The manager's view: incomplete profiles grouped by creator and store.
        partner.auto_birthday_month_day = False
        self.env["res.partner"]._cron_auto_crm_segments()
        action = self.env.ref("auto_crm.res_partner_action_auto_completeness")
        groups = (
            self.env["res.partner"]
            .with_user(self.manager)
            .read_group(
                [("id", "=", partner.id), ("auto_completeness_score", "<", 100)],
                ["auto_completeness_score:avg"],
                ["auto_profile_created_by_id", "auto_segment_company_id"],
                lazy=False,
            )
        )
        self.assertEqual(groups[0]["auto_profile_created_by_id"][0], self.agent.id)
        self.assertEqual(groups[0]["auto_segment_company_id"][0], self.company.id)
        self.assertIn("auto_completeness_score", action.domain)

    def test_one_bad_store_does_not_stop_the_run(self):
        partner, _car = self.customer_with_car("好客户", 130)
        fields_ = self.env["ir.model.fields"]
        # A standard field whose column is gone (a broken customisation): scoring this store fails.
        gearbox = fields_.search([("model", "=", "auto_crm.vehicle"), ("name", "=", "gearbox_number")])
        self.company.completeness_vehicle_field_ids = [Command.set(gearbox.ids)]
        self.env.flush_all()
        self.env.cr.execute("ALTER TABLE auto_crm_vehicle RENAME COLUMN gearbox_number TO gearbox_number_gone")
        try:
            with mute_logger("odoo.sql_db", "odoo.addons.auto_crm.models.auto_crm_job_run"):
                self.assertFalse(self.env["res.partner"]._cron_auto_crm_segments())
        finally:
            self.env.cr.execute("ALTER TABLE auto_crm_vehicle RENAME COLUMN gearbox_number_gone TO gearbox_number")
        run = self.program.segments_run_id
        self.assertEqual(run.state, "failed")
        failure = run.line_ids.filtered(lambda line: line.state == "failed")
        self.assertEqual((failure.res_model, failure.res_id), ("res.company", self.company.id), "the store that failed")
        self.assertIn("gearbox_number", failure.message)
        self.assertEqual(partner.auto_lifecycle_stage, "potential", "the segments were still written")

    def _grade_fresh_customers(self, count):
        """Grade ``count`` fresh customers twice (the second run has nothing to change); the queries of both."""
        partner_ids = self.bulk_customers(count, self.program)
        Partner = self.env["res.partner"]
        queries = []
        for round_, written in (("first run", count), ("nothing changed", 0)):
            with self.subTest(customers=count, run=round_):
                self.env.cr.execute(
                    "UPDATE res_partner SET write_date = '2000-01-01' WHERE id = ANY(%s)", [partner_ids]
                )
                queries.append(self.count_queries(SEGMENT_QUERY_BUDGET, Partner._cron_auto_crm_segments))
                self.assertEqual(self.program.segments_run_id.state, "done")
                self.env.cr.execute(
                    "SELECT COUNT(*) FROM res_partner WHERE id = ANY(%s) AND write_date > '2000-01-01'", [partner_ids]
                )
                self.assertEqual(self.env.cr.fetchone()[0], written, "only what changed is written")
        self.env.cr.execute(
            """
            SELECT auto_value_grade, auto_lifecycle_stage, auto_segment_company_id, COUNT(*),
                   COUNT(*) FILTER (WHERE auto_completeness_score > 0)
              FROM res_partner WHERE id = ANY(%s) GROUP BY 1, 2, 3 ORDER BY 1, 2
            """,
            [partner_ids],
        )
        visited = len([pid for pid in partner_ids if pid % 3 == 0])
        expected = [
            # one visit of 2,500 two months ago: below both B thresholds (3,000, 2 visits)
            ("C", "new", self.company.id, visited, visited),
            ("C", "potential", self.company.id, count - visited, count - visited),
        ]
        self.assertEqual(self.env.cr.fetchall(), [row for row in expected if row[3]])
        return queries

    @warmup
    def test_query_budget_10_and_6000_customers(self):
        """The same queries for 10 fresh customers as for 6,000 (bulk-inserted in SQL)."""
        self.env["res.partner"]._cron_auto_crm_segments()  # the store's settings and standard read once
        small = self._grade_fresh_customers(10)
        big = self._grade_fresh_customers(6000)
        if self.warm:
            self.assertEqual(small, big, "queries at 10 and at 6,000 customers")
            self.assertEqual(small[0], small[1], "queries when every customer changes and when none does")
