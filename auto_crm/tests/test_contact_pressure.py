"""Contact pressure (issue 12): across all rules a customer has at most one open callback per store and
at most N calls in D days; the preview shows the overlap; a new rule starts from its first day; a
rule run and a callback made by hand at the same instant never give a customer two open calls."""

import datetime
import itertools
import logging
import sys
import threading
import traceback

from freezegun import freeze_time
from psycopg2 import IntegrityError, errors

from odoo import SUPERUSER_ID, api
from odoo.exceptions import ValidationError
from odoo.tests import tagged
from odoo.tests.common import TransactionCase
from odoo.tools import SQL, mute_logger

from ..lib.vin import with_check_digit
from .callback_common import CallbackCase

_logger = logging.getLogger(__name__)


@tagged("post_install", "-at_install")
class TestContactPressure(CallbackCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.company.write({"callback_pressure_calls": 2, "callback_pressure_days": 30})
        cls.service = cls.make_rule(name="After service")
        cls.second = cls.make_rule(name="After service, second rule")

    def deliver_again(self, partner_id, vehicle_id, day, mileage):
        """Another visit of this customer's car, delivered on ``day`` at 10:00 UTC."""
        visit = self.make_visit(partner_id=partner_id, vehicle_id=vehicle_id, mileage_in=mileage)
        self.set_visit_dates(visit, state="followup", date_reception=self.at(day), date_delivered=self.at(day))
        return visit

    def run_rule(self, rule, day="2025-03-04"):
        with freeze_time(f"{day} 02:00:00"):
            return rule._run_engine()

    def test_one_open_call_per_customer_across_rules(self):
        visits = self.make_delivered_visits(3, self.at("2025-03-01"))
        first = self.run_rule(self.service)
        self.assertEqual(first.created_count, 3)
        # A second rule on the same deliveries: every customer is already being called.
        with freeze_time("2025-03-04 02:00:00"):
            preview = self.preview(self.second)
        self.assertEqual((preview["created"], preview["open"], preview["pressure"]), (0, 3, 0))
        line = self.run_rule(self.second)
        self.assertEqual((line.created_count, line.skipped_open_count, line.already_count), (0, 3, 0))
        self.assertIn("3 due customers skipped because they already have an open callback", line.message)
        self.assertFalse(self.callbacks(self.second))
        # Once the first call is closed, the second rule calls (within the pressure limit).
        self.close_calls(self.callbacks(self.service).filtered(lambda c: c.visit_id == visits[0]))
        line = self.run_rule(self.second)
        self.assertEqual((line.created_count, line.skipped_open_count), (1, 2))

    def test_one_call_for_a_customer_due_twice_in_one_run(self):
        visits = self.make_delivered_visits(1, self.at("2025-03-01"))
        again = self.make_visit(partner_id=visits.partner_id.id, vehicle_id=visits.vehicle_id.id, mileage_in=12000)
        self.set_visit_dates(
            again, state="followup", date_reception=self.at("2025-03-01", 12), date_delivered=self.at("2025-03-01", 12)
        )
        line = self.run_rule(self.service)
        self.assertEqual((line.created_count, line.skipped_open_count), (1, 1))
        self.assertEqual(self.callbacks(self.service).visit_id, visits, "the first visit due is called about")

    def test_at_most_n_calls_in_d_days(self):
        visits = self.make_delivered_visits(1, self.at("2025-03-01"))
        partner, vehicle = visits.partner_id, visits.vehicle_id
        self.run_rule(self.service)
        self.callbacks(self.service).write({"state": "failed", "close_reason": "refused"})
        self.deliver_again(partner.id, vehicle.id, "2025-03-05", 12000)
        self.assertEqual(self.run_rule(self.service, "2025-03-08").created_count, 1, "the second call in 30 days")
        self.close_calls(self.callbacks(self.service))
        third = self.deliver_again(partner.id, vehicle.id, "2025-03-10", 14000)
        # A cancelled call was never made: it does not count (the failed one does).
        self.assertEqual(self.run_rule(self.service, "2025-03-13").created_count, 1)
        self.callbacks(self.service).filtered(lambda c: c.visit_id == third).write(
            {"state": "failed", "close_reason": "refused"}
        )
        self.deliver_again(partner.id, vehicle.id, "2025-03-15", 16000)
        with freeze_time("2025-03-18 02:00:00"):
            preview = self.preview(self.service)
        self.assertEqual((preview["created"], preview["pressure"]), (0, 1))
        line = self.run_rule(self.service, "2025-03-18")
        self.assertEqual((line.created_count, line.skipped_pressure_count), (0, 1))
        self.assertIn("1 because they had the store's maximum number of calls", line.message)
        # The store lifts the limit (0 = none): the call is made.
        self.company.callback_pressure_calls = 0
        self.assertEqual(self.run_rule(self.service, "2025-03-18").created_count, 1)

    def test_the_pressure_period_passes(self):
        self.company.write({"callback_pressure_calls": 1, "callback_pressure_days": 10})
        visits = self.make_delivered_visits(1, self.at("2025-03-01"))
        self.run_rule(self.service)
        self.callbacks(self.service).write({"state": "failed", "close_reason": "refused"})
        self.deliver_again(visits.partner_id.id, visits.vehicle_id.id, "2025-03-11", 12000)
        # Due on the 14th: the call due on the 4th is 10 days before, out of the period.
        self.assertEqual(self.run_rule(self.service, "2025-03-14").created_count, 1)

    def test_a_second_open_call_by_hand_is_refused_with_a_sentence(self):
        self.make_delivered_visits(1, self.at("2025-03-01"))
        self.run_rule(self.service)
        planned = self.callbacks(self.service)
        with self.assertRaisesRegex(ValidationError, "^Customer: .* already has an open callback"):
            self.env["auto_crm.callback"].with_user(self.agent).create({"partner_id": planned.partner_id.id})
        # In another store, the customer may be called.
        other = self.env["auto_crm.callback"].create(
            {"partner_id": planned.partner_id.id, "company_id": self.other_company.id}
        )
        self.assertEqual(other.state, "todo")
        # Re-opening a closed call while another is open is refused too.
        planned.write({"state": "failed", "close_reason": "refused"})
        by_hand = self.env["auto_crm.callback"].create({"partner_id": planned.partner_id.id})
        with self.assertRaisesRegex(ValidationError, "^Customer: .* already has an open callback"):
            planned.with_user(self.manager).action_reset()
        by_hand.write({"state": "cancel", "close_note": "Asked by mistake"})
        planned.with_user(self.manager).action_reset()
        self.assertEqual(planned.state, "todo")

    def test_the_database_holds_it_whoever_writes(self):
        self.make_delivered_visits(1, self.at("2025-03-01"))
        self.run_rule(self.service)
        planned = self.callbacks(self.service)
        self.env.flush_all()
        with mute_logger("odoo.sql_db"), self.assertRaises(IntegrityError), self.env.cr.savepoint():
            self.env.cr.execute(
                SQL(
                    """INSERT INTO auto_crm_callback (name, company_id, partner_id, channel, state, date_due,
                                                      max_attempts, overall_score, source_period)
                       VALUES ('raw', %s, %s, 'phone', 'in_progress', '2025-03-04', 3, 0, 0)""",
                    planned.company_id.id,
                    planned.partner_id.id,
                )
            )

    def test_the_upgrade_keeps_one_open_call_per_customer(self):
        """A database from before issue 12 may hold several open callbacks of one customer: the
        upgrade cancels the extra ones as duplicates (the one in progress, else the earliest due,
        is kept) before the constraint is added."""
        Callback = self.env["auto_crm.callback"]
        self.env.flush_all()
        cr = self.env.cr
        cr.execute("ALTER TABLE auto_crm_callback DROP CONSTRAINT auto_crm_callback_auto_crm_callback_one_open")
        partner = self.make_customers(1)[0]
        rows = [
            (self.company.id, "todo", "2025-03-04"),
            (self.company.id, "in_progress", "2025-03-06"),
            (self.company.id, "todo", "2025-03-05"),
            (self.other_company.id, "todo", "2025-03-07"),
            (self.company.id, "done", "2025-02-01"),
        ]
        ids = []
        for company, state, due in rows:
            cr.execute(
                SQL(
                    """INSERT INTO auto_crm_callback (name, company_id, partner_id, channel, state, date_due,
                                                      max_attempts, overall_score, source_period)
                       VALUES ('old', %s, %s, 'phone', %s, %s, 3, 0, 0) RETURNING id""",
                    company,
                    partner.id,
                    state,
                    due,
                )
            )
            ids.append(cr.fetchone()[0])
        self.assertEqual(Callback._cancel_extra_open_callbacks(), 2)
        Callback._add_sql_constraints()
        cr.execute("SELECT 1 FROM pg_constraint WHERE conname = 'auto_crm_callback_auto_crm_callback_one_open'")
        self.assertTrue(cr.rowcount, "the constraint is back")
        callbacks = Callback.browse(ids)
        self.assertEqual(callbacks.mapped("state"), ["cancel", "in_progress", "cancel", "todo", "done"])
        self.assertEqual(callbacks[0].close_reason, "duplicate")

    def test_a_new_rule_starts_from_its_first_day(self):
        self.make_delivered_visits(1, self.at("2025-02-27"))  # due 2025-03-02: in the window, overdue
        self.make_delivered_visits(1, self.at("2025-03-01"))  # due today
        with freeze_time("2025-03-04 02:00:00"):
            fresh = self.env["auto_crm.callback.rule"].create(
                {
                    "name": "New rule",
                    "trigger": "service_delivered",
                    "questionnaire_id": self.questionnaire.id,
                    "assignment": "team",
                    "team_id": self.team.id,
                    "window_days": 4,
                }
            )
            self.assertFalse(fresh.active)
            self.assertEqual(str(fresh.date_start), "2025-03-04")
            self.assertEqual(self.preview(fresh)["created"], 1, "no call overdue the moment it is made")
            fresh.date_start = "2025-02-28"  # asked: include the past events of its window
            self.assertEqual(self.preview(fresh)["created"], 2)


@tagged("post_install", "-at_install")
class TestContactPressureConcurrency(TransactionCase):
    """A rule run and a callback created by hand for the same customer at the same instant: two real
    transactions (threads with their own registry cursors), both holding their snapshot (they have
    looked for the customer's open calls and seen none) when a barrier releases them. A request that
    fails with a serialization failure is rolled back and run once more in a fresh transaction, as
    Odoo's RPC layer does. Whoever wins, the customer has exactly one open callback, and the other
    side ends cleanly: the engine skips the customer, the person is told with the constraint's
    sentence. Everything committed is deleted at the end."""

    ROUNDS = 6
    CONTEXT = {"tracking_disable": True, "mail_create_nolog": True, "mail_create_nosubscribe": True}

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.created = {"partners": [], "vehicles": [], "visits": [], "rule": [], "questionnaire": []}
        cls.addClassCleanup(cls._delete_created)
        cls.numbers = itertools.count(1)
        with cls.registry.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, cls.CONTEXT)
            questionnaire = env["auto_crm.questionnaire"].create(
                {"name": "Race questionnaire", "question_ids": [(0, 0, {"name": "Overall?", "step": "overall"})]}
            )
            rule = env["auto_crm.callback.rule"].create(
                {
                    "name": "Race rule",
                    "trigger": "service_delivered",
                    "delay_days": 3,
                    "window_days": 4,
                    "questionnaire_id": questionnaire.id,
                    "assignment": "user",
                    "user_id": SUPERUSER_ID,
                    "date_start": False,
                    "domain": "[('id', '=', 0)]",
                }
            )
            cls.rule_id, cls.company_id = rule.id, env.company.id
        cls.created["rule"].append(cls.rule_id)
        cls.created["questionnaire"].append(questionnaire.id)

    @classmethod
    def _delete_created(cls):
        created = cls.created
        with cls.registry.cursor() as cr:
            cr.execute(SQL("DELETE FROM auto_crm_callback WHERE partner_id = ANY(%s)", created["partners"]))
            cr.execute(SQL("DELETE FROM auto_crm_job_run_line WHERE rule_id = ANY(%s)", created["rule"]))
            cr.execute(SQL("DELETE FROM auto_crm_service_visit WHERE id = ANY(%s)", created["visits"]))
            cr.execute(SQL("DELETE FROM auto_crm_callback_rule WHERE id = ANY(%s)", created["rule"]))
            env = api.Environment(cr, SUPERUSER_ID, cls.CONTEXT)
            env["auto_crm.questionnaire"].browse(created["questionnaire"]).unlink()
            env["auto_crm.vehicle"].browse(created["vehicles"]).unlink()
            env["res.partner"].browse(created["partners"]).unlink()

    def _customer(self):
        """A new consenting customer with a car delivered three days before the store's day, the
        only source of the race rule. Committed."""
        number = next(self.numbers)
        with self.registry.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, self.CONTEXT)
            partner = env["res.partner"].create(
                {"name": f"并发回访客户 {number}", "auto_customer": True, "auto_callback_consent": True}
            )
            vehicle = env["auto_crm.vehicle"].create(
                {"vin": with_check_digit(f"LSVAU2180N2{770000 + number:06d}"), "partner_id": partner.id}
            )
            visit = env["auto_crm.service.visit"].create(
                {"partner_id": partner.id, "vehicle_id": vehicle.id, "mileage_in": 1000, "company_id": self.company_id}
            )
            env.flush_all()
            today = env["res.company"].browse(self.company_id)._auto_crm_today()
            cr.execute(
                "UPDATE auto_crm_service_visit SET state = 'followup', date_delivered = %s WHERE id = %s",
                (datetime.datetime.combine(today - datetime.timedelta(days=3), datetime.time(4)), visit.id),
            )
            env["auto_crm.callback.rule"].browse(self.rule_id).domain = repr([("id", "=", visit.id)])
        self.created["partners"].append(partner.id)
        self.created["vehicles"].append(vehicle.id)
        self.created["visits"].append(visit.id)
        return partner.id

    def _request(self, call, partner_id, barrier, outcome, delay):
        for attempt in range(2):
            with self.registry.cursor() as cr:
                cr.transaction = api.Transaction(self.registry)
                env = api.Environment(cr, SUPERUSER_ID, self.CONTEXT)
                try:
                    # The snapshot: nobody is calling this customer yet.
                    seen = env["auto_crm.callback"].search_count(
                        [("partner_id", "=", partner_id), ("state", "in", ("todo", "in_progress"))]
                    )
                    if not attempt:
                        outcome.append(seen)
                        barrier.wait()
                        if delay:
                            threading.Event().wait(delay)
                    result = call(env)
                    env.flush_all()
                    # a real second transaction of the race, on its own cursor: it must commit
                    cr.commit()  # pylint: disable=invalid-commit
                except errors.SerializationFailure:
                    cr.rollback()
                    outcome.append("serialization failure")
                    continue
                except (ValidationError, IntegrityError) as error:
                    cr.rollback()
                    outcome.append(("refused", str(error)))
                    return
                outcome.append(result)
                return

    def _race(self, partner_id, delays):
        barrier = threading.Barrier(2, timeout=30)
        outcomes = ([], [])
        crashes = []

        def engine(env):
            line = env["auto_crm.callback.rule"].browse(self.rule_id)._run_engine()
            return ("engine", line.state, line.created_count, line.skipped_open_count, line.message or "")

        def by_hand(env):
            env["auto_crm.callback"].create({"partner_id": partner_id, "company_id": self.company_id})
            return ("created",)

        def run(call, outcome, delay):
            try:
                self._request(call, partner_id, barrier, outcome, delay)
            except BaseException as error:  # reported by the main thread
                crashes.append(error)
                barrier.abort()

        with mute_logger("odoo.sql_db", "odoo.addons.auto_crm.models.auto_crm_job_run"):
            threads = [
                threading.Thread(target=run, args=(call, outcome, delay))
                for call, outcome, delay in zip((engine, by_hand), outcomes, delays, strict=True)
            ]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(30)
        if any(thread.is_alive() for thread in threads):
            frames = sys._current_frames()
            stacks = "\n".join("".join(traceback.format_stack(frames[t.ident])) for t in threads if t.is_alive())
            self.fail(f"a request hung:\n{stacks}")
        self.assertFalse(crashes, f"a request crashed: {crashes!r}")
        for outcome in outcomes:
            self.assertEqual(outcome[0], 0, "both requests saw no open call: they really raced")
        return [outcome[1:] for outcome in outcomes]

    def _open_calls(self, partner_id):
        with self.registry.cursor() as cr:
            cr.execute(
                "SELECT count(*) FROM auto_crm_callback WHERE partner_id = %s AND state IN ('todo', 'in_progress')",
                [partner_id],
            )
            return cr.fetchone()[0]

    def _run_engine_now(self):
        with self.registry.cursor() as cr:
            cr.transaction = api.Transaction(self.registry)
            env = api.Environment(cr, SUPERUSER_ID, self.CONTEXT)
            line = env["auto_crm.callback.rule"].browse(self.rule_id)._run_engine()
            return line.state, line.created_count, line.skipped_open_count

    def test_a_rule_run_and_a_call_by_hand_never_give_two_open_calls(self):
        # The constraint's sentence is what the RPC layer shows a person who loses the race.
        self.assertIn("auto_crm_callback_auto_crm_callback_one_open", self.registry._sql_constraints)
        messages = {key: message for key, _definition, message in self.env["auto_crm.callback"]._sql_constraints}
        self.assertIn("already has an open callback", messages["auto_crm_callback_one_open"])
        tally = {}
        for round_number in range(self.ROUNDS):
            partner_id = self._customer()
            # Each side gets a head start in turn, so that each wins some rounds whatever their speeds.
            delays = [(0, 0.1), (0.1, 0), (0, 0)][round_number % 3]
            engine, by_hand = self._race(partner_id, delays)
            self.assertEqual(self._open_calls(partner_id), 1, f"one open call: engine {engine}, by hand {by_hand}")
            engine_result, hand_result = engine[-1], by_hand[-1]
            if hand_result == ("created",):
                # The person won. The engine skipped the customer, or (its snapshot older than the
                # person's commit) its rule's statement met the constraint: a serialization failure,
                # the rule's line failed and nothing was created; the next run skips the customer.
                if engine_result[1] == "failed":
                    self.assertIn("was given a callback by someone else during this run", engine_result[4])
                    self.assertEqual(engine_result[2], 0)
                    key = "by hand won, the engine's line failed"
                else:
                    self.assertEqual(engine_result[1:4], ("done", 0, 1), f"the engine skips cleanly: {engine}")
                    key = "by hand won, the engine skipped"
                self.assertEqual(self._run_engine_now(), ("done", 0, 1), "the next run skips the customer")
            else:
                # The engine won: the person is refused, by the check or by the constraint (whose
                # sentence the RPC layer shows).
                self.assertEqual(engine_result[1:3], ("done", 1), f"the engine created it: {engine}")
                self.assertEqual(hand_result[0], "refused", f"by hand: {by_hand}")
                self.assertTrue(
                    "already has an open callback" in hand_result[1] or "auto_crm_callback_one_open" in hand_result[1],
                    hand_result[1],
                )
                key = "engine won"
            tally[key] = tally.get(key, 0) + 1
        self.assertEqual(sum(tally.values()), self.ROUNDS, tally)
        _logger.info("contact pressure race, %s rounds: %s", self.ROUNDS, tally)
