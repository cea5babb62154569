"""Care reminders (issue 13): the reminder rules seeded and active, the customer's preferred channel,
and a customer's reminders of the same week given as one call that lists them - with consent,
do-not-disturb and the contact pressure limit respected, exactly once, and against an agent closing
the call at the same instant."""

import datetime
import itertools
import sys
import threading
import traceback
from datetime import date

from freezegun import freeze_time
from psycopg2 import errors

from odoo import SUPERUSER_ID, api
from odoo.exceptions import UserError, ValidationError
from odoo.tests import tagged
from odoo.tests.common import TransactionCase
from odoo.tools import SQL, mute_logger

from ..lib.vin import with_check_digit
from .callback_common import CallbackCase
from .common import AutoCrmCase

#: The seeded reminder rules and their triggers.
SEEDED = {
    "auto_crm.callback_rule_first_maintenance": "service_due",
    "auto_crm.callback_rule_maintenance": "service_due",
    "auto_crm.callback_rule_warranty_end": "warranty_end",
    "auto_crm.callback_rule_insurance_renewal": "insurance_expiry",
    "auto_crm.callback_rule_annual_inspection": "annual_inspection",
    "auto_crm.callback_rule_birthday": "birthday",
}


@tagged("post_install", "-at_install")
class TestSeededReminders(AutoCrmCase):
    """What a dealer gets on install: six reminder rules, switched on, each with its script, its lead
    time and the customer's preferred channel; on the demo data they have made their calls."""

    def test_seeded_rules_are_active_with_a_script_and_the_preferred_channel(self):
        for xmlid, trigger in SEEDED.items():
            rule = self.env.ref(xmlid)
            with self.subTest(rule=rule.name):
                self.assertTrue(rule.active)
                self.assertEqual(rule.trigger, trigger)
                self.assertEqual(rule.channel, "preferred")
                self.assertTrue(rule.script and "customer relations" in rule.script)
                self.assertTrue(rule.team_id)
                if trigger == "birthday":
                    self.assertEqual(rule.days_before, 0, "greeted on the day")
                else:
                    self.assertGreaterEqual(rule.days_before, 14, "called ahead, in time to book")
        engine = self.env["auto_crm.callback.engine"]
        first = self.env.ref("auto_crm.callback_rule_first_maintenance")
        again = self.env.ref("auto_crm.callback_rule_maintenance")
        today = self.company._auto_crm_today()
        cars = self.env["auto_crm.vehicle"].search([])
        never = self.env["auto_crm.vehicle"].search(engine._rule_domain(first, today))
        serviced = self.env["auto_crm.vehicle"].search(engine._rule_domain(again, today))
        self.assertFalse(never & serviced, "a car is due its first maintenance or a regular one, never both")
        self.assertEqual(never | serviced, cars)
        self.assertFalse(never.visit_ids.filtered(lambda v: v.state == "followup"))

    def test_the_demo_reminders_are_called_on_install(self):
        """The demo's new car (no visit yet) got its first-maintenance call, by its own mileage; the
        customer whose warranty and insurance end the same day got ONE call, on the SMS she prefers,
        listing both."""
        new_car = self.env.ref("auto_crm.vehicle_new_lavida_demo")
        self.assertEqual(new_car.km_per_day_source, "own")
        self.assertFalse(new_car.visit_ids)
        first = self.env["auto_crm.callback"].search(
            [("rule_id", "=", self.env.ref("auto_crm.callback_rule_first_maintenance").id)]
        )
        self.assertEqual(first.vehicle_id, new_car)
        self.assertEqual(first.reminder_ids.mapped("trigger"), ["service_due"])
        self.assertEqual(first.channel, "phone")
        self.assertIn("first maintenance", first.script)
        sun = self.env.ref("auto_crm.partner_sun_li_demo")
        calls = self.env["auto_crm.callback"].search([("partner_id", "=", sun.id)])
        self.assertEqual(len(calls), 1)
        self.assertEqual(calls.channel, "sms")
        self.assertEqual(sorted(calls.reminder_ids.mapped("trigger")), ["insurance_expiry", "warranty_end"])
        self.assertEqual(calls.reminder_ids.mapped("merged"), [False, True])


class ReminderCase(CallbackCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env["auto_crm.vehicle"].search([]).write({"active": False})
        cls.warranty = cls.make_rule(
            name="Warranty", trigger="warranty_end", days_before=30, window_days=14, questionnaire_id=False
        )
        cls.insurance = cls.make_rule(
            name="Insurance", trigger="insurance_expiry", days_before=30, window_days=14, questionnaire_id=False
        )

    @classmethod
    def reminded_customer(cls, warranty=None, insurance=None, **partner_vals):
        partner, car = cls.make_customers(1, **partner_vals)
        car.write({"warranty_end_date": warranty, "insurance_expiry": insurance})
        return partner, car

    @staticmethod
    def run_rule(rule, day):
        with freeze_time(f"{day} 02:00:00"):
            return rule._run_engine()

    def calls(self, partner):
        return self.env["auto_crm.callback"].search([("partner_id", "=", partner.id)])


@tagged("post_install", "-at_install")
class TestSameWeekReminders(ReminderCase):
    def test_reminders_of_the_same_week_are_one_call(self):
        # 2026-03-04 is a Wednesday: the warranty call is due that day, the insurance reminder on Friday.
        partner, car = self.reminded_customer(warranty=date(2026, 4, 3), insurance=date(2026, 4, 5))
        line = self.run_rule(self.warranty, "2026-03-04")
        self.assertEqual((line.created_count, line.merged_count), (1, 0))
        with freeze_time("2026-03-06 02:00:00"):
            preview = self.preview(self.insurance)
        self.assertEqual((preview["created"], preview["merged"], preview["open"]), (0, 1, 0))
        line = self.run_rule(self.insurance, "2026-03-06")
        self.assertEqual((line.created_count, line.merged_count, line.skipped_open_count), (0, 1, 0))
        self.assertIn("1 reminders added to a call of their customer due the same week", line.message)
        call = self.calls(partner)
        self.assertEqual(len(call), 1)
        self.assertEqual(call.reminder_ids.mapped("trigger"), ["warranty_end", "insurance_expiry"])
        self.assertEqual(call.reminder_ids.mapped("merged"), [False, True])
        self.assertEqual(call.reminder_ids.vehicle_id, car)
        # Exactly once: the next runs find both reminders given.
        for rule in (self.warranty, self.insurance):
            line = self.run_rule(rule, "2026-03-07")
            self.assertEqual((line.created_count, line.merged_count, line.already_count), (0, 0, 1))
        self.assertEqual(len(call.reminder_ids), 2)
        # Closing the call closes its reminders: no rule calls about them again.
        call.write({"state": "cancel", "close_reason": "other"})
        for rule in (self.warranty, self.insurance):
            self.assertEqual(self.run_rule(rule, "2026-03-08").created_count, 0)

    def test_a_reminder_of_another_week_waits_for_the_open_call(self):
        # Due Monday 2026-03-09: the warranty call of Wednesday 03-04 is of another week.
        partner, _car = self.reminded_customer(warranty=date(2026, 4, 3), insurance=date(2026, 4, 8))
        self.run_rule(self.warranty, "2026-03-04")
        line = self.run_rule(self.insurance, "2026-03-09")
        self.assertEqual((line.created_count, line.merged_count, line.skipped_open_count), (0, 0, 1))
        self.assertEqual(len(self.calls(partner).reminder_ids), 1)
        self.close_calls(self.calls(partner))
        line = self.run_rule(self.insurance, "2026-03-10")
        self.assertEqual(line.created_count, 1)
        self.assertEqual(len(self.calls(partner).filtered(lambda c: c.state == "todo").reminder_ids), 1)

    def test_a_call_the_agent_started_takes_no_reminder(self):
        partner, _car = self.reminded_customer(warranty=date(2026, 4, 3), insurance=date(2026, 4, 5))
        self.run_rule(self.warranty, "2026-03-04")
        self.calls(partner).state = "in_progress"
        line = self.run_rule(self.insurance, "2026-03-06")
        self.assertEqual((line.created_count, line.merged_count, line.skipped_open_count), (0, 0, 1))
        self.assertEqual(len(self.calls(partner).reminder_ids), 1)

    def test_two_cars_due_the_same_run_are_one_call(self):
        partner, car = self.reminded_customer(warranty=date(2026, 4, 3))
        other = self.env["auto_crm.vehicle"].create(
            {
                "vin": self.make_vin(self.next_vin()),
                "partner_id": partner.id,
                "model_id": self.car_model.id,
                "warranty_end_date": date(2026, 4, 3),
            }
        )
        line = self.run_rule(self.warranty, "2026-03-04")
        self.assertEqual((line.created_count, line.merged_count, line.skipped_open_count), (1, 1, 0))
        call = self.calls(partner)
        self.assertEqual(call.reminder_ids.vehicle_id, car | other)
        self.assertEqual(call.reminder_ids.mapped("merged"), [False, False])

    def test_do_not_disturb_and_consent_hold_for_reminders(self):
        quiet, _car = self.reminded_customer(warranty=date(2026, 4, 3), insurance=date(2026, 4, 5))
        self.run_rule(self.warranty, "2026-03-04")
        quiet.write({"auto_do_not_disturb": True, "auto_do_not_disturb_reason": "asked"})
        line = self.run_rule(self.insurance, "2026-03-06")
        self.assertEqual((line.merged_count, line.skipped_dnd_count), (0, 1))
        unwilling, _car = self.reminded_customer(insurance=date(2026, 4, 5), auto_callback_consent=False)
        line = self.run_rule(self.insurance, "2026-03-06")
        self.assertEqual((line.created_count, line.skipped_consent_count), (0, 1))
        self.assertFalse(self.calls(unwilling))
        self.assertFalse(
            self.env["auto_crm.callback.reminder"].search(
                [("partner_id", "in", (quiet | unwilling).ids), ("rule_id", "=", self.insurance.id)]
            )
        )

    def test_a_reminder_added_to_a_call_is_no_new_call_for_the_pressure_limit(self):
        self.company.write({"callback_pressure_calls": 1, "callback_pressure_days": 30})
        birthday = self.make_rule(name="Birthday", trigger="birthday", days_before=0, window_days=3,
                                  questionnaire_id=False)  # fmt: skip
        partner, _car = self.reminded_customer(
            warranty=date(2026, 4, 3), insurance=date(2026, 4, 5), auto_birthday=date(1990, 3, 13)
        )
        self.run_rule(self.warranty, "2026-03-04")
        # The customer has had the store's one call of the month: the reminder still joins it...
        line = self.run_rule(self.insurance, "2026-03-06")
        self.assertEqual((line.merged_count, line.skipped_pressure_count), (1, 0))
        # ...but once it is closed, the birthday of the next week is held back by the limit.
        self.calls(partner).write({"state": "failed", "close_reason": "refused"})
        birthday.domain = repr([("id", "=", partner.id)])
        line = self.run_rule(birthday, "2026-03-13")
        self.assertEqual((line.created_count, line.merged_count, line.skipped_pressure_count), (0, 0, 1))

    def test_preferred_channel_with_its_fallback(self):
        self.warranty.channel = "preferred"
        cases = {
            "sms": ({"auto_preferred_channel": "sms"}, "sms"),
            "email": ({"auto_preferred_channel": "email", "email": "wei@example.com"}, "email"),
            "email without address": ({"auto_preferred_channel": "email", "email": False}, "phone"),
            "letter": ({"auto_preferred_channel": "letter"}, "letter"),
            "none": ({"auto_preferred_channel": False}, "phone"),
        }
        partners = {}
        for label, (vals, _expected) in cases.items():
            partners[label], _car = self.reminded_customer(warranty=date(2026, 4, 3), **vals)
        self.assertEqual(self.run_rule(self.warranty, "2026-03-04").created_count, len(cases))
        for label, (_vals, expected) in cases.items():
            self.assertEqual(self.calls(partners[label]).channel, expected, label)
        # A rule of a fixed channel keeps it.
        self.insurance.channel = "visit"
        partner, _car = self.reminded_customer(insurance=date(2026, 4, 3), auto_preferred_channel="sms")
        self.run_rule(self.insurance, "2026-03-04")
        self.assertEqual(self.calls(partner).channel, "visit")

    def test_channels_turned_down_and_the_rules_fallback_order(self):
        self.warranty.write({"channel": "preferred", "fallback_channels": "email, phone"})
        cases = {
            "prefers SMS, turned SMS down": ({"auto_preferred_channel": "sms", "auto_no_sms": True,
                                             "email": "a@example.com"}, "email"),
            "prefers SMS, turned SMS down, no e-mail": (
                {"auto_preferred_channel": "sms", "auto_no_sms": True},
                "phone",
            ),
            "no preference, no phone calls": ({"auto_no_phone": True, "email": "b@example.com"}, "email"),
            "reachable on nothing of the rule's": ({"auto_no_phone": True, "auto_no_email": True,
                                                   "email": "c@example.com"}, None),
        }  # fmt: skip
        partners = {}
        for label, (vals, _expected) in cases.items():
            partners[label], _car = self.reminded_customer(warranty=date(2026, 4, 3), **vals)
        line = self.run_rule(self.warranty, "2026-03-04")
        self.assertEqual((line.created_count, line.skipped_consent_count), (3, 1))
        for label, (_vals, expected) in cases.items():
            self.assertEqual(self.calls(partners[label]).channel or None, expected, label)
        # A fixed channel the customer turned down, and no fallback: not called.
        self.insurance.write({"channel": "phone", "fallback_channels": False})
        partner, _car = self.reminded_customer(insurance=date(2026, 4, 3), auto_no_phone=True)
        self.assertEqual(self.run_rule(self.insurance, "2026-03-04").skipped_consent_count, 1)
        self.assertFalse(self.calls(partner))

    def test_fallback_channels_are_checked(self):
        with self.assertRaises(ValidationError) as caught:
            self.warranty.fallback_channels = "sms, fax"
        self.assertRegex(str(caught.exception), "^Fallback Channels: fax is not a channel; use phone, sms")

    def test_reminders_are_written_by_the_engine_only(self):
        partner, _car = self.reminded_customer(warranty=date(2026, 4, 3))
        self.run_rule(self.warranty, "2026-03-04")
        reminder = self.calls(partner).reminder_ids
        Reminder = self.env["auto_crm.callback.reminder"]
        for user in (self.agent, self.manager, self.dealer_admin):
            with self.subTest(user=user.login):
                self.assertEqual(reminder.with_user(user).read(["trigger"])[0]["trigger"], "warranty_end")
                with self.assertRaises(UserError):  # (AccessError is one)
                    reminder.with_user(user).write({"date_due": date(2026, 1, 1)})
                with self.assertRaises(UserError):  # (AccessError is one)
                    reminder.with_user(user).unlink()
                with self.assertRaises(UserError):  # (AccessError is one)
                    Reminder.with_user(user).create(
                        {"callback_id": reminder.callback_id.id, "company_id": self.company.id,
                         "rule_id": self.warranty.id, "trigger": "birthday", "source_model": "res.partner",
                         "source_id": partner.id, "source_period": 2026, "date_due": date(2026, 3, 4)}
                    )  # fmt: skip


@tagged("post_install", "-at_install")
class TestRemindersInTheSeededRules(ReminderCase):
    """The seeded rules, run as the daily job runs them: a new car without visits is called for its
    first maintenance by its own mileage; its owner's birthday the same week is the same call."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        default = cls.env.ref("auto_crm.auto_crm_service_plan_default")
        (cls.env["auto_crm.service.plan"].search([]) - default).write({"active": False})

    def test_first_maintenance_then_the_birthday_of_the_next_week(self):
        first = self.env.ref("auto_crm.callback_rule_first_maintenance")
        birthday = self.env.ref("auto_crm.callback_rule_birthday")
        (first | birthday).write({"active": True, "date_start": False})
        with freeze_time("2026-01-01 02:00:00"):
            partner, car = self.make_customers(1, auto_birthday=date(1990, 5, 12), auto_preferred_channel="sms")
            car.purchase_date = date(2026, 1, 1)
        # 5,000 km at the plan's 35 km/day: 2026-05-24 (a Sunday); called 14 days before, Sunday 05-10.
        self.assertEqual(car.next_service_date, date(2026, 5, 24))
        with freeze_time("2026-05-10 02:00:00"):
            self.env["auto_crm.callback.engine"]._cron_run()
        call = self.calls(partner)
        self.assertEqual((call.rule_id, call.channel, str(call.date_due)), (first, "sms", "2026-05-10"))
        # The birthday on Tuesday 05-12 belongs to the next week: it waits for its own call.
        with freeze_time("2026-05-12 02:00:00"):
            self.env["auto_crm.callback.engine"]._cron_run()
        self.assertEqual(len(call.reminder_ids), 1)
        self.close_calls(call)
        with freeze_time("2026-05-12 03:00:00"):
            self.env["auto_crm.callback.engine"]._cron_run()
        birthday_call = self.calls(partner).filtered(lambda c: c.state == "todo")
        self.assertEqual(birthday_call.reminder_ids.mapped("trigger"), ["birthday"])


@tagged("post_install", "-at_install")
class TestReminderRace(TransactionCase):
    """An agent closes a customer's open call at the instant the engine adds a reminder of the same
    week to it: two real transactions (threads with their own registry cursors) released by a barrier,
    both having seen the call open. Whoever wins, the reminder is given exactly once and never to a
    call closed before it was added: the engine's rule fails cleanly (serialization failure, nothing
    written) and its next run gives the reminder a call of its own, or the agent's close waits for the
    engine and is retried (as Odoo's RPC layer does) with the reminder on the call."""

    ROUNDS = 6
    CONTEXT = {"tracking_disable": True, "mail_create_nolog": True, "mail_create_nosubscribe": True}

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.created = {"partners": [], "vehicles": [], "rules": []}
        cls.addClassCleanup(cls._delete_created)
        cls.numbers = itertools.count(1)
        with cls.registry.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, cls.CONTEXT)
            rules = env["auto_crm.callback.rule"].create(
                [
                    {
                        "name": f"Race {trigger}",
                        "trigger": trigger,
                        "days_before": 30,
                        "window_days": 7,
                        "assignment": "user",
                        "user_id": SUPERUSER_ID,
                        "date_start": False,
                        "active": False,
                        "domain": "[('id', '=', 0)]",
                    }
                    for trigger in ("warranty_end", "insurance_expiry")
                ]
            )
            cls.warranty_id, cls.insurance_id = rules.ids
            cls.company_id = env.company.id
        cls.created["rules"].extend(rules.ids)

    @classmethod
    def _delete_created(cls):
        created = cls.created
        with cls.registry.cursor() as cr:
            cr.execute(SQL("DELETE FROM auto_crm_callback WHERE partner_id = ANY(%s)", created["partners"]))
            cr.execute(SQL("DELETE FROM auto_crm_job_run_line WHERE rule_id = ANY(%s)", created["rules"]))
            cr.execute(SQL("DELETE FROM auto_crm_callback_rule WHERE id = ANY(%s)", created["rules"]))
            env = api.Environment(cr, SUPERUSER_ID, cls.CONTEXT)
            env["auto_crm.vehicle"].browse(created["vehicles"]).unlink()
            env["res.partner"].browse(created["partners"]).unlink()

    def _customer_with_a_call(self):
        """A consenting customer whose warranty and insurance end in 30 days, with the warranty call
        made (open, not started). Committed."""
        number = next(self.numbers)
        with self.registry.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, self.CONTEXT)
            today = env["res.company"].browse(self.company_id)._auto_crm_today()
            partner = env["res.partner"].create(
                {"name": f"并发提醒客户 {number}", "auto_customer": True, "auto_callback_consent": True}
            )
            end = today + datetime.timedelta(days=30)
            vehicle = env["auto_crm.vehicle"].create(
                {
                    "vin": with_check_digit(f"LSVAU2180N2{880000 + number:06d}"),
                    "partner_id": partner.id,
                    "warranty_end_date": end,
                    "insurance_expiry": end,
                }
            )
            rules = env["auto_crm.callback.rule"].browse([self.warranty_id, self.insurance_id])
            rules.write({"domain": repr([("id", "=", vehicle.id)])})
            line = rules[0]._run_engine()
            assert line.created_count == 1, line.message
        self.created["partners"].append(partner.id)
        self.created["vehicles"].append(vehicle.id)
        return partner.id

    def _request(self, call, barrier, outcome, delay):
        for attempt in range(2):
            with self.registry.cursor() as cr:
                cr.transaction = api.Transaction(self.registry)
                env = api.Environment(cr, SUPERUSER_ID, self.CONTEXT)
                try:
                    cr.execute("SELECT count(*) FROM auto_crm_callback_reminder")  # the snapshot
                    if not attempt:
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
                outcome.append(result)
                return

    def _race(self, partner_id, delays):
        barrier = threading.Barrier(2, timeout=30)
        outcomes = ([], [])
        crashes = []

        def engine(env):
            line = env["auto_crm.callback.rule"].browse(self.insurance_id)._run_engine()
            return (line.state, line.created_count, line.merged_count)

        def agent(env):
            call = env["auto_crm.callback"].search([("partner_id", "=", partner_id), ("state", "=", "todo")])
            call.write({"state": "cancel", "close_reason": "other"})
            return ("closed", len(call))

        def run(call, outcome, delay):
            try:
                self._request(call, barrier, outcome, delay)
            except BaseException as error:  # reported by the main thread
                crashes.append(error)
                barrier.abort()

        with mute_logger("odoo.sql_db", "odoo.addons.auto_crm.models.auto_crm_job_run"):
            threads = [
                threading.Thread(target=run, args=(call, outcome, delay))
                for call, outcome, delay in zip((engine, agent), outcomes, delays, strict=True)
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
        return outcomes

    def _state(self, partner_id):
        with self.registry.cursor() as cr:
            cr.execute(
                """SELECT reminder.trigger, callback.state, reminder.create_date <= callback.write_date
                     FROM auto_crm_callback_reminder reminder
                     JOIN auto_crm_callback callback ON callback.id = reminder.callback_id
                    WHERE reminder.partner_id = %s ORDER BY reminder.id""",
                [partner_id],
            )
            return cr.fetchall()

    def _run_insurance_now(self):
        with self.registry.cursor() as cr:
            cr.transaction = api.Transaction(self.registry)
            env = api.Environment(cr, SUPERUSER_ID, self.CONTEXT)
            line = env["auto_crm.callback.rule"].browse(self.insurance_id)._run_engine()
            return line.state, line.created_count, line.merged_count

    def test_an_agent_closing_the_call_and_a_reminder_joining_it(self):
        tally = {}
        for round_number in range(self.ROUNDS):
            partner_id = self._customer_with_a_call()
            delays = [(0, 0.1), (0.1, 0), (0, 0)][round_number % 3]
            engine, agent = self._race(partner_id, delays)
            self.assertEqual(agent[-1], ("closed", 1), f"the agent's close ends done: {agent}")
            if engine[-1] == ("done", 0, 1):
                # The engine won: the reminder joined the call, then the agent's close (retried after
                # a serialization failure, or waiting for the engine's commit) closed it.
                key = "engine won"
                self.assertEqual(
                    self._state(partner_id), [("warranty_end", "cancel", True), ("insurance_expiry", "cancel", True)]
                )
            else:
                # The agent won: the engine's rule failed with nothing written (or found the call
                # closed), and its next run gives the insurance reminder a call of its own.
                self.assertIn(engine[-1][0], ("failed", "done"), engine)
                self.assertEqual(engine[-1][1:], (0, 0), engine)
                self.assertEqual(self._state(partner_id), [("warranty_end", "cancel", True)])
                self.assertEqual(self._run_insurance_now(), ("done", 1, 0))
                self.assertEqual(
                    [row[:2] for row in self._state(partner_id)],
                    [("warranty_end", "cancel"), ("insurance_expiry", "todo")],
                )
                key = f"agent won, engine {engine[-1][0]}"
            tally[key] = tally.get(key, 0) + 1
        self.assertGreaterEqual(len(tally), 2, f"both sides won some rounds: {tally}")
