"""Customers at risk (issue 13): the nightly next-visit forecast and risk score per customer and store
(auto_crm.customer.forecast, lib/risk.py), its owners, its query budget, its concurrency, the At Risk
This Month list and the engine's at_risk trigger."""

import datetime
import threading

from dateutil.relativedelta import relativedelta
from freezegun import freeze_time
from lxml import etree

from odoo import SUPERUSER_ID, api
from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.tests import TransactionCase, tagged
from odoo.tools import SQL, mute_logger
from odoo.tools.safe_eval import safe_eval

from odoo.addons.auto_crm.lib.vin import with_check_digit

from .callback_common import CallbackCase

TODAY = "2026-12-01"
#: Queries of one nightly run (the same whatever the number of customers in a batch of 2,000): the run
#: log's flush, lock, create and close, the stores and their time zones, the stores' rhythms, the
#: customers, and per batch a savepoint, the fetch, the upsert and the release.
RISK_QUERY_BUDGET = 12
REFUSED = (AccessError, UserError, ValidationError)


@tagged("post_install", "-at_install")
class TestAtRisk(CallbackCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.Forecast = cls.env["auto_crm.customer.forecast"]
        cls.company.auto_crm_risk_threshold = 50

    def visits(self, partner, vehicle, *days, paid=1000.0, state="followup"):
        """Delivered visits of ``partner`` on these days (10:00 in Shanghai), written in SQL."""
        visits = self.env["auto_crm.service.visit"].create(
            [{"partner_id": partner.id, "vehicle_id": vehicle.id, "mileage_in": 10000} for _day in days]
        )
        for visit, day in zip(visits, days, strict=True):
            when = self.at(day, hour=2)
            self.set_visit_dates(
                visit,
                state=state,
                date_appointment=when,
                date_reception=when,
                date_delivered=when if state == "followup" else None,
                amount_paid=paid if state == "followup" else 0,
            )
        return visits

    def new_customer(self, name="流失风险客户", **vals):
        partners, vehicles = self.make_customers(1, name=name, **vals)
        return partners, vehicles

    def assertRefused(self, method, *args):
        try:
            with self.env.cr.savepoint():
                method(*args)
        except REFUSED:
            return
        self.fail(f"{method} accepted")

    def score(self, *partners):
        with freeze_time(f"{TODAY} 04:00:00"):
            self.env.flush_all()
            written = self.Forecast._risk_batch([p.id for p in partners])
        return written

    def forecast(self, partner):
        return self.Forecast.search([("partner_id", "=", partner.id)])

    # ------------------------------------------------------------------ the figures
    def test_a_customer_overdue_against_their_own_rhythm(self):
        partner, car = self.new_customer()
        # visits 120 days apart; the last on 2026-05-10: expected 2026-09-07, 85 days overdue on 2026-12-01
        self.visits(partner, car, "2026-01-10", "2026-05-10", paid=3000.0)
        self.env["auto_crm.complaint"].create({"subject": "Noise after repair", "partner_id": partner.id})
        self.assertEqual(self.score(partner), 1)
        forecast = self.forecast(partner)
        self.assertEqual(len(forecast), 1)
        self.assertEqual(forecast.company_id, self.company)
        self.assertEqual(str(forecast.last_visit_date), "2026-05-10")
        self.assertEqual((forecast.interval_days, forecast.interval_source), (120, "own"))
        self.assertEqual(str(forecast.expected_visit_date), "2026-09-07")
        self.assertEqual(forecast.days_overdue, 85)
        # round(50 x 85 / 120) = 35; an open complaint 20; not graded yet, counted as C: 10
        self.assertEqual(forecast.risk_score, 65)
        self.assertEqual(
            forecast.risk_explanation,
            "overdue 85 days against a 120-day rhythm: +35; open complaint: +20; value grade C: +10",
        )
        # 6,000 paid since 2026-01-10 (325 days: counted as one year)
        self.assertEqual(forecast.value_at_stake, 6000.0)
        self.assertTrue(forecast.is_at_risk)
        self.assertEqual(str(forecast.date_scored), TODAY)

    def test_the_car_service_comes_first_and_a_booking_clears_the_risk(self):
        partner, car = self.new_customer()
        self.visits(partner, car, "2025-12-01", "2026-10-01")  # a 304-day rhythm, next visit due 2027-08
        self.env.flush_all()
        self.env.cr.execute("UPDATE auto_crm_vehicle SET next_service_date = '2026-11-01' WHERE id = %s", [car.id])
        self.score(partner)
        forecast = self.forecast(partner)
        self.assertEqual(str(forecast.next_service_date), "2026-11-01")
        self.assertEqual(str(forecast.expected_visit_date), "2026-11-01")
        self.assertEqual(forecast.days_overdue, 30)
        self.assertIn("overdue 30 days against a 304-day rhythm: +5", forecast.risk_explanation)
        # an appointment booked: expected then, no risk
        self.visits(partner, car, "2026-12-05", state="appointment")
        self.score(partner)
        self.assertEqual(str(forecast.expected_visit_date), "2026-12-05")
        self.assertEqual((forecast.days_overdue, forecast.risk_score), (0, 0))
        self.assertEqual(forecast.risk_explanation, "visit booked for 2026-12-05: no risk")

    def test_one_visit_uses_the_store_rhythm(self):
        regular, regular_car = self.new_customer("规律客户")
        self.visits(regular, regular_car, "2026-02-01", "2026-06-01", "2026-10-01")  # gaps 120, 122
        once, once_car = self.new_customer("一次客户")
        self.visits(once, once_car, "2026-03-01")
        rhythms = self.Forecast._risk_store_rhythms()
        # the median of the store's gaps (these customers' and the demo data's)
        self.assertIn(self.company.id, rhythms)
        rhythm = rhythms[self.company.id]
        self.score(regular, once)
        forecast = self.forecast(once)
        self.assertEqual((forecast.interval_days, forecast.interval_source), (rhythm, "store"))
        self.assertIn(f"against the store's {rhythm}-day rhythm (one visit so far)", forecast.risk_explanation)
        self.assertIn("only one visit so far: +10", forecast.risk_explanation)
        self.assertEqual(self.forecast(regular).interval_source, "own")

    def test_a_customer_of_two_stores_has_two_rows(self):
        partner, car = self.new_customer()
        self.visits(partner, car, "2026-01-10", "2026-05-10")
        car.company_id = False  # a car shared by the group, serviced at both stores
        other = self.env["auto_crm.service.visit"].create(
            {"partner_id": partner.id, "vehicle_id": car.id, "mileage_in": 9000, "company_id": self.other_company.id}
        )
        self.set_visit_dates(other, state="followup", date_delivered=self.at("2026-11-20"), amount_paid=500)
        self.score(partner)
        rows = self.forecast(partner)
        self.assertEqual(rows.company_id, self.company | self.other_company)
        # the other store's advisor sees only their store's row
        self.assertEqual(
            self.Forecast.with_user(self.other_advisor).search([("partner_id", "=", partner.id)]).company_id,
            self.other_company,
        )

    def test_twice_writes_nothing_more(self):
        partner, car = self.new_customer()
        self.visits(partner, car, "2026-01-10", "2026-05-10")
        self.assertEqual(self.score(partner), 1)
        self.assertEqual(self.score(partner), 0, "nothing changed: nothing written")
        with freeze_time("2026-12-02 04:00:00"):
            self.assertEqual(self.Forecast._risk_batch([partner.id]), 1, "a day later: one day more overdue")
        self.assertEqual(self.forecast(partner).days_overdue, 86)

    def test_the_store_day_at_half_past_eleven_utc(self):
        # 23:30 UTC on 30 November is 07:30 on 1 December in Shanghai: the store's day is the 1st.
        partner, car = self.new_customer()
        self.visits(partner, car, "2026-01-10", "2026-05-10")
        with freeze_time("2026-11-30 23:30:00"):
            self.Forecast._risk_batch([partner.id])
        forecast = self.forecast(partner)
        self.assertEqual((str(forecast.date_scored), forecast.days_overdue), (TODAY, 85))
        with self.assertRaises(UserError):
            self.Forecast.search([("is_at_risk", "in", [True])])

    def test_the_cron_runs_through_the_job_runner(self):
        partner, car = self.new_customer()
        self.visits(partner, car, "2026-01-10", "2026-05-10")
        with freeze_time(f"{TODAY} 04:00:00"):
            self.env.ref("auto_crm.auto_crm_customer_risk_cron").method_direct_trigger()
        run = self.env["auto_crm.job.run"].search([("job", "=", "customer_risk")], limit=1)
        self.assertEqual(run.state, "done")
        self.assertGreaterEqual(run.processed_count, 1)
        self.assertEqual(self.forecast(partner).days_overdue, 85)

    # ------------------------------------------------------------------ the list
    def test_at_risk_this_month_follows_the_store_threshold(self):
        risky, risky_car = self.new_customer("高风险")
        self.visits(risky, risky_car, "2026-01-10", "2026-05-10")  # 35 + grade C 10 = 45
        calm, calm_car = self.new_customer("低风险")
        self.visits(calm, calm_car, "2026-06-01", "2026-11-01")
        self.score(risky, calm)
        self.assertEqual(self.forecast(risky).risk_score, 45)
        mine = [("partner_id", "in", (risky | calm).ids)]
        self.company.auto_crm_risk_threshold = 40
        self.assertEqual(self.Forecast.search([*mine, ("is_at_risk", "=", True)]).partner_id, risky)
        self.assertEqual(self.Forecast.search([*mine, ("is_at_risk", "=", False)]).partner_id, calm)
        self.company.auto_crm_risk_threshold = 50
        self.assertFalse(self.Forecast.search([*mine, ("is_at_risk", "=", True)]))
        # the action's default filter, evaluated as the web client does on 2026-12-01, for an agent of the store
        action = self.env["ir.actions.act_window"]._for_xml_id("auto_crm.auto_crm_customer_forecast_action")
        self.assertEqual(action["context"], "{'search_default_at_risk_month': 1}")
        arch = etree.fromstring(self.env.ref("auto_crm.auto_crm_customer_forecast_view_search").arch)
        [month_filter] = arch.xpath("//filter[@name='at_risk_month']")
        domain = safe_eval(
            month_filter.get("domain"),
            {"context_today": lambda: datetime.date(2026, 12, 1), "relativedelta": relativedelta},
        )
        self.assertIn(("expected_visit_date", "<", "2027-01-01"), domain)
        later, later_car = self.new_customer("明年才到期")
        self.visits(later, later_car, "2026-06-01", "2026-11-20")  # expected 2027-05-11
        self.env["auto_crm.complaint"].create({"subject": "Scratch", "partner_id": later.id})  # 20 + grade C 10
        self.score(later)
        self.company.auto_crm_risk_threshold = 30
        mine = [("partner_id", "in", (risky | calm | later).ids)]
        self.assertEqual(self.Forecast.search([*mine, ("is_at_risk", "=", True)]).partner_id, risky | later)
        listed = self.Forecast.with_user(self.agent).search([*mine, *domain])
        self.assertEqual(listed.partner_id, risky, "at risk, but expected next year: not this month's")

    def test_the_threshold_setting_is_checked(self):
        with self.assertRaisesRegex(ValidationError, "At Risk from"):
            self.company.auto_crm_risk_threshold = 101
        with self.assertRaisesRegex(ValidationError, "Risk Score From"):
            self.make_rule(trigger="at_risk", risk_threshold=-1)

    # ------------------------------------------------------------------ owners and rights
    @mute_logger("odoo.models", "odoo.sql_db")
    def test_nobody_writes_the_figures(self):
        partner, car = self.new_customer()
        self.visits(partner, car, "2026-01-10", "2026-05-10")
        self.score(partner)
        forecast = self.forecast(partner)
        users = (self.agent, self.advisor, self.manager, self.dealer_admin)
        for user in users:
            for fname, value in (("risk_score", 0), ("days_overdue", 0), ("risk_explanation", "ok"),
                                 ("value_at_stake", 1.0), ("expected_visit_date", "2030-01-01")):  # fmt: skip
                with self.subTest(user=user.login, field=fname):
                    self.assertRefused(forecast.with_user(user).write, {fname: value})
            with self.subTest(user=user.login):
                self.assertRefused(
                    self.Forecast.with_user(user).create, {"partner_id": partner.id, "company_id": self.company.id}
                )
                self.assertRefused(forecast.with_user(user).unlink)
        self.assertEqual(forecast.risk_score, 45)
        # Recompute Now: managers only
        for user in (self.agent, self.advisor):
            with self.assertRaises(AccessError):
                forecast.with_user(user).action_refresh()
        self.assertIsNone(forecast.with_user(self.manager).action_refresh())
        # another store's manager cannot recompute this store's rows
        other_manager = self.env["res.users"].create(
            {
                "name": "Other Manager",
                "login": "other_risk_manager",
                "groups_id": [(6, 0, [self.env.ref("auto_crm.group_manager").id])],
                "company_id": self.other_company.id,
                "company_ids": [(6, 0, [self.other_company.id])],
            }
        )
        with self.assertRaises(AccessError):
            forecast.with_user(other_manager).action_refresh()
        # the rule's threshold is the dealer administrator's, like the rest of the rule
        rule = self.make_rule(trigger="at_risk", risk_threshold=60, questionnaire_id=False)
        with self.assertRaises(AccessError):
            rule.with_user(self.manager).write({"risk_threshold": 10})
        rule.with_user(self.dealer_admin).write({"risk_threshold": 70})
        self.assertEqual(rule.risk_threshold, 70)

    # ------------------------------------------------------------------ query budget
    def test_query_count_is_the_same_at_two_sizes(self):
        counts = []
        with freeze_time(f"{TODAY} 04:00:00"):
            self.Forecast._cron_customer_risk()  # the demo customers scored, the caches warm
        for size in (10, 400):
            self.bulk_delivered_visits(size, self.at("2026-03-01"))
            self.env.flush_all()
            self.env.invalidate_all()
            with freeze_time(f"{TODAY} 04:00:00"):
                start = self.env.cr.sql_log_count
                with self.assertQueryCount(RISK_QUERY_BUDGET):
                    self.assertTrue(self.Forecast._cron_customer_risk())
                counts.append(self.env.cr.sql_log_count - start)
        self.assertEqual(counts[0], counts[1], f"queries at 10 and at 400 customers: {counts}")
        self.assertGreaterEqual(self.Forecast.search_count([]), 410)

    # ------------------------------------------------------------------ the win-back rule
    def test_the_engine_calls_each_customer_at_risk_once_per_absence(self):
        risky, risky_car = self.new_customer("要挽回的客户")
        self.visits(risky, risky_car, "2026-01-10", "2026-05-10")  # 45
        calm, calm_car = self.new_customer("不用打的客户")
        self.visits(calm, calm_car, "2026-06-01", "2026-11-01")
        self.score(risky, calm)
        mine = repr([("partner_id", "in", (risky | calm).ids)])  # (not the demo customers)
        rule = self.make_rule(trigger="at_risk", risk_threshold=40, window_days=7, domain=mine)
        with freeze_time(f"{TODAY} 04:00:00"):
            rule._run_engine()
        calls = self.callbacks(rule)
        self.assertEqual(calls.partner_id, risky)
        self.assertEqual(calls.source_model, "auto_crm.customer.forecast")
        self.assertEqual(calls.source_period, 20260510)
        self.assertEqual(str(calls.date_due), TODAY)
        # the next nights: no second call for the same absence, even once the first is closed
        self.close_calls(calls)
        with freeze_time("2026-12-03 04:00:00"):
            self.Forecast._risk_batch([risky.id])
            rule._run_engine()
        self.assertEqual(len(self.callbacks(rule)), 1)
        # the customer came back and drifted away again: a new absence, a new call
        self.visits(risky, risky_car, "2027-01-05")  # gaps 120 and 240: a 180-day rhythm
        with freeze_time("2028-03-01 04:00:00"):
            self.Forecast._risk_batch([risky.id])
            rule._run_engine()
        calls = self.callbacks(rule)
        self.assertEqual(sorted(calls.mapped("source_period")), [20260510, 20270105])
        # a threshold above the score calls nobody
        strict = self.make_rule(trigger="at_risk", risk_threshold=99, domain=mine)
        with freeze_time("2028-03-01 04:00:00"):
            strict._run_engine()
        self.assertFalse(self.callbacks(strict))

    def test_the_seeded_rule_is_off_and_previews(self):
        rule = self.env.ref("auto_crm.callback_rule_at_risk")
        self.assertFalse(rule.active)
        self.assertEqual((rule.trigger, rule.risk_threshold), ("at_risk", 60))
        partner, car = self.new_customer("预览客户")
        self.visits(partner, car, "2025-01-10", "2025-05-10")  # a year and a half overdue: 50 + grade C 10
        self.score(partner)
        # (the seeded rule starts from the install day: the test's day may be before it)
        rule.write({"domain": repr([("partner_id", "=", partner.id)]), "date_start": False})
        with freeze_time(f"{TODAY} 04:00:00"):
            self.assertEqual(self.preview(rule)["created"], 1)
        self.assertFalse(self.callbacks(rule), "a preview creates nothing")

    def test_the_engine_respects_do_not_disturb(self):
        partner, car = self.new_customer("免打扰客户", auto_do_not_disturb=True)
        self.visits(partner, car, "2026-01-10", "2026-05-10")
        self.score(partner)
        rule = self.make_rule(trigger="at_risk", risk_threshold=40, domain=repr([("partner_id", "=", partner.id)]))
        with freeze_time(f"{TODAY} 04:00:00"):
            self.assertEqual(self.preview(rule)["dnd"], 1)
            rule._run_engine()
        self.assertFalse(self.callbacks(rule))


@tagged("post_install", "-at_install")
class TestAtRiskConcurrency(TransactionCase):
    """Two nightly runs at the same instant, in two real transactions (threads with their own
    registry cursors released together by a barrier, both kept open until both have run): one scores,
    the other is skipped on the job's lock; one row per customer and store, the right figures.
    Everything committed is deleted at the end."""

    ROUNDS = 3
    CONTEXT = {"tracking_disable": True, "mail_create_nolog": True}

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.created = {"partners": [], "vehicles": [], "visits": []}
        cls.addClassCleanup(cls._delete_created)
        with cls.registry.cursor() as cr:
            cr.execute("SELECT COALESCE(max(id), 0) FROM auto_crm_customer_forecast")
            cls.first_forecast = cr.fetchone()[0]
            cr.execute("SELECT COALESCE(max(id), 0) FROM auto_crm_job_run")
            cls.first_run = cr.fetchone()[0]
            env = api.Environment(cr, SUPERUSER_ID, cls.CONTEXT)
            partner = env["res.partner"].create({"name": "并发风险客户", "auto_customer": True})
            vehicle = env["auto_crm.vehicle"].create(
                {"vin": with_check_digit("LSVAU2180N2881001"), "partner_id": partner.id}
            )
            visits = env["auto_crm.service.visit"].create(
                [{"partner_id": partner.id, "vehicle_id": vehicle.id, "mileage_in": 1000} for _n in range(2)]
            )
            env.flush_all()
            today = env.company._auto_crm_today()
            for visit, days_ago in zip(visits, (400, 300), strict=True):
                cr.execute(
                    "UPDATE auto_crm_service_visit SET state = 'followup', date_delivered = %s WHERE id = %s",
                    (datetime.datetime.combine(today - datetime.timedelta(days=days_ago), datetime.time(4)), visit.id),
                )
            cls.partner_id, cls.company_id = partner.id, env.company.id
        cls.created["partners"].append(partner.id)
        cls.created["vehicles"].append(vehicle.id)
        cls.created["visits"].extend(visits.ids)

    @classmethod
    def _delete_created(cls):
        with cls.registry.cursor() as cr:
            cr.execute(SQL("DELETE FROM auto_crm_customer_forecast WHERE id > %s", cls.first_forecast))
            cr.execute(SQL("DELETE FROM auto_crm_job_run WHERE id > %s AND job = 'customer_risk'", cls.first_run))
            cr.execute(SQL("DELETE FROM auto_crm_service_visit WHERE id = ANY(%s)", cls.created["visits"]))
            env = api.Environment(cr, SUPERUSER_ID, cls.CONTEXT)
            env["auto_crm.vehicle"].browse(cls.created["vehicles"]).unlink()
            env["res.partner"].browse(cls.created["partners"]).unlink()

    def _run(self, start, done, outcome):
        try:
            with self.registry.cursor() as cr:
                cr.transaction = api.Transaction(self.registry)
                env = api.Environment(cr, SUPERUSER_ID, self.CONTEXT)
                start.wait()
                env["auto_crm.customer.forecast"]._cron_customer_risk()
                run = env["auto_crm.job.run"].search([("job", "=", "customer_risk")], limit=1, order="id desc")
                outcome.append(run.state)
                done.wait()  # both have run before either commits: the lock is held meanwhile
                # a real second transaction of the race, on its own cursor: it must commit
                cr.commit()  # pylint: disable=invalid-commit
        except BaseException as error:  # reported by the main thread
            outcome.append(error)
            start.abort()
            done.abort()

    def test_two_runs_at_once_score_once(self):
        for _round in range(self.ROUNDS):
            start, done = threading.Barrier(2, timeout=60), threading.Barrier(2, timeout=120)
            outcomes = ([], [])
            with mute_logger("odoo.addons.auto_crm.models.auto_crm_job_run"):
                threads = [threading.Thread(target=self._run, args=(start, done, outcome)) for outcome in outcomes]
                for thread in threads:
                    thread.start()
                for thread in threads:
                    thread.join(180)
            self.assertFalse(any(thread.is_alive() for thread in threads), "a run hung")
            states = sorted(outcome[0] for outcome in outcomes)
            self.assertEqual(states, ["done", "skipped"], f"outcomes: {outcomes}")
            with self.registry.cursor() as cr:
                cr.execute(
                    "SELECT count(*), min(days_overdue), min(interval_days) FROM auto_crm_customer_forecast "
                    "WHERE partner_id = %s",
                    [self.partner_id],
                )
                # visits 400 and 300 days ago: a 100-day rhythm, 200 days overdue
                self.assertEqual(cr.fetchone(), (1, 200, 100))
