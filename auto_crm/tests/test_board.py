"""The workshop board: the promised delivery time as a commitment (on time, at risk of delay, late)
by the store's margin, searched and counted in the database; the delivered-on-time stamp nobody
writes; the on-time delivery rate per advisor and store; the cards of both boards."""

import datetime
import logging

from freezegun import freeze_time
from lxml import etree

from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.tests import new_test_user, tagged
from odoo.tools import SQL

from . import test_screens
from .callback_common import CallbackCase
from .screens_common import VISIT_BOARD, board_calls, on_board_domain

_logger = logging.getLogger(__name__)

NOW = datetime.datetime(2025, 6, 10, 4, 0)  # 12:00 in Shanghai, the store's time zone (CallbackCase)
MINUTE = datetime.timedelta(minutes=1)


@tagged("post_install", "-at_install")
class TestBoard(CallbackCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.Visit = cls.env["auto_crm.service.visit"]
        cls.company.promise_risk_minutes = 60
        cls.other_company.promise_risk_minutes = 180

    def make_promised(self, promise, **vals):
        with freeze_time(NOW):
            return self.make_visit(date_promised=promise, **vals)

    def board_visits(self):
        """An open visit of each promise status, and a delivered one (closed)."""
        visits = {
            "on_time": self.make_promised(NOW + datetime.timedelta(hours=2)),
            "at_risk": self.make_promised(NOW + datetime.timedelta(minutes=30)),
            "late": self.make_promised(NOW - MINUTE),
            "no_promise": self.make_promised(False),
        }
        delivered = self.make_promised(NOW - datetime.timedelta(hours=3))
        self.set_visit_dates(delivered, state="followup", date_delivered=NOW - datetime.timedelta(hours=1))
        visits["closed"] = delivered
        return visits

    def found(self, domain, user=None):
        mine = self.board_ids
        return self.Visit.with_user(user or self.advisor).search([("id", "in", mine.ids), *domain])

    # ------------------------------------------------------------------ the promise status
    def test_lateness_follows_the_promise_and_the_stores_margin(self):
        visits = self.board_visits()
        self.board_ids = self.Visit.concat(*visits.values())
        with freeze_time(NOW):
            for status, visit in visits.items():
                with self.subTest(status=status):
                    visit.invalidate_recordset(["lateness"])
                    self.assertEqual(visit.lateness, status)
                    self.assertEqual(self.found([("lateness", "=", status)]), visit)
            self.assertEqual(self.found([("lateness", "in", ("late", "at_risk"))]), visits["late"] | visits["at_risk"])
            self.assertEqual(
                self.found([("lateness", "!=", "late")]), self.board_ids - visits["late"], "the complement, exactly"
            )
            # A wider margin puts the visit promised in two hours at risk, on the card and in the filter.
            self.company.promise_risk_minutes = 180
            self.board_ids.invalidate_recordset(["lateness"])
            self.assertEqual(visits["on_time"].lateness, "at_risk")
            self.assertEqual(self.found([("lateness", "=", "at_risk")]), visits["on_time"] | visits["at_risk"])
            self.assertFalse(self.found([("lateness", "=", "on_time")]))
        with self.assertRaisesRegex(UserError, "^Promise Status"):
            self.Visit.search([("lateness", "like", "late")])
        with self.assertRaisesRegex(UserError, "^Promise Status"):
            self.Visit.search([("lateness", "=", "behind")])

    def test_the_promise_passes_by_the_clock(self):
        """At the promise it is at risk (not past yet); a second later it is late; the margin's start
        is at risk too. Whatever the hour of the day."""
        for now in (NOW, datetime.datetime(2025, 6, 10, 15, 30), datetime.datetime(2025, 6, 10, 23, 30)):
            promise = now + datetime.timedelta(hours=1)
            visit = self.make_promised(promise)
            self.board_ids = visit
            for moment, status in (
                (promise - datetime.timedelta(minutes=61), "on_time"),
                (promise - datetime.timedelta(minutes=60), "at_risk"),
                (promise, "at_risk"),
                (promise + datetime.timedelta(seconds=1), "late"),
            ):
                with self.subTest(now=now, moment=moment), freeze_time(moment):
                    visit.invalidate_recordset(["lateness"])
                    self.assertEqual(visit.lateness, status)
                    self.assertEqual(self.found([("lateness", "=", status)]), visit)

    def test_each_store_its_own_margin(self):
        """The second store warns three hours before a promise; the first one hour."""
        multi = new_test_user(
            self.env,
            "crm_board_multi",
            groups="auto_crm.group_advisor",
            company_id=self.company.id,
            company_ids=[(6, 0, self.all_companies)],
        )
        customer = self.env["res.partner"].create({"name": "李四", "auto_customer": True, "company_id": False})
        vehicle = self.env["auto_crm.vehicle"].create(
            {"vin": self.make_vin(77), "partner_id": customer.id, "company_id": self.other_company.id}
        )
        here = self.make_promised(NOW + datetime.timedelta(hours=2))
        there = self.make_promised(
            NOW + datetime.timedelta(hours=2),
            company_id=self.other_company.id,
            partner_id=customer.id,
            vehicle_id=vehicle.id,
        )
        self.board_ids = here | there
        with freeze_time(NOW):
            self.assertEqual((here.lateness, there.lateness), ("on_time", "at_risk"))
            self.assertEqual(self.found([("lateness", "=", "at_risk")], multi), there)
            self.assertEqual(self.found([("lateness", "=", "on_time")], multi), here)
            groups = self.Visit.with_user(multi)._read_group(
                [("id", "in", self.board_ids.ids)], ["company_id", "lateness"], ["__count"]
            )
        self.assertEqual(
            sorted((company.id, status, count) for company, status, count in groups),
            sorted([(self.company.id, "on_time", 1), (self.other_company.id, "at_risk", 1)]),
        )

    def test_progress_bar_and_grouping_count_in_the_database(self):
        """The board's progress bar is one read_group on the promise status (no record is read), and
        counts as the cards show."""
        visits = self.board_visits()
        self.board_ids = self.Visit.concat(*visits.values())
        extra = self.make_promised(NOW - datetime.timedelta(hours=5))
        self.set_visit_dates(extra, state="repair")
        self.board_ids |= extra
        domain = [("id", "in", self.board_ids.ids)]
        progress_bar = {"field": "lateness", "colors": {"on_time": "success", "at_risk": "warning", "late": "danger"}}
        Visit = self.Visit.with_user(self.advisor)
        with freeze_time(NOW):
            # As many queries as a count of the columns: the status is a column of the same query.
            self.env.flush_all()
            self.env.invalidate_all()
            before = self.cr.sql_log_count
            Visit.read_group(domain, ["__count"], ["state"], lazy=False)
            plain = self.cr.sql_log_count - before
            self.env.invalidate_all()
            with self.assertQueryCount(plain):
                bars = Visit.read_progress_bar(domain, "state", progress_bar)
            self.assertEqual(bars["appointment"], {"on_time": 1, "at_risk": 1, "late": 1})
            self.assertEqual(bars["repair"], {"on_time": 0, "at_risk": 0, "late": 1})
            self.assertEqual(bars["followup"], {"on_time": 0, "at_risk": 0, "late": 0})
            groups = Visit.read_group(domain, ["lateness"], ["lateness"])
            counts = {group["lateness"]: group["lateness_count"] for group in groups}
            self.assertEqual(counts, {"on_time": 1, "at_risk": 1, "late": 2, "no_promise": 1, "closed": 1})
            for group in groups:
                self.assertEqual(Visit.search_count(group["__domain"]), group["lateness_count"], group["lateness"])

    def test_late_filter_reads_the_open_promises_index(self):
        """Late: a range on the promise of open visits, which the partial index answers (whatever the
        delivered history)."""
        self.make_promised(NOW - MINUTE)
        with freeze_time(NOW):
            query = self.Visit._search([("lateness", "=", "late")])
        self.env.flush_all()
        self.env.cr.execute("SET LOCAL enable_seqscan = off")
        self.env.cr.execute(SQL("EXPLAIN %s", query.select()))
        plan = "\n".join(row[0] for row in self.env.cr.fetchall())
        self.assertIn("auto_crm_service_visit_open_promised_idx", plan)

    def test_board_cost_does_not_grow_with_promises_tiers_and_technicians(self):
        """Cards with a promise, a technician and a member tier: the board makes the same calls at 10
        visits and at 2,000 more (one more count per full column, as in tests/test_screens.py)."""
        Program = self.env["auto_crm.loyalty.program"]
        program = Program._for_company(self.company) or Program.create(
            {"name": "Board Programme", "company_id": self.company.id}
        )
        tier = program.tier_ids[:1] or self.env["auto_crm.loyalty.tier"].create(
            {"name": "Board Silver", "program_id": program.id, "threshold": 0}
        )
        self.env["auto_crm.loyalty.member"].create(
            {"program_id": program.id, "partner_id": self.customer.id, "tier_id": tier.id}
        )
        technician = new_test_user(self.env, "board_tech", groups="base.group_user", name="Board Tech")
        visits = self.Visit
        for index, state in enumerate(("appointment", "reception", "repair", "inspection", "delivery") * 2):
            visits |= self.make_promised(
                NOW + datetime.timedelta(hours=index - 4), technician_id=technician.id, advisor_id=self.advisor.id
            )
            self.set_visit_dates(visits[-1:], state=state)
        self.assertEqual(visits.loyalty_tier_id, tier)

        def counted():
            self.env.flush_all()
            self.env.invalidate_all()
            before = self.cr.sql_log_count
            with freeze_time(NOW):
                _groups, cards = board_calls(self.Visit.with_user(self.advisor), VISIT_BOARD, on_board_domain())
            return self.cr.sql_log_count - before, cards

        counted()  # warm the caches
        small, cards = counted()
        self.assertGreaterEqual(sum(len(page) for page in cards.values()), 10)
        for visit in visits[:5]:
            test_screens.TestScreens.clone(self, visit, 400)  # SQL copies, as the screens' test makes them
        big, cards = counted()
        self.assertEqual([len(page) for page in cards.values()], [40] * 5)
        self.assertEqual(big, small + 5)
        _logger.info("workshop board with tiers and promises: %s queries, %s with 2,000 more visits", small, big)

    # ------------------------------------------------------------------ delivered on time
    def test_delivered_on_time_is_stamped_at_delivery(self):
        on_time = self.make_promised(NOW + datetime.timedelta(hours=2), advisor_id=self.advisor.id)
        late = self.make_promised(NOW + datetime.timedelta(minutes=10), advisor_id=self.advisor.id)
        unpromised = self.make_promised(False, advisor_id=self.advisor.id)
        with freeze_time(NOW + datetime.timedelta(hours=1)):
            for visit in (on_time, late, unpromised):
                self.deliver(visit.with_user(self.advisor))
        self.assertEqual(
            [on_time.delivered_on_time, late.delivered_on_time, unpromised.delivered_on_time], [True, False, False]
        )
        self.assertEqual(late.lateness, "closed")
        # The promise of a delivered visit is what its delivery is measured against: it stays.
        with self.assertRaisesRegex(UserError, "^Promised Delivery"):
            late.with_user(self.advisor).write({"date_promised": NOW + datetime.timedelta(hours=5)})
        with self.assertRaisesRegex(UserError, "^Promised Delivery"):
            late.with_user(self.manager).write({"date_promised": NOW + datetime.timedelta(hours=5)})
        # Re-opened for settlement: no longer delivered, the stamp goes; the manager may correct the
        # promise, and the new delivery is stamped again.
        with freeze_time(NOW + datetime.timedelta(hours=2, minutes=1)):
            late.with_user(self.manager).action_reopen_delivery()
            self.assertFalse(late.delivered_on_time)
            on_time.with_user(self.manager).action_reopen_delivery()
            self.assertFalse(on_time.delivered_on_time)
            late.with_user(self.manager).write({"date_promised": NOW + datetime.timedelta(hours=3)})
            late.with_user(self.advisor).action_deliver()
            on_time.with_user(self.advisor).action_deliver()
        self.assertTrue(late.delivered_on_time)
        self.assertFalse(on_time.delivered_on_time, "delivered again after its promise: late")

    def test_deliveries_without_the_stamp_are_judged_by_their_dates(self):
        """Visits delivered before the upgrade (or loaded in bulk by SQL) have no stamp: the report
        judges them by their dates, and the upgrade (the model's init) stamps them."""
        early = self.make_promised(NOW + datetime.timedelta(hours=2), advisor_id=self.advisor2.id)
        late = self.make_promised(NOW - datetime.timedelta(hours=2), advisor_id=self.advisor2.id)
        self.set_visit_dates(early | late, state="followup", date_delivered=NOW, delivered_on_time=None)
        report = self.env["auto_crm.delivery.report"].search([("visit_id", "in", (early | late).ids)])
        self.assertEqual({row.visit_id: row.delivered_on_time for row in report}, {early: True, late: False})
        self.Visit.init()
        self.env.cr.execute(
            "SELECT id, delivered_on_time FROM auto_crm_service_visit WHERE id IN %s", [tuple((early | late).ids)]
        )
        self.assertEqual(dict(self.env.cr.fetchall()), {early.id: True, late.id: False})

    def test_nobody_writes_the_stamp(self):
        visit = self.make_promised(NOW + datetime.timedelta(hours=2))
        with freeze_time(NOW):
            self.deliver(visit)
        self.assertTrue(visit.delivered_on_time)
        for user in (self.advisor, self.manager, self.dealer_admin):
            with self.subTest(user=user.name), self.assertRaisesRegex(UserError, "Delivered on Time"):
                visit.with_user(user).write({"delivered_on_time": False})
            with self.subTest(user=user.name), self.assertRaises(UserError):
                self.Visit.with_user(user).create(
                    {"partner_id": self.customer.id, "vehicle_id": self.vehicle.id, "delivered_on_time": True}
                )
        with self.assertRaises(AccessError):
            visit.with_user(self.agent).write({"delivered_on_time": False})
        self.assertTrue(visit.delivered_on_time)
        report = self.env["auto_crm.delivery.report"].search([("visit_id", "=", visit.id)])
        for user in (self.agent, self.advisor, self.manager, self.dealer_admin):
            with self.subTest(user=user.name), self.assertRaises(AccessError):
                report.with_user(user).write({"delivered_on_time": False})

    # ------------------------------------------------------------------ the on-time delivery rate
    def test_on_time_rate_per_advisor_and_store(self):
        Report = self.env["auto_crm.delivery.report"]
        plan = [
            (self.advisor, datetime.timedelta(hours=2)),
            (self.advisor, datetime.timedelta(hours=3)),
            (self.advisor, datetime.timedelta(minutes=-30)),
            (self.advisor2, datetime.timedelta(hours=1)),
            (self.advisor2, None),
        ]
        for advisor, margin in plan:
            visit = self.make_promised(NOW + margin if margin is not None else False, advisor_id=advisor.id)
            with freeze_time(NOW):
                self.deliver(visit)
        self.env.flush_all()
        mine = [("advisor_id", "in", (self.advisor | self.advisor2).ids)]
        rates = {
            advisor: (count, rate)
            for advisor, count, rate in Report._read_group(
                mine, ["advisor_id"], ["delivery_count:sum", "on_time_rate:avg"]
            )
        }
        self.assertEqual(rates[self.advisor][0], 3)
        self.assertAlmostEqual(rates[self.advisor][1], 200 / 3)
        self.assertEqual(rates[self.advisor2], (1, 100.0), "a delivery without a promise is not counted")
        [(store, count, on_time, late)] = Report._read_group(
            mine, ["company_id"], ["delivery_count:sum", "on_time_count:sum", "late_count:sum"]
        )
        self.assertEqual((store, count, on_time, late), (self.company, 4, 3, 1))
        late = Report.search([*mine, ("delivered_on_time", "=", False)])
        self.assertAlmostEqual(late.delay_hours, 0.5)
        # A store's advisors see their store's figures only.
        self.assertEqual(Report.with_user(self.other_advisor).search_count(mine), 0)
        self.assertEqual(Report.with_user(self.agent).search_count(mine), 4)
        action = self.env.ref("auto_crm.auto_crm_delivery_report_action")
        self.assertEqual(action.view_mode, "pivot,graph,list")
        menu = self.env.ref("auto_crm.auto_crm_delivery_report_menu")
        self.assertEqual(menu.parent_id, self.env.ref("auto_crm.auto_crm_menu_reporting"))

    # ------------------------------------------------------------------ the store's setting
    def test_margin_is_a_store_setting(self):
        admin = new_test_user(
            self.env,
            "crm_board_settings",
            groups="auto_crm.group_admin,base.group_system",
            company_id=self.company.id,
            company_ids=[(6, 0, self.all_companies)],
        )
        Settings = self.env["res.config.settings"].with_user(admin)
        self.assertEqual(Settings.create({}).promise_risk_minutes, 60)
        Settings.create({"promise_risk_minutes": 45}).execute()
        self.assertEqual(self.company.promise_risk_minutes, 45)
        self.assertEqual(self.other_company.promise_risk_minutes, 180)
        for value in (-5, 24 * 60 + 1):
            with (
                self.subTest(value=value),
                self.assertRaisesRegex(ValidationError, r"^At Risk before Promise \(minutes\): .* from 0 to 1440"),
            ):
                Settings.create({"promise_risk_minutes": value}).execute()
        with self.assertRaises(AccessError):
            self.env["res.config.settings"].with_user(self.manager).create({"promise_risk_minutes": 10})
        with self.assertRaises(AccessError):
            self.company.with_user(self.manager).write({"promise_risk_minutes": 10})
        self.assertEqual(self.company.promise_risk_minutes, 45)

    # ------------------------------------------------------------------ the cards
    def card_fields(self, model):
        arch = etree.fromstring(self.env[model].get_views([(False, "kanban")])["views"]["kanban"]["arch"])
        return arch, arch.xpath("//templates//field")

    def test_cards_show_no_seconds_and_no_empty_amount(self):
        for model in ("auto_crm.service.visit", "auto_crm.callback"):
            arch, card = self.card_fields(model)
            for node in card:
                field = self.env[model]._fields[node.get("name")]
                if field.type == "datetime":
                    with self.subTest(model=model, field=field.name):
                        self.assertIn("'show_seconds': False", node.get("options") or "")
        arch, card = self.card_fields("auto_crm.service.visit")
        self.assertEqual(arch.find("progressbar").get("field"), "lateness")
        by_name = {node.get("name"): node for node in card}
        self.assertEqual(by_name["amount_total"].get("invisible"), "not amount_total")
        for name in ("vehicle_id", "partner_id", "board_phone", "date_promised", "technician_id", "loyalty_tier_id"):
            self.assertIn(name, by_name)
        self.assertEqual(by_name["board_phone"].get("widget"), "phone")
        _arch, card = self.card_fields("auto_crm.callback")
        self.assertEqual({n.get("name"): n.get("widget") for n in card}["partner_mobile"], "phone")

    def test_callback_card_attempts_and_last_outcome(self):
        Callback = self.env["auto_crm.callback"]
        # two customers: a customer has one open callback per store
        other = self.env["res.partner"].create({"name": "王五", "auto_customer": True})
        first, second = Callback.create(
            [
                {"partner_id": self.customer.id, "max_attempts": 3, "user_id": self.agent.id},
                {"partner_id": other.id, "max_attempts": 5, "user_id": self.agent.id},
            ]
        )
        self.assertEqual((first.attempt_progress, first.last_outcome), ("0/3", False))
        Attempt = self.env["auto_crm.callback.attempt"].with_user(self.agent)
        with freeze_time(NOW):
            Attempt.create({"callback_id": first.id, "outcome": "no_answer"})
        with freeze_time(NOW + datetime.timedelta(hours=2)):
            Attempt.create({"callback_id": first.id, "outcome": "busy"})
            Attempt.create({"callback_id": second.id, "outcome": "no_answer"})
        both = Callback.with_user(self.agent).browse((first | second).ids)
        both.invalidate_recordset()
        self.env.flush_all()
        with self.assertQueryCount(2):  # at most the callbacks' rows and one query for both cards' attempts
            values = [(c.attempt_progress, c.last_outcome) for c in both]
        self.assertEqual(values, [("2/3", "busy"), ("1/5", "no_answer")])
