import datetime

from freezegun import freeze_time

from odoo import fields
from odoo.exceptions import AccessError
from odoo.tests import new_test_user, tagged

from .callback_common import CallbackCase

D = fields.Date.to_date


@tagged("post_install", "-at_install")
class TestStoreDay(CallbackCase):
    """ "Today" is one day for everyone in a store, at any hour: the store's calendar day in its time
    zone, for the engine that plans callbacks, the board that shows them, the nightly expiry and
    the agents themselves, whatever their own time zone."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        # An agent whose own time zone is far from the store's: their board still shows the store's day.
        cls.far_agent = new_test_user(
            cls.env,
            "far_agent",
            groups="auto_crm.group_agent",
            tz="America/Los_Angeles",
            company_id=cls.company.id,
            company_ids=[(6, 0, cls.company.ids)],
        )

    def test_store_day_follows_the_store_time_zone(self):
        self.assertEqual(self.company.auto_crm_tz, "Asia/Shanghai")
        for utc, day in (
            ("2026-12-01 15:59:00", "2026-12-01"),
            ("2026-12-01 16:00:00", "2026-12-02"),
            ("2026-12-01 23:30:00", "2026-12-02"),
            ("2026-12-02 03:00:00", "2026-12-02"),
        ):
            with freeze_time(utc):
                self.assertEqual(self.company._auto_crm_today(), D(day), utc)
                # whoever asks: the agent on the other side of the world, the superuser of the cron
                self.assertEqual(self.company.with_user(self.far_agent)._auto_crm_today(), D(day), utc)
        self.company.auto_crm_tz = False
        with freeze_time("2026-12-01 23:30:00"):
            self.assertEqual(self.company._auto_crm_today(), D("2026-12-01"), "no time zone: the UTC day")

    def test_engine_and_board_agree_at_any_hour(self):
        """A car delivered three days ago falls due today, and is on the agent's "My Calls Today"
        at once, at 16:30, 23:30 and 03:00 UTC alike (the tour's story, at the hours it failed)."""
        for utc in ("2026-12-01 16:30:00", "2026-12-01 23:30:00", "2026-12-02 03:00:00"):
            with self.subTest(utc=utc), freeze_time(utc):
                store_today = self.company._auto_crm_today()
                # delivered at 10:00 in the store three days ago
                delivered = datetime.datetime.combine(store_today - datetime.timedelta(days=3), datetime.time(2))
                visits = self.make_delivered_visits(1, delivered)
                rule = self.make_rule(
                    assignment="user", user_id=self.far_agent.id, domain=repr([("id", "in", visits.ids)])
                )
                self.assertEqual(rule._run_engine().created_count, 1)
                callback = self.callbacks(rule)
                self.assertEqual(callback.date_due, store_today)
                Callback = self.env["auto_crm.callback"].with_user(self.far_agent)
                mine_today = Callback.search(
                    [("user_id", "=", self.far_agent.id), ("rule_id", "=", rule.id), ("due_status", "=", "today")]
                )
                self.assertEqual(mine_today, callback)
                self.assertEqual(callback.with_user(self.far_agent).due_status, "today")
                self.assertFalse(
                    Callback.search([("id", "=", callback.id), ("due_status", "in", ["overdue", "future"])])
                )
                rule.active = False

    def test_board_filters_by_the_store_day(self):
        with freeze_time("2026-12-01 23:30:00"):  # 07:30 on 2 December in the store, 15:30 on 1 December for the agent
            partners, _vehicles = self.make_customers(3)
            Callback = self.env["auto_crm.callback"]
            due = {
                day: Callback.create(
                    {
                        "partner_id": partner.id,
                        "user_id": self.far_agent.id,
                        "date_due": D(day),
                        "company_id": self.company.id,
                    }
                )
                for partner, day in zip(partners, ("2026-12-01", "2026-12-02", "2026-12-03"), strict=True)
            }
            Board = Callback.with_user(self.far_agent)
            mine = [("user_id", "=", self.far_agent.id)]
            self.assertEqual(Board.search([*mine, ("due_status", "=", "overdue")]), due["2026-12-01"])
            self.assertEqual(Board.search([*mine, ("due_status", "=", "today")]), due["2026-12-02"])
            self.assertEqual(Board.search([*mine, ("due_status", "=", "future")]), due["2026-12-03"])
            self.assertEqual(
                Board.search([*mine, ("due_status", "!=", "today")]), due["2026-12-01"] | due["2026-12-03"]
            )
            self.assertEqual(
                [c.with_user(self.far_agent).due_status for c in due.values()], ["overdue", "today", "future"]
            )

    def test_housekeeping_expires_by_the_store_day(self):
        partners, _vehicles = self.make_customers(2)
        Callback = self.env["auto_crm.callback"]
        ends_1st, ends_2nd = (
            Callback.create(
                {
                    "partner_id": partner.id,
                    "user_id": self.agent.id,
                    "date_due": D("2026-11-28"),
                    "date_expiry": D(day),
                    "company_id": self.company.id,
                }
            )
            for partner, day in zip(partners, ("2026-12-01", "2026-12-02"), strict=True)
        )
        with freeze_time("2026-12-01 15:30:00"):  # 23:30 on 1 December in the store: the 1st is not over
            self.env["auto_crm.callback.engine"]._housekeeping()
            self.assertEqual((ends_1st | ends_2nd).mapped("state"), ["todo", "todo"])
        with freeze_time("2026-12-01 16:30:00"):  # 00:30 on 2 December in the store, still the 1st in UTC
            self.env["auto_crm.callback.engine"]._housekeeping()
            self.assertEqual((ends_1st | ends_2nd).mapped("state"), ["expired", "todo"])

    def test_only_dealer_administrators_move_the_store_day(self):
        store_partner = self.company.partner_id
        for user in (self.agent, self.advisor, self.manager):
            with self.subTest(user=user.login), self.assertRaisesRegex(AccessError, "Store Time Zone"):
                store_partner.with_user(user).write({"tz": "Europe/Paris"})
        self.assertEqual(self.company.auto_crm_tz, "Asia/Shanghai")
        # their own time zone (their preferences) is theirs to change
        self.agent.with_user(self.agent).write({"tz": "Europe/Paris"})
        self.assertEqual(self.agent.tz, "Europe/Paris")
        store_partner.with_user(self.dealer_admin).write({"tz": "Asia/Urumqi"})
        self.assertEqual(self.company.auto_crm_tz, "Asia/Urumqi")
