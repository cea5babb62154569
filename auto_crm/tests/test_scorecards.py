"""Issue 15: surveys indexed by kind, staff scorecards, callback audits. Every figure is counted by hand
in the comments; time is frozen."""

import datetime

from freezegun import freeze_time

from odoo import Command
from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.tests import new_test_user, tagged

from .test_csi_report import CsiReportCase


def utc(day, hour=2):
    """A UTC datetime: 02:00 UTC is 10:00 in the store (Asia/Shanghai)."""
    return datetime.datetime.combine(datetime.date.fromisoformat(day), datetime.time(hour))


@tagged("post_install", "-at_install")
class TestSurveyKinds(CsiReportCase):
    """Two after-service calls (87.5 and 75) and one after-sale call scored 0 in March 2025: the CSI is
    81.25 ((87.5 + 75) / 2), not 54.17 ((87.5 + 75 + 0) / 3); the after-sale call is reported apart."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.after_sale = cls.questionnaire.copy({"name": "Test after-sale", "kind": "after_sale"})
        with freeze_time("2025-03-20 03:00:00"):
            cls.cb1 = cls.answer(cls.make_callback("2025-03-05"), greeting=5, cleanliness=3, overall=4)
            cls.cb2 = cls.answer(cls.make_callback("2025-03-06"), greeting=4, cleanliness=4, overall=4)
            cls.cb3 = cls.answer(
                cls.make_callback("2025-03-07", questionnaire_id=cls.after_sale.id),
                greeting=1,
                cleanliness=1,
                overall=4,
            )

    def test_kinds(self):
        kinds = dict(self.env["auto_crm.questionnaire"]._fields["kind"].selection)
        self.assertEqual(
            list(kinds), ["after_service", "after_sale", "win_back", "complaint_confirmation", "care", "other"]
        )
        confirmation = self.env.ref("auto_crm.questionnaire_complaint_confirmation")
        self.assertEqual(confirmation.kind, "complaint_confirmation")

    def test_survey_kind_follows_the_questionnaire(self):
        self.assertEqual(self.cb1.survey_kind, "after_service")
        self.assertEqual(self.cb3.survey_kind, "after_sale")
        self.assertAlmostEqual(self.cb3.csi, 0.0)  # the call's own index is kept
        with self.assertRaises(UserError):
            self.cb1.with_user(self.manager).write({"survey_kind": "after_sale"})

    def test_after_sale_call_does_not_move_the_csi(self):
        Report = self.env["auto_crm.csi.report"].with_user(self.manager)
        domain = [("date_due", ">=", "2025-03-01"), ("date_due", "<", "2025-04-01")]
        [(csi, csi_count, callbacks)] = Report._read_group(
            domain, [], ["csi:avg", "csi_count:sum", "callback_count:sum"]
        )
        self.assertAlmostEqual(csi, 81.25)
        self.assertEqual((csi_count, callbacks), (2, 3))
        grouped = Report._read_group(domain, ["survey_kind"], ["survey_index:avg"])
        by_kind = dict(grouped)
        self.assertAlmostEqual(by_kind["after_service"], 81.25)
        self.assertAlmostEqual(by_kind["after_sale"], 0.0)

    def test_monthly_report_reports_the_kinds_apart(self):
        wizard = (
            self.env["auto_crm.callback.report.wizard"]
            .with_user(self.manager)
            .create({"month": "2025-03-15", "company_ids": [Command.set(self.company.ids)]})
        )
        figures = wizard._get_figures()
        [line] = figures["lines"]
        self.assertEqual((line["due"], line["successful"]), (3, 3))
        self.assertAlmostEqual(line["csi"], 81.25)
        self.assertAlmostEqual(line["overall"], 4.0)  # satisfaction with the last repair: after-service only
        kinds = {k["kind"]: k for k in figures["kinds"]}
        self.assertEqual(kinds["after_service"]["successful"], 2)
        self.assertAlmostEqual(kinds["after_service"]["index"], 81.25)
        self.assertEqual(kinds["after_sale"]["successful"], 1)
        self.assertAlmostEqual(kinds["after_sale"]["index"], 0.0)
        self.assertEqual(kinds["win_back"]["successful"], 0)
        self.assertIsNone(kinds["win_back"]["index"])
        self.assertIn("o_auto_crm_report_kinds", wizard._render_html(figures))


@tagged("post_install", "-at_install")
class TestStaffScorecard(CsiReportCase):
    """March 2025, one store (Asia/Shanghai), first-time-fix window 30 days.

    Visits (all delivered; r* are the returns):
      a1 car 1 repair    advisor A,  tech T, promised 03-03 10:00, delivered 09:00 (on time)
      a2 car 2 maint.    advisor A,  tech T, promised 03-05 10:00, delivered 12:00 (late)
      a3 car 3 repair    advisor A,  no tech, promised 03-10 10:00, delivered 10:00 (on time)
      a4 car 4 warranty  advisor A2, tech T, promised 03-12 10:00, delivered 09:00 (on time)
      r1 car 1 repair    advisor A2, received 03-20 (17 days after a1: a1 is a return within 30 days), no promise
      r2 car 2 maint.    advisor A2, received 04-10 (36 days after a2: outside), delivered in April
      r3 car 3 maint.    advisor A2, received 03-15 (a maintenance after a repair: not the same work),
                         promised 03-15 08:00, delivered 09:00 (late)
    Callbacks (after-service unless said, overall 4 so no complaint opens):
      cb1 a1 agent 1 due 03-06: 87.5   cb2 a2 agent 1 due 03-07: 75   cb3 a4 agent 2 due 03-14: 50
      cb4 a3 agent 2 due 03-12 after-sale: 0 (out of the CSI)   cb5 agent 1 due 03-08 failed
    Complaints: on a1 (A, T), on a4 (A2, T).
    """

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.technician = new_test_user(
            cls.env, "crm_technician", groups="auto_crm.group_advisor", name="Technician",
            company_id=cls.company.id, company_ids=[Command.set(cls.company.ids)],
        )  # fmt: skip
        cls.after_sale = cls.questionnaire.copy({"name": "Test after-sale", "kind": "after_sale"})
        partners, vehicles = cls.make_customers(4)
        cls.partners = partners

        def visit(car, visit_type, advisor, technician, received, delivered, promised=None):
            record = cls.env["auto_crm.service.visit"].create(
                {
                    "partner_id": partners[car].id,
                    "vehicle_id": vehicles[car].id,
                    "visit_type": visit_type,
                    "mileage_in": 10000,
                    "advisor_id": advisor.id,
                    "technician_id": technician.id if technician else False,
                }
            )
            dates = {"state": "followup", "date_reception": received, "date_delivered": delivered}
            cls.set_visit_dates(record, date_promised=promised, **dates)
            return record

        A, A2, T = cls.advisor, cls.advisor2, cls.technician
        cls.a1 = visit(0, "repair", A, T, utc("2025-03-03", 0), utc("2025-03-03", 1), utc("2025-03-03"))
        cls.a2 = visit(1, "maintenance", A, T, utc("2025-03-05", 0), utc("2025-03-05", 4), utc("2025-03-05"))
        cls.a3 = visit(2, "repair", A, None, utc("2025-03-10", 0), utc("2025-03-10"), utc("2025-03-10"))
        cls.a4 = visit(3, "warranty", A2, T, utc("2025-03-12", 0), utc("2025-03-12", 1), utc("2025-03-12"))
        cls.r1 = visit(0, "repair", A2, None, utc("2025-03-20"), utc("2025-03-21"))
        cls.r2 = visit(1, "maintenance", A2, None, utc("2025-04-10"), utc("2025-04-10", 5))
        cls.r3 = visit(2, "maintenance", A2, None, utc("2025-03-15"), utc("2025-03-15", 1), utc("2025-03-15", 0))

        with freeze_time("2025-03-25 03:00:00"):

            def call(visit, due, agent, **vals):
                return cls.make_callback(due, user=agent, partner_id=visit.partner_id.id, visit_id=visit.id, **vals)

            cls.answer(call(cls.a1, "2025-03-06", cls.agent), greeting=5, cleanliness=3, overall=4)
            cls.answer(call(cls.a2, "2025-03-07", cls.agent), greeting=4, cleanliness=4, overall=4)
            cls.answer(call(cls.a4, "2025-03-14", cls.agent2), greeting=3, cleanliness=3, overall=4)
            cb4 = call(cls.a3, "2025-03-12", cls.agent2, questionnaire_id=cls.after_sale.id)
            cls.answer(cb4, greeting=1, cleanliness=1, overall=4)
            other = cls.env["res.partner"].create(
                {"name": "没接电话", "auto_customer": True, "mobile": "+86 139 0000 0001"}
            )
            cb5 = cls.make_callback("2025-03-08", partner_id=other.id)
            cb5.write({"state": "failed", "close_reason": "max_attempts"})
            Complaint = cls.env["auto_crm.complaint"]
            Complaint.create({"subject": "Noise again", "partner_id": cls.a1.partner_id.id, "visit_id": cls.a1.id})
            Complaint.create({"subject": "Warranty refused", "partner_id": cls.a4.partner_id.id, "visit_id": cls.a4.id})
        cls.env.flush_all()

    def cards(self, user=None, month="2025-03-01"):
        self.env.flush_all()
        self.env["auto_crm.staff.scorecard"].invalidate_model()  # an SQL view: its rows change under the cache
        Card = self.env["auto_crm.staff.scorecard"].with_user(user or self.manager)
        return {(card.role, card.user_id): card for card in Card.search([("month", "=", month)])}

    def test_advisors_technician_and_agents_hand_count(self):
        cards = self.cards()
        A, A2, T = cards["advisor", self.advisor], cards["advisor", self.advisor2], cards["technician", self.technician]
        agent1, agent2 = cards["agent", self.agent], cards["agent", self.agent2]
        # CSI: A (87.5 + 75) / 2, A2 50, T (87.5 + 75 + 50) / 3; agent 1 as A, agent 2 50 (the after-sale 0 left out)
        self.assertAlmostEqual(A.csi, 81.25)
        self.assertAlmostEqual(A2.csi, 50.0)
        self.assertAlmostEqual(T.csi, 212.5 / 3)
        self.assertAlmostEqual(agent1.csi, 81.25)
        self.assertAlmostEqual(agent2.csi, 50.0)
        # complaints attributed
        self.assertEqual((A.complaint_count, A2.complaint_count, T.complaint_count), (1, 1, 2))
        # on time: A a1, a3 of 3 promised; A2 a4 of a4, r3 (r1 had no promise); T a1, a4 of 3
        self.assertEqual((A.delivery_count, A.promised_count, A.on_time_count), (3, 3, 2))
        self.assertEqual((A2.delivery_count, A2.promised_count, A2.on_time_count), (3, 2, 1))
        self.assertAlmostEqual(A.on_time_rate, 200 / 3)
        self.assertAlmostEqual(A2.on_time_rate, 50.0)
        self.assertAlmostEqual(T.on_time_rate, 200 / 3)
        # first-time fix: a1 came back (r1, 17 days) -> A 2/3, T 2/3; A2's r1, r3, a4 all fixed
        self.assertEqual(A.first_time_fix_count, 2)
        self.assertAlmostEqual(A.first_time_fix_rate, 200 / 3)
        self.assertAlmostEqual(A2.first_time_fix_rate, 100.0)
        self.assertAlmostEqual(T.first_time_fix_rate, 200 / 3)
        # callbacks executed: agent 1 cb1, cb2, cb5 (failed); agent 2 cb3, cb4
        self.assertEqual((agent1.callback_count, agent2.callback_count), (3, 2))
        self.assertEqual((A.callback_count, T.callback_count), (0, 0))
        # ranks within store, month and role
        self.assertEqual((A.rank_csi, A2.rank_csi), (1, 2))
        self.assertEqual((A.rank_on_time, A2.rank_on_time), (1, 2))
        self.assertEqual((A2.rank_first_time_fix, A.rank_first_time_fix), (1, 2))
        self.assertEqual((A.rank_complaints, A2.rank_complaints), (1, 1))
        self.assertEqual((agent1.rank_callbacks, agent2.rank_callbacks), (1, 2))
        self.assertFalse(agent1.rank_complaints)

    def test_return_outside_the_window(self):
        # r2 came 36 days after a2: outside 30 days. With a 15-day window, a1's return (17 days) is outside too.
        self.company.scorecard_first_fix_days = 15
        self.env.flush_all()
        cards = self.cards()
        self.assertAlmostEqual(cards["advisor", self.advisor].first_time_fix_rate, 100.0)
        self.company.scorecard_first_fix_days = 40  # now a2's return (36 days) is within
        self.env.flush_all()
        self.assertAlmostEqual(self.cards()["advisor", self.advisor].first_time_fix_rate, 100 / 3)
        with self.assertRaises(ValidationError):
            self.company.scorecard_first_fix_days = 0
            self.env.flush_all()

    def test_april_holds_the_late_return(self):
        cards = self.cards(month="2025-04-01")
        self.assertEqual(cards["advisor", self.advisor2].delivery_count, 1)
        self.assertNotIn(("advisor", self.advisor), cards)

    def test_groups_weigh_by_their_sums(self):
        Card = self.env["auto_crm.staff.scorecard"].with_user(self.manager)
        domain = [("month", "=", "2025-03-01"), ("role", "=", "advisor")]
        [(csi, on_time, fix)] = Card._read_group(domain, [], ["csi:avg", "on_time_rate:avg", "first_time_fix_rate:avg"])
        self.assertAlmostEqual(csi, 212.5 / 3)  # three callbacks, not the mean of 81.25 and 50
        self.assertAlmostEqual(on_time, 60.0)  # 3 on time of 5 promised
        self.assertAlmostEqual(fix, 500 / 6)  # 5 fixed of 6 delivered

    def test_managers_only(self):
        for user in (self.agent, self.advisor):
            with self.subTest(user=user.login), self.assertRaises(AccessError):
                self.env["auto_crm.staff.scorecard"].with_user(user).search([])
        self.assertTrue(self.cards(self.dealer_admin))
        other_manager = new_test_user(
            self.env, "crm_other_manager", groups="auto_crm.group_manager", name="Other Manager",
            company_id=self.other_company.id, company_ids=[Command.set(self.other_company.ids)],
        )  # fmt: skip
        self.assertFalse(self.cards(other_manager))


@tagged("post_install", "-at_install")
class TestCallbackAudit(CsiReportCase):
    """Agent 1 closed 10 calls on 2025-03-10 (each scored 4, 4, 4); agent 2 closed 2. A manager audits 5 of
    agent 1's, agent 2 calling: 4 agree (scores within one point), one does not (greeting 2: two points
    off) -> agent 1's agreement rate is 80 %."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        with freeze_time("2025-03-10 03:00:00"):
            cls.agent1_calls = cls.env["auto_crm.callback"]
            for _index in range(10):
                cls.agent1_calls |= cls.answer(
                    cls.make_callback("2025-03-10", user=cls.agent), greeting=4, cleanliness=4, overall=4
                )
            cls.agent2_calls = cls.env["auto_crm.callback"]
            for _index in range(2):
                cls.agent2_calls |= cls.answer(
                    cls.make_callback("2025-03-10", user=cls.agent2), greeting=4, cleanliness=4, overall=4
                )

    def wizard(self, user=None, **vals):
        return (
            self.env["auto_crm.callback.audit.wizard"]
            .with_user(user or self.manager)
            .create(
                dict(
                    {
                        "date_from": "2025-03-01",
                        "date_to": "2025-03-31",
                        "agent_ids": [Command.set(self.agent.ids)],
                        "sample_size": 5,
                        "auditor_id": self.agent2.id,
                        "seed": 42,
                    },
                    **vals,
                )
            )
        )

    def order(self, **vals):
        action = self.wizard(**vals).action_order()
        return self.env["auto_crm.callback.audit"].search(action["domain"])

    def test_sample_is_reproducible_and_never_the_auditors(self):
        wizard = self.wizard(agent_ids=[Command.clear()])
        population = wizard._population()
        self.assertEqual(population, sorted(self.agent1_calls.ids))  # agent 2's own calls are left out
        self.assertEqual(wizard._sample(population, 42), wizard._sample(population, 42))
        self.assertEqual(len(wizard._sample(population, 42)), 5)
        percent = self.wizard(sample_mode="percent", sample_percent=25.0)
        self.assertEqual(len(percent._sample(percent._population(), 7)), 3)  # 25 % of 10, rounded up

    def test_agreement_rate_80_percent(self):
        with freeze_time("2025-04-02 03:00:00"):
            audits = self.order()
            self.assertEqual(len(audits), 5)
            self.assertEqual(sorted(audits.callback_id.ids), self.wizard()._sample(sorted(self.agent1_calls.ids), 42))
            self.assertEqual(set(audits.mapped("sample_seed")), {42})
            self.assertEqual(audits.original_user_id, self.agent)
            for index, audit in enumerate(audits.with_user(self.agent2)):
                audit.write({"outcome": "reached", "customer_confirms_call": True})
                scores = {"greeting": "2" if index == 0 else "5", "cleanliness": "3", "overall": "4"}
                for line in audit.line_ids:
                    line.score = scores[line.question_id.step]
                audit.action_done()
        self.assertEqual(audits.mapped("state"), ["done"] * 5)
        self.assertEqual(audits.filtered("agrees").ids, audits.ids[1:])
        self.assertEqual(audits[0].max_difference, 2)
        [(agent, rate)] = (
            self.env["auto_crm.callback.audit"]
            .with_user(self.manager)
            ._read_group([("counted", "=", True)], ["original_user_id"], ["agreement_rate:avg"])
        )
        self.assertEqual(agent, self.agent)
        self.assertAlmostEqual(rate, 80.0)
        # a second order leaves the audited calls out: 5 left
        self.assertEqual(len(self.wizard(sample_size=10)._population()), 5)

    def test_unreached_and_unconfirmed(self):
        audits = self.order(sample_size=2)
        audits[0].with_user(self.agent2).write({"outcome": "unreached"})
        audits[0].with_user(self.agent2).action_done()
        audits[1].with_user(self.agent2).write({"outcome": "reached", "customer_confirms_call": False})
        audits[1].with_user(self.agent2).action_done()
        self.assertFalse(audits[0].counted)
        self.assertEqual((audits[1].counted, audits[1].agrees, audits[1].agreement_rate), (True, False, 0.0))
        [(rate,)] = self.env["auto_crm.callback.audit"]._read_group(
            [("id", "in", audits.ids)], [], ["agreement_rate:avg"]
        )
        self.assertEqual(rate, 0.0)  # one counted audit, disagreeing; the unreached one left out

    def test_rights(self):
        audit = self.order(sample_size=1)
        # only managers order
        with self.assertRaises(AccessError):
            self.wizard(user=self.agent)
        # never the original agent
        with self.assertRaises(ValidationError):
            audit.with_user(self.manager).write({"user_id": self.agent.id})
        # the auditor cannot re-assign, nor write the add-on's figures, nor read the original scores
        mine = audit.with_user(self.agent2)
        with self.assertRaises(AccessError):
            mine.write({"user_id": self.manager.id})
        for vals in ({"agrees": True}, {"state": "done"}, {"sample_seed": 1}, {"agreement_rate": 100.0}):
            with self.subTest(vals=vals), self.assertRaises(UserError):
                mine.write(vals)
        with self.assertRaises(AccessError):
            mine.line_ids.mapped("original_score_value")
        with self.assertRaises(UserError):
            mine.line_ids[0].write({"original_score_value": 1})
        # the original agent does not see the audit of their call
        self.assertFalse(self.env["auto_crm.callback.audit"].with_user(self.agent).search([]))
        # nobody creates an audit by hand (the original call is the sample's)
        with self.assertRaises(AccessError):
            self.env["auto_crm.callback.audit"].with_user(self.agent2).create(
                {"callback_id": self.agent1_calls[-1].id, "user_id": self.agent2.id, "company_id": self.company.id}
            )
        for user in (self.manager, self.dealer_admin):
            with self.subTest(user=user.login), self.assertRaises(UserError):
                self.env["auto_crm.callback.audit"].with_user(user).create(
                    {"callback_id": self.agent1_calls[-1].id, "user_id": self.agent2.id, "company_id": self.company.id}
                )
        # a done audit is kept
        mine.write({"outcome": "unreached"})
        mine.action_done()
        with self.assertRaises(UserError):
            mine.write({"note": "changed my mind"})
        with self.assertRaises(UserError):
            audit.with_user(self.dealer_admin).unlink()
