from unittest.mock import patch

import psycopg2
from freezegun import freeze_time

from odoo import Command, models
from odoo.exceptions import AccessError, UserError
from odoo.tests import Form, tagged, warmup
from odoo.tools import SQL, mute_logger

from odoo.addons.base.controllers.rpc import dumps

from .loyalty_common import LoyaltyCase
from .nightly_common import NightlyBulkMixin

#: An action that re-reads the current view: what a button answers when it has nothing to open.
SOFT_RELOAD = {"type": "ir.actions.client", "tag": "soft_reload"}

#: The loyalty models and the wizard, whose public methods anyone can call over RPC.
LOYALTY_MODELS = (
    "auto_crm.loyalty.program",
    "auto_crm.loyalty.tier",
    "auto_crm.loyalty.member",
    "auto_crm.loyalty.ledger",
    "auto_crm.loyalty.tier.history",
    "auto_crm.loyalty.points.wizard",
)

#: Queries of earning points for delivered visits of enrolled members, whatever the number of visits:
#: programmes, earlier entries, members, lock and balances, the entries, tier evaluation (one statement
#: per programme, by the store's day: its time zone, read once).
EARN_QUERY_BUDGET = 17
#: Queries of one nightly expiry and tier evaluation run (at most; the same whatever the number of
#: members): the run log's three (the job's advisory lock, the run created, then closed), per step the
#: programmes to work on, a savepoint and its release per programme, the programme, its store and the
#: store's address (its time zone) read, and per programme the expiry (the members who may lose points
#: locked, so that a concurrent posting makes the run retry, then one INSERT ... UPDATE) and the tiers
#: (the tiers read, then ONE statement that moves the members and records the changes).
LOYALTY_QUERY_BUDGET = 18


@tagged("post_install", "-at_install")
class TestLoyaltyPoints(LoyaltyCase):
    def test_delivery_earns_once_and_reopen_reverses_once(self):
        visit = self.deliver(1234)
        member = self.member_of()
        self.assertTrue(member.card_number.startswith("VIP"), "enrolled automatically with a card number")
        self.assertEqual(member.points_balance, 123)
        self.assertEqual(visit.loyalty_points_earned, 123)
        # Delivering again (a second hook call) earns nothing more.
        self.Ledger._post_earn(visit)
        self.assertEqual(member.points_balance, 123)

        visit.with_user(self.manager).action_reopen_delivery()
        self.assertEqual(member.points_balance, 0)
        reversal = self.Ledger.search([("visit_id", "=", visit.id), ("reversal_of_id", "!=", False)])
        self.assertEqual((reversal.kind, reversal.points), ("earn", -123))
        # A second re-open hook reverses nothing more.
        self.Ledger._post_reversal(visit, ["earn"], "again")
        self.assertEqual(member.points_balance, 0)

        visit.action_deliver()
        self.assertEqual(member.points_balance, 123)
        earns = self.Ledger.search([("visit_id", "=", visit.id), ("reversal_of_id", "=", False)])
        self.assertEqual(earns.mapped("visit_seq"), [2, 1])

    def test_warranty_and_unpaid_visits_earn_nothing(self):
        self.deliver(500, payment_method="warranty")
        self.assertFalse(self.Ledger.search([("partner_id", "=", self.customer.id)]))

    def test_database_refuses_double_earning_and_double_reversal(self):
        visit = self.deliver(1000)
        earn = self.Ledger.search([("visit_id", "=", visit.id)])
        values = {"member_id": earn.member_id.id, "kind": "earn", "points": 5, "visit_id": visit.id, "visit_seq": 1}
        with mute_logger("odoo.sql_db"), self.assertRaises(psycopg2.IntegrityError), self.env.cr.savepoint():
            self.Ledger.sudo().create(values)
            self.env.flush_all()
        earn._reverse("first")
        with mute_logger("odoo.sql_db"), self.assertRaises(psycopg2.IntegrityError), self.env.cr.savepoint():
            self.Ledger.sudo().create(dict(values, points=-100, reversal_of_id=earn.id, visit_seq=0))
            self.env.flush_all()

    def test_redemption_limits_and_settlement(self):
        member = self.Member.create({"partner_id": self.customer.id, "program_id": self.program.id})
        member.with_user(self.manager).action_adjust(100, "Opening balance from the old card system")
        visit = self.to_settlement(300)
        with self.assertRaises(UserError) as caught:
            visit.with_user(self.advisor)._loyalty_redeem(150)
        self.assertIn("Points", str(caught.exception))
        self.assertIn("100", str(caught.exception))
        self.assertEqual(member.points_balance, 100, "nothing half-written")

        wizard = Form(
            self.env["auto_crm.loyalty.points.wizard"]
            .with_user(self.advisor)
            .with_context(default_visit_id=visit.id, default_member_id=member.id, default_operation="redeem")
        )
        wizard.points = 60
        self.assertEqual(wizard.value, 60)
        wizard.save().action_confirm()
        self.assertEqual(member.points_balance, 40)
        self.assertEqual(visit.loyalty_redeemed_value, 60)
        self.assertEqual(visit.amount_due, 240)

        other = self.to_settlement(20)
        with self.assertRaises(UserError):
            other.with_user(self.advisor)._loyalty_redeem(30)  # worth more than the visit

        visit.action_settle()
        self.assertEqual(visit.amount_paid, 240)
        self.assertTrue(visit.is_settled)
        visit.action_deliver()
        self.assertEqual(visit.loyalty_points_earned, 24, "points are earned on the money paid, not on points")
        self.assertEqual(member.points_balance, 64)

    def test_cancel_returns_redeemed_points_once(self):
        member = self.Member.create({"partner_id": self.customer.id, "program_id": self.program.id})
        member.with_user(self.manager).action_adjust(80, "Referral reward")
        visit = self.make_visit(mileage_in=50000)
        self.add_line(visit, "labour", 200)
        visit.action_receive()
        visit.with_user(self.advisor)._loyalty_redeem(50)
        self.assertEqual(member.points_balance, 30)
        visit.cancel_reason = "Customer went to another garage"
        visit.with_user(self.advisor).action_cancel()
        self.assertEqual(member.points_balance, 80)
        visit.with_user(self.manager).action_reopen()
        visit.cancel_reason = "Again"
        visit.with_user(self.advisor).action_cancel()
        self.assertEqual(member.points_balance, 80, "a second cancel returns nothing more")
        with self.assertRaises(UserError):
            visit.with_user(self.advisor)._loyalty_redeem(10)

    def test_reopen_refused_when_points_already_spent(self):
        visit = self.deliver(1000)
        member = self.member_of()
        other = self.to_settlement(500)
        other.with_user(self.advisor)._loyalty_redeem(90)
        with self.assertRaises(UserError) as caught, self.env.cr.savepoint():
            visit.with_user(self.manager).action_reopen_delivery()
        self.env.invalidate_all()
        self.assertIn("below zero", str(caught.exception))
        self.assertEqual(visit.state, "followup", "the re-open is refused as a whole")
        self.assertEqual(member.points_balance, 10)

    def test_ledger_is_append_only(self):
        self.deliver(1000)
        entry = self.Ledger.search([("partner_id", "=", self.customer.id)])
        for user in (self.manager, self.dealer_admin):
            with self.subTest(user=user.login):
                with self.assertRaises(UserError):
                    entry.with_user(user).write({"points": 1000})
                with self.assertRaises(AccessError):
                    entry.with_user(user).unlink()
        with self.assertRaises(UserError) as caught:
            entry.sudo().write({"reason": "edited"})
        self.assertIn("Points Ledger", str(caught.exception))
        with self.assertRaises(UserError):
            entry.sudo().unlink()
        with self.assertRaises(UserError):
            self.Ledger.with_user(self.dealer_admin).create(
                {"member_id": entry.member_id.id, "kind": "adjust", "points": 5}
            )
        self.assertEqual(entry.points, 100)
        # A manager corrects by reversing.
        entry.with_user(self.manager).action_reverse()
        self.assertTrue(entry.is_reversed)
        self.assertEqual(entry.member_id.points_balance, 0)
        with self.assertRaises(UserError):
            entry.with_user(self.manager).action_reverse()

    def test_adjustments_only_by_managers_with_reason(self):
        member = self.Member.create({"partner_id": self.customer.id, "program_id": self.program.id})
        with self.assertRaises(UserError):
            member.with_user(self.advisor).action_adjust(10, "Gift")
        with self.assertRaises(UserError) as caught:
            member.with_user(self.manager).action_adjust(10, "  ")
        self.assertTrue(str(caught.exception).startswith("Reason"))
        member.with_user(self.manager).action_adjust(10, "Gift")
        with self.assertRaises(UserError):
            member.with_user(self.manager).action_adjust(-11, "Too much")
        member.with_user(self.manager).action_adjust(-10, "Gift given twice")
        self.assertEqual(member.points_balance, 0)

    def test_expiry_oldest_first_and_once(self):
        member = self.Member.create({"partner_id": self.customer.id, "program_id": self.program.id})
        manager_member = member.with_user(self.manager)
        with freeze_time("2024-01-10"):
            manager_member.action_adjust(100, "Old points")
        with freeze_time("2024-06-01"):
            self.Ledger._post_redeem(member, 30)
        with freeze_time("2025-03-01"):
            manager_member.action_adjust(50, "New points")
        with freeze_time("2025-02-01"):
            self.assertEqual(self.Ledger._post_expiry(), 1)
            self.assertEqual(self.Ledger._post_expiry(), 0, "safe to run twice")
        self.assertEqual(member.points_balance, 50)
        expired = self.Ledger.search([("member_id", "=", member.id), ("kind", "=", "expire")])
        self.assertEqual(expired.points, -70, "the 100 old points less the 30 already used")
        with freeze_time("2025-12-31"):
            self.Ledger._post_expiry()
        self.assertEqual(member.points_balance, 50, "the March points are not a year old yet")
        with freeze_time("2026-03-15"):
            self.Ledger._post_expiry()
        self.assertEqual(member.points_balance, 0)

    def test_tier_up_at_once_down_only_after_the_period(self):
        with freeze_time("2025-01-10"):
            visit = self.deliver(2500, when="2025-01-10 10:00:00")
            member = self.member_of()
            self.assertEqual(member.tier_id, self.gold, "upgraded as soon as the threshold is crossed")
            self.assertEqual(str(member.tier_review_date), "2026-01-10")
        history = member.tier_history_ids
        self.assertEqual(history.mapped("direction"), ["up"])
        self.assertIn("2,500", history.reason)
        # The billing is re-opened: the spend is gone, but the tier stays until the period ends.
        with freeze_time("2025-03-01"):
            visit.with_user(self.manager).action_reopen_delivery()
            self.env.ref("auto_crm.ir_cron_auto_crm_loyalty").method_direct_trigger()
        self.assertEqual(member.tier_id, self.gold)
        with freeze_time("2026-01-09"):
            self.Member._cron_loyalty_nightly()
        self.assertEqual(member.tier_id, self.gold)
        with freeze_time("2026-01-10"):
            self.Member._cron_loyalty_nightly()
        self.assertEqual(member.tier_id, self.silver)
        down = member.tier_history_ids.filtered(lambda h: h.direction == "down")
        self.assertEqual((down.old_tier_id, down.new_tier_id), (self.gold, self.silver))
        self.assertIn("qualification period ended", down.reason)
        with self.assertRaises(UserError):
            down.write({"reason": "x"})

    def test_kept_tier_is_requalified_without_history(self):
        with freeze_time("2025-01-10"):
            self.deliver(2500, when="2025-01-10 10:00:00")
        with freeze_time("2025-12-20"):
            self.deliver(2500, when="2025-12-20 10:00:00")
        member = self.member_of()
        with freeze_time("2026-01-10"):
            self.Member._cron_loyalty_nightly()
        self.assertEqual(member.tier_id, self.gold)
        self.assertEqual(str(member.tier_review_date), "2027-01-10")
        self.assertEqual(len(member.tier_history_ids), 1)

    def test_visit_shows_member_benefits(self):
        self.deliver(2500)
        visit = self.make_visit()
        self.assertEqual(visit.loyalty_tier_id, self.gold)
        self.assertIn("labour -5%", visit.loyalty_benefits)
        self.assertEqual(visit.loyalty_points_balance, 250)

    def test_access_and_companies(self):
        self.deliver(1000)
        member = self.member_of()
        self.assertEqual(member.with_user(self.agent).points_balance, 100)
        with self.assertRaises(AccessError):
            self.Member.with_user(self.agent).create({"partner_id": self.customer.id, "program_id": self.program.id})
        with self.assertRaises(AccessError):
            member.with_user(self.other_advisor).read(["card_number"])
        self.assertFalse(self.Ledger.with_user(self.other_advisor).search([("member_id", "=", member.id)]))
        with self.assertRaises(AccessError):
            self.Member.with_user(self.group_user).search([])
        with self.assertRaises(AccessError):
            self.program.with_user(self.manager).write({"earn_rate": 5})
        self.program.with_user(self.dealer_admin).write({"earn_rate": 0.2})


@tagged("post_install", "-at_install")
class TestLoyaltyPosting(LoyaltyCase):
    """The ledger posts; the visit's and the member's figures follow its entries by dependency."""

    def settled_visits(self, count, company=None, start=0, amount=1000):
        """``count`` visits of as many new customers, settled at settlement & delivery, not delivered yet."""
        company = company or self.company
        partners = self.env["res.partner"].create(
            [{"name": f"积分客户 {start + i}", "auto_customer": True} for i in range(count)]
        )
        vehicles = self.env["auto_crm.vehicle"].create(
            [
                {"vin": self.make_vin(720000 + start + i), "partner_id": partner.id, "company_id": company.id}
                for i, partner in enumerate(partners)
            ]
        )
        visits = (
            self.env["auto_crm.service.visit"]
            .with_company(company)
            .create(
                [
                    {
                        "partner_id": vehicle.partner_id.id,
                        "vehicle_id": vehicle.id,
                        "company_id": company.id,
                        "mileage_in": 1000,
                        "state": "reception",
                    }
                    for vehicle in vehicles
                ]
            )
        )
        for visit in visits:
            self.add_line(visit, "labour", amount)
        visits.action_start_repair()
        visits.action_request_inspection()
        visits.action_inspection_pass()
        visits.payment_method = "cash"
        visits.action_settle()
        return visits

    def test_posting_is_private_and_buttons_return_no_records(self):
        public = {name for name in dir(type(self.Ledger)) if not name.startswith("_")}
        self.assertFalse({name for name in public if "post" in name or "redeem" in name or "earn" in name})
        member = self.Member.create({"partner_id": self.customer.id, "program_id": self.program.id})
        # An action, not None: over XML-RPC None "cannot marshal" either, after the posting is committed.
        self.assertEqual(member.with_user(self.manager).action_adjust(10, "Gift"), SOFT_RELOAD)
        entry = member.ledger_ids
        self.assertEqual(entry.with_user(self.manager).action_reverse(), SOFT_RELOAD)
        self.assertTrue(entry.is_reversed)

    def test_every_public_method_answers_what_xml_rpc_can_send(self):
        """Every public method of the loyalty models and the wizard (callable over RPC) answers an action
        or True, never a recordset nor None: XML-RPC cannot marshal those, and would answer an error
        after committing the posting, so that the client's retry posts twice."""
        member = self.Member.create({"partner_id": self.customer.id, "program_id": self.program.id})
        member.with_user(self.manager).action_adjust(100, "Opening balance")
        visit = self.to_settlement(300)
        Wizard = self.env["auto_crm.loyalty.points.wizard"]

        def wizard(operation, **vals):
            return Wizard.with_user(self.advisor if operation == "redeem" else self.manager).create(
                dict(vals, member_id=member.id, operation=operation)
            )

        # (model, method): [(user, records, arguments)], every public method of the add-on's classes.
        calls = {
            ("auto_crm.loyalty.program", "action_view_members"): [(self.manager, self.program, ())],
            ("auto_crm.loyalty.program", "action_run_nightly"): [(self.dealer_admin, self.program, ())],
            ("auto_crm.loyalty.member", "action_adjust"): [(self.manager, member, (5, "Gift"))],
            ("auto_crm.loyalty.member", "action_open_adjust"): [(self.manager, member, ())],
            ("auto_crm.loyalty.member", "action_view_ledger"): [(self.advisor, member, ())],
            ("auto_crm.loyalty.ledger", "action_reverse"): [(self.manager, lambda: member.ledger_ids[:1], ())],
            ("auto_crm.loyalty.points.wizard", "action_confirm"): [
                (self.advisor, lambda: wizard("redeem", visit_id=visit.id, points=20), ()),
                (self.manager, lambda: wizard("adjust", points=-5, reason="Correction"), ()),
            ],
        }
        public = set()
        for model in LOYALTY_MODELS:
            for cls in type(self.env[model]).__mro__:
                if cls.__module__.startswith("odoo.addons.auto_crm."):
                    public |= {
                        (model, name)
                        for name, value in vars(cls).items()
                        if callable(value) and not name.startswith("_") and not hasattr(models.BaseModel, name)
                    }
        self.assertEqual(public, set(calls), "a public method without a call here: add it")
        for (model, name), runs in calls.items():
            for user, records, args in runs:
                with self.subTest(method=f"{model}.{name}", user=user.login):
                    records = records() if callable(records) else records
                    result = getattr(records.with_user(user), name)(*args)
                    self.assertNotIsInstance(result, models.BaseModel)
                    self.assertTrue(result is True or (isinstance(result, dict) and result.get("type")), result)
                    dumps((result,))  # what the XML-RPC endpoint does with the answer
        # Opening 100, the gift of 5 reversed, 20 redeemed, 5 taken back.
        self.assertEqual(member.points_balance, 100 + 5 - 5 - 20 - 5)
        self.assertEqual(visit.loyalty_points_redeemed, 20)

    def test_balance_is_written_by_the_ledger_only(self):
        """The stored balance moves only with a ledger entry: nobody writes it, the administrators and
        sudo included, and it always equals the sum of the entries."""
        member = self.Member.create({"partner_id": self.customer.id, "program_id": self.program.id})
        member.with_user(self.manager).action_adjust(100, "Opening balance")
        admin = self.env.ref("base.user_admin")
        for writer in (self.manager, self.dealer_admin, admin):
            with self.subTest(user=writer.login), self.assertRaises(UserError) as caught:
                member.with_user(writer).write({"points_balance": 5000})
            self.assertTrue(str(caught.exception).startswith("Points"))
        with self.assertRaises(UserError):
            member.sudo().write({"points_balance": 5000, "active": True})
        other, third = self.env["res.partner"].create(
            [{"name": "李四", "auto_customer": True}, {"name": "王五", "auto_customer": True}]
        )
        for creator in (self.dealer_admin.id, admin.id, None):
            Member = self.Member.with_user(creator) if creator else self.Member.sudo()
            with self.subTest(creator=creator), self.assertRaises(UserError):
                Member.create({"partner_id": other.id, "program_id": self.program.id, "points_balance": 5000})
        copied = member.copy({"partner_id": third.id})
        self.assertEqual(copied.points_balance, 0, "a copied card holds no points")
        self.env.invalidate_all()
        self.assertEqual(member.points_balance, 100)
        self.env.cr.execute(SQL("SELECT SUM(points) FROM auto_crm_loyalty_ledger WHERE member_id = %s", member.id))
        self.assertEqual(self.env.cr.fetchone()[0], 100)

    def test_visit_figures_follow_the_ledger(self):
        member = self.Member.create({"partner_id": self.customer.id, "program_id": self.program.id})
        member.with_user(self.manager).action_adjust(100, "Opening balance")
        visit = self.to_settlement(300)
        # Read (and cache) every figure first: posting must refresh them without anyone invalidating.
        self.assertEqual(
            (visit.loyalty_points_balance, visit.loyalty_points_redeemed, visit.loyalty_redeemed_value),
            (100, 0, 0),
        )
        self.assertEqual((visit.amount_due, visit.is_settled, member.points_balance), (300, False, 100))
        entry = visit.with_user(self.advisor)._loyalty_redeem(60)
        self.assertEqual(visit.loyalty_ledger_ids, entry)
        self.assertEqual(
            (visit.loyalty_points_balance, visit.loyalty_points_redeemed, visit.loyalty_redeemed_value),
            (40, 60, 60),
        )
        self.assertEqual((visit.amount_due, member.points_balance), (240, 40))
        visit.amount_paid = 240
        self.assertTrue(visit.is_settled)
        visit.action_deliver()
        self.assertEqual((visit.loyalty_points_earned, visit.loyalty_points_balance), (24, 64))
        visit.with_user(self.manager).action_reopen_delivery()
        self.assertEqual((visit.loyalty_points_earned, visit.loyalty_points_balance), (0, 40))
        self.assertFalse(entry.is_reversed)
        visit.cancel_reason = "Customer changed their mind"
        visit.with_user(self.advisor).action_cancel()
        self.assertTrue(entry.is_reversed)
        self.assertEqual(
            (visit.loyalty_points_redeemed, visit.loyalty_redeemed_value, visit.amount_due, member.points_balance),
            (0, 0, 300, 100),
        )

    def test_one_posting_serves_visits_of_two_stores(self):
        Program = self.env["auto_crm.loyalty.program"]
        other_program = Program.create(
            {"name": "Second Store Programme", "company_id": self.other_company.id, "earn_rate": 0.5}
        )
        here = self.settled_visits(2)
        there = self.settled_visits(1, company=self.other_company, start=10)
        searches = []
        search_fetch = type(Program).search_fetch

        def counted_search_fetch(model, domain, *args, **kwargs):
            searches.append(domain)
            return search_fetch(model, domain, *args, **kwargs)

        with patch.object(type(Program), "search_fetch", counted_search_fetch):
            entries = self.Ledger._post_earn(here | there)
        self.assertEqual(len(searches), 1, f"the programmes are looked up once, not per visit: {searches}")
        self.assertEqual(len(entries), 3)
        self.assertEqual(entries.filtered(lambda e: e.visit_id in here).program_id, self.program)
        self.assertEqual(entries.filtered(lambda e: e.visit_id in there).program_id, other_program)
        self.assertEqual(sorted(entries.mapped("points")), [100, 100, 500])
        self.assertEqual(len(entries.member_id), 3, "each customer enrolled in their store's programme")

    def _earning_queries(self, count):
        self.program.tier_basis = "points"
        visits = self.settled_visits(count, start=100, amount=25000)
        self.Member.create([{"partner_id": partner.id, "program_id": self.program.id} for partner in visits.partner_id])
        self.env.flush_all()
        self.env.invalidate_all()
        with self.assertQueryCount(EARN_QUERY_BUDGET):
            self.Ledger._post_earn(visits)
        self.assertEqual(sum(visits.mapped("loyalty_points_earned")), 2500 * count)
        self.assertEqual(set(visits.loyalty_ledger_ids.member_id.mapped("tier_id")), {self.gold})

    @warmup
    def test_earning_queries_3_visits(self):
        self._earning_queries(3)

    @warmup
    def test_earning_queries_12_visits(self):
        self._earning_queries(12)


@tagged("post_install", "-at_install")
class TestLoyaltyNightly(NightlyBulkMixin, LoyaltyCase):
    """The nightly tier evaluation: one statement per programme moves every member by its own case."""

    def paid(self, partner, amount, when):
        """A delivered visit paid in cash, inserted in SQL: spend for the tiers without an earning."""
        vehicle = partner.auto_vehicle_ids[:1] or self.env["auto_crm.vehicle"].create(
            {"vin": self.make_vin(740000 + partner.id), "partner_id": partner.id}
        )
        self.env.flush_all()
        self.env.cr.execute(
            """
            INSERT INTO auto_crm_service_visit (name, company_id, partner_id, vehicle_id, state, visit_type,
                        date_appointment, date_reception, date_delivered, amount_total, amount_paid, payment_method)
            VALUES (%s, %s, %s, %s, 'followup', 'maintenance', %s, %s, %s, %s, %s, 'cash')
            """,
            [f"NIGHT-{partner.id}-{when}", self.company.id, partner.id, vehicle.id, when, when, when, amount, amount],
        )

    def member_in(self, name, tier, review, spend):
        partner = self.env["res.partner"].create({"name": name, "auto_customer": True})
        member = self.Member.create({"partner_id": partner.id, "program_id": self.program.id})
        if spend:
            self.paid(partner, spend, "2026-03-01 10:00:00")
        self.env.flush_all()
        self.env.cr.execute(
            "UPDATE auto_crm_loyalty_member SET tier_id = %s, tier_date = '2025-06-01', tier_review_date = %s "
            "WHERE id = %s",
            [tier.id or None, review, member.id],
        )
        return member

    def test_every_member_moves_by_its_own_case(self):
        cases = {
            # name: (tier, review date, spend over the 12 months) -> (tier, tier since, review, direction)
            "no tier yet": ((None, None, 2500), ("gold", "2026-06-15", "2027-06-15", "up")),
            "period over, spent little": (("gold", "2026-06-01", 100), ("silver", "2026-06-15", "2027-06-15", "down")),
            "period running, spent nothing": (("gold", "2026-12-01", 0), ("gold", "2025-06-01", "2026-12-01", None)),
            "spent a lot": (("silver", "2026-12-01", 7000), ("platinum", "2026-06-15", "2027-06-15", "up")),
            "requalified": (("gold", "2026-06-01", 2500), ("gold", "2025-06-01", "2027-06-15", None)),
            "period running, qualifies": (("gold", "2026-12-01", 2500), ("gold", "2025-06-01", "2026-12-01", None)),
            "no review date, nothing spent": (("gold", None, 0), ("silver", "2026-06-15", "2027-06-15", "down")),
            "too old to count": (("platinum", "2026-06-15", 0), ("silver", "2026-06-15", "2027-06-15", "down")),
        }
        tiers = {"silver": self.silver, "gold": self.gold, "platinum": self.platinum, None: self.Member.tier_id}
        members = {
            name: self.member_in(name, tiers[tier], review, spend)
            for name, ((tier, review, spend), _expected) in cases.items()
        }
        archived = self.member_in("archived", tiers[None], None, 2500)
        archived.active = False
        # A visit more than 12 months old does not count.
        self.paid(members["too old to count"].partner_id, 9000, "2025-06-01 10:00:00")
        with freeze_time("2026-06-15 10:00:00"):
            self.assertTrue(self.Member._cron_loyalty_nightly())
        for name, (_setup, (tier, since, review, direction)) in cases.items():
            member = members[name]
            with self.subTest(member=name):
                self.assertEqual(
                    (member.tier_id, str(member.tier_date), str(member.tier_review_date)), (tiers[tier], since, review)
                )
                history = member.tier_history_ids
                self.assertEqual(history.mapped("direction"), [direction] if direction else [])
        self.assertFalse(archived.tier_id, "an archived member is not evaluated")
        up = members["no tier yet"].tier_history_ids
        self.assertEqual(
            (up.old_tier_id, up.new_tier_id, up.metric, str(up.date)),
            (self.Member.tier_id, self.gold, 2500, "2026-06-15"),
        )
        self.assertEqual(up.reason, "Paid spend over 12 months: 2,500; T-Gold from 2,000")
        self.assertEqual((up.partner_id, up.company_id), (members["no tier yet"].partner_id, self.company))
        self.assertEqual((up.create_uid, up.write_uid), (self.env.user, self.env.user))
        down = members["period over, spent little"].tier_history_ids
        self.assertEqual(down.reason, "Paid spend over 12 months: 100; T-Silver from 10 (qualification period ended)")
        self.assertEqual(members["spent a lot"].write_uid, self.env.user)
        # The visit shows the new tier at once (nothing stale in the cache).
        self.assertEqual(members["spent a lot"].tier_benefits, self.platinum._benefits_text())

        # Run again the same day: nothing more moves.
        with freeze_time("2026-06-15 10:00:00"):
            self.Member._cron_loyalty_nightly()
        History = self.env["auto_crm.loyalty.tier.history"]
        self.assertEqual(History.search_count([("member_id", "in", [m.id for m in members.values()])]), 5)

    def test_points_basis(self):
        self.program.tier_basis = "points"
        with freeze_time("2026-03-01 10:00:00"):
            self.deliver(25000, when="2026-03-01 10:00:00")  # 2,500 points
        member = self.member_of()
        self.env.flush_all()
        self.env.cr.execute(
            "UPDATE auto_crm_loyalty_member SET tier_id = %s WHERE id = %s", [self.silver.id, member.id]
        )
        self.env.invalidate_all()
        with freeze_time("2026-06-15 10:00:00"):
            self.Member._cron_loyalty_nightly()
        self.assertEqual(member.tier_id, self.gold)
        self.assertEqual(member.tier_history_ids[:1].reason, "Points earned over 12 months: 2,500; T-Gold from 2,000")

    def test_one_bad_programme_does_not_stop_the_run(self):
        other_program = self.env["auto_crm.loyalty.program"].create(
            {
                "name": "Second Store Programme",
                "company_id": self.other_company.id,
                "tier_basis": "points",
                "tier_ids": [Command.create({"name": "O-Basic", "threshold": 0})],
            }
        )
        partner = self.env["res.partner"].create({"name": "两店客户", "auto_customer": True})
        here = self.Member.create({"partner_id": partner.id, "program_id": self.program.id})
        there = self.Member.create({"partner_id": partner.id, "program_id": other_program.id})
        self.env.flush_all()
        self.env.cr.execute("UPDATE auto_crm_loyalty_member SET tier_id = NULL WHERE id IN %s", [(here.id, there.id)])
        self.env.invalidate_all()
        # A broken customisation: the spend of the main store's programme cannot be read.
        self.env.cr.execute("ALTER TABLE auto_crm_service_visit RENAME COLUMN amount_paid TO amount_paid_gone")
        try:
            with mute_logger("odoo.sql_db", "odoo.addons.auto_crm.models.auto_crm_job_run"):
                self.assertFalse(self.Member._cron_loyalty_nightly())
        finally:
            self.env.cr.execute("ALTER TABLE auto_crm_service_visit RENAME COLUMN amount_paid_gone TO amount_paid")
        run = self.program.loyalty_run_id
        self.assertEqual(run.state, "failed")
        failure = run.line_ids.filtered(lambda line: line.state == "failed")
        self.assertEqual((failure.res_model, failure.res_id), ("auto_crm.loyalty.program", self.program.id))
        self.assertIn("amount_paid", failure.message)
        self.assertFalse(here.tier_id, "the failing programme's work is rolled back")
        self.assertEqual(there.tier_id.name, "O-Basic", "the other programme ran")

    def _evaluate_fresh_members(self, count):
        """Evaluate ``count`` fresh members twice (the second run moves nobody); the queries of both."""
        partner_ids = self.bulk_customers(count, self.program)
        History = self.env["auto_crm.loyalty.tier.history"]
        queries = []
        for round_, changes in (("first run", count), ("nothing changed", 0)):
            with self.subTest(members=count, run=round_):
                before = History.search_count([("partner_id", "in", partner_ids)])
                queries.append(self.count_queries(LOYALTY_QUERY_BUDGET, self.Member._cron_loyalty_nightly))
                self.assertEqual(self.program.loyalty_run_id.state, "done")
                self.assertEqual(History.search_count([("partner_id", "in", partner_ids)]) - before, changes)
        self.env.cr.execute(
            "SELECT tier_id, COUNT(*) FROM auto_crm_loyalty_member WHERE partner_id = ANY(%s) GROUP BY 1 ORDER BY 1",
            [partner_ids],
        )
        visited = len([pid for pid in partner_ids if pid % 3 == 0])
        expected = [(self.silver.id, count - visited), (self.gold.id, visited)]  # one visit of 2,500
        self.assertEqual(self.env.cr.fetchall(), sorted(row for row in expected if row[1]))
        return queries

    @warmup
    def test_query_budget_10_and_6000_members(self):
        """The same queries for 10 fresh members as for 6,000 (bulk-inserted in SQL)."""
        self.Member._cron_loyalty_nightly()  # the programmes and their tiers read once
        small = self._evaluate_fresh_members(10)
        big = self._evaluate_fresh_members(6000)
        if self.warm:
            self.assertEqual(small, big, "queries at 10 and at 6,000 members")
            self.assertEqual(small[0], small[1], "queries when every member moves and when none does")
