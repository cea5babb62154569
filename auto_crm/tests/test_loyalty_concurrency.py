import itertools
import logging
import math
import sys
import threading
import time
import traceback

from dateutil.relativedelta import relativedelta
from psycopg2 import errors

from odoo import SUPERUSER_ID, api
from odoo.exceptions import UserError
from odoo.tests import new_test_user, tagged
from odoo.tests.common import TransactionCase
from odoo.tools import SQL, mute_logger

from ..lib.vin import with_check_digit

_logger = logging.getLogger(__name__)

ROUNDS = 10
OPENING = 1000
REDEEM = 800
TAKE = -300  # the manager's adjustment
OLD_POINTS = 600  # of the opening balance, older than the programme keeps them (the expiry race)
SETUP_CONTEXT = {
    "tracking_disable": True,
    "mail_create_nolog": True,
    "mail_create_nosubscribe": True,
    "no_reset_password": True,
}

STAGGER = 0.05  # seconds of head start, in odd rounds
POSTED, REFUSED, SERIALIZATION = "posted", "refused", "serialization failure"


@tagged("post_install", "-at_install")
class TestLoyaltyConcurrency(TransactionCase):
    """Two real transactions post for one member at the same instant: two threads, each with its own
    cursor from the registry and its own environment, both holding their snapshot (they have read the
    balance) when a barrier releases them together. A request that fails with a serialization failure
    is rolled back and run once more in a fresh transaction, as Odoo's RPC layer does
    (``odoo.service.model.retrying``).

    The threads see committed data only: each round's customer, car, member and visits are created and
    committed in a cursor of their own, and everything the class created is deleted at the end (the
    ledger refuses unlink: its rows go with SQL). The test's own cursor writes nothing."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.created = {"users": [], "partners": [], "vehicles": [], "members": [], "visits": [], "program": []}
        cls.addClassCleanup(cls._delete_created)
        cls.numbers = itertools.count(1)
        with cls.registry.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, SETUP_CONTEXT)
            company = env.ref("base.main_company")
            common = {"company_id": company.id, "company_ids": [(6, 0, [company.id])]}
            users = [
                new_test_user(env, "crm_race_advisor", groups="auto_crm.group_advisor", name="Race Advisor", **common),
                new_test_user(
                    env, "crm_race_advisor2", groups="auto_crm.group_advisor", name="Race Advisor 2", **common
                ),
                new_test_user(env, "crm_race_manager", groups="auto_crm.group_manager", name="Race Manager", **common),
            ]
            Program = env["auto_crm.loyalty.program"]
            program = Program._for_company(company)
            if not program:
                program = Program.create(
                    {
                        "name": "Race Programme",
                        "company_id": company.id,
                        "earn_rate": 0.1,
                        "point_value": 1.0,
                        "expiry_months": 12,
                    }
                )
                cls.created["program"].append(program.id)
            cls.company_id, cls.program_id = company.id, program.id
            cls.earn_rate, cls.point_value, cls.expiry_months = (
                program.earn_rate,
                program.point_value,
                program.expiry_months,
            )
            cls.advisor_id, cls.advisor2_id, cls.manager_id = (user.id for user in users)
            # Committed at the end of the block: only then is there anything to clean.
        cls.created["users"] += [cls.advisor_id, cls.advisor2_id, cls.manager_id]

    @classmethod
    def _delete_created(cls):
        created = cls.created
        with cls.registry.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, SETUP_CONTEXT)
            members, visits, vehicles = created["members"], created["visits"], created["vehicles"]
            # The ledger refuses unlink on purpose, and a started visit is never deleted: SQL, for the test's
            # own rows only (tier history, visit lines and odometer readings follow by their foreign keys).
            cr.execute(SQL("DELETE FROM auto_crm_loyalty_ledger WHERE member_id = ANY(%s)", members))
            cr.execute(SQL("DELETE FROM auto_crm_service_visit WHERE id = ANY(%s)", visits))
            cr.execute(SQL("DELETE FROM auto_crm_loyalty_member WHERE id = ANY(%s)", members))
            for model, ids in (
                ("auto_crm.service.visit", visits),
                ("auto_crm.loyalty.member", members),
                ("auto_crm.vehicle", vehicles),
            ):
                cr.execute(SQL("DELETE FROM mail_message WHERE model = %s AND res_id = ANY(%s)", model, ids))
                cr.execute(SQL("DELETE FROM mail_followers WHERE res_model = %s AND res_id = ANY(%s)", model, ids))
            env["auto_crm.vehicle"].browse(vehicles).unlink()
            users = env["res.users"].browse(created["users"]).exists()
            partners = env["res.partner"].browse(created["partners"]) | users.partner_id
            users.unlink()
            partners.exists().unlink()
            env["auto_crm.loyalty.program"].browse(created["program"]).unlink()

    # ------------------------------------------------------------------ fixture
    def _member(self, earn_visit=False, old_points=0):
        """A new customer with a car and a member card holding OPENING points (``old_points`` of them
        older than the programme keeps them), two visits at reception worth 10,000 to redeem against
        and, when asked, a third settled at settlement & delivery, ready to be delivered. Committed."""
        number = next(self.numbers)
        with self.registry.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, SETUP_CONTEXT)
            partner = env["res.partner"].create({"name": f"并发客户 {number}", "auto_customer": True})
            vehicle = env["auto_crm.vehicle"].create(
                {
                    "vin": with_check_digit(f"LSVAU2180N2{880000 + number:06d}"),
                    "partner_id": partner.id,
                    "company_id": self.company_id,
                }
            )
            member = env["auto_crm.loyalty.member"].create({"partner_id": partner.id, "program_id": self.program_id})
            today = self.env.company._auto_crm_today()
            old = today - relativedelta(months=self.expiry_months, days=10)
            opening = [(old, old_points), (today, OPENING - old_points)]
            env["auto_crm.loyalty.ledger"]._post(
                [
                    {"member_id": member.id, "kind": "adjust", "points": points, "date": date, "reason": "Opening"}
                    for date, points in opening
                    if points
                ]
            )
            visits = env["auto_crm.service.visit"].create(
                [
                    {
                        "partner_id": partner.id,
                        "vehicle_id": vehicle.id,
                        "company_id": self.company_id,
                        "mileage_in": 1000 * (i + 1),
                        "state": "reception",
                    }
                    for i in range(3 if earn_visit else 2)
                ]
            )
            env["auto_crm.service.visit.line"].create(
                [
                    {"visit_id": visit.id, "line_type": "labour", "name": "Work", "unit_price": 10000, "quantity": 1}
                    for visit in visits
                ]
            )
            if earn_visit:
                delivered = visits[2]
                delivered.action_start_repair()
                delivered.action_request_inspection()
                delivered.action_inspection_pass()
                delivered.payment_method = "cash"
                delivered.action_settle()
            fixture = {"member": member.id, "visits": visits.ids}
        # Committed: from now on there is something to clean.
        self.created["partners"].append(partner.id)
        self.created["vehicles"].append(vehicle.id)
        self.created["members"].append(member.id)
        self.created["visits"] += visits.ids
        return fixture

    def _state(self, member_id):
        """What is committed: (stored balance, SUM of the ledger, {kind: [points...]}), read in a fresh cursor."""
        with self.registry.cursor() as cr:
            cr.execute(SQL("SELECT points_balance FROM auto_crm_loyalty_member WHERE id = %s", member_id))
            stored = cr.fetchone()[0]
            cr.execute(
                SQL("SELECT kind, points FROM auto_crm_loyalty_ledger WHERE member_id = %s ORDER BY id", member_id)
            )
            entries = {}
            for kind, points in cr.fetchall():
                entries.setdefault(kind, []).append(points)
        return stored, sum(sum(points) for points in entries.values()), entries

    # ------------------------------------------------------------------ the race
    def _request(self, uid, member_id, call, barrier, outcome, delay=0):
        """One request as the RPC layer runs it: a cursor, an environment, the call, commit. On a
        serialization failure: rollback, and the call once more in a fresh transaction. ``delay``: a
        head start given to the other request once both are released (its snapshot is already taken)."""
        for attempt in range(2):
            with self.registry.cursor() as cr:
                # The test runner holds the registries' lock while tests run: give the cursor its
                # transaction on this registry, so that the environment needs no registry lookup.
                cr.transaction = api.Transaction(self.registry)
                env = api.Environment(cr, uid, {})
                try:
                    # The snapshot: the balance the user sees on screen, before both are released.
                    seen = env["auto_crm.loyalty.member"].sudo().browse(member_id).points_balance
                    if not attempt:
                        outcome.append(seen)
                        barrier.wait()
                        time.sleep(delay)
                    call(env)
                    env.flush_all()
                    # a real second transaction of the race, on its own cursor: it must commit
                    cr.commit()  # pylint: disable=invalid-commit
                except errors.SerializationFailure:
                    cr.rollback()
                    outcome.append(SERIALIZATION)
                    continue
                except UserError as error:
                    cr.rollback()
                    outcome.append((REFUSED, str(error)))
                    return
                outcome.append(POSTED)
                return

    def _race(self, member_id, first, second, round_number=0):
        """Run two requests (uid, call) released together; their outcomes: [balance seen, then POSTED,
        (REFUSED, message) or SERIALIZATION followed by the retry's outcome]. In odd rounds the first
        gets a head start of STAGGER seconds, so that each side wins some rounds whatever their speeds;
        which one wins is never assumed."""
        barrier = threading.Barrier(2, timeout=30)
        outcomes = ([], [])
        crashes = []

        def run(request, outcome, delay):
            try:
                self._request(request[0], member_id, request[1], barrier, outcome, delay)
            except BaseException as error:  # reported by the main thread
                crashes.append(error)
                barrier.abort()

        # The loser's failed statement is logged by the cursor at ERROR: it is expected here.
        with mute_logger("odoo.sql_db"):
            threads = [
                threading.Thread(target=run, args=(request, outcome, delay))
                for request, outcome, delay in zip(
                    (first, second), outcomes, (0, STAGGER if round_number % 2 else 0), strict=True
                )
            ]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(20)
        if any(thread.is_alive() for thread in threads):
            frames = sys._current_frames()
            stacks = "\n".join("".join(traceback.format_stack(frames[t.ident])) for t in threads if t.is_alive())
            self.fail(f"a request hung:\n{stacks}")
        self.assertFalse(crashes, f"a request crashed: {crashes!r}")
        for outcome in outcomes:
            self.assertEqual(outcome[0], OPENING, "both requests saw the opening balance: they really raced")
        return [outcome[1:] for outcome in outcomes]

    def _check_loser(self, outcome, retried):
        """The loser of a conflict: a serialization failure, then the retry's outcome ``retried``
        (POSTED or REFUSED); or, had it started after the winner committed, ``retried`` at once."""
        shape = [o if isinstance(o, str) else o[0] for o in outcome]
        self.assertIn(shape, ([SERIALIZATION, retried], [retried]), f"the loser's outcome: {outcome}")
        if retried == REFUSED:
            # refused for the balance: by the redemption's own check of the points available (the
            # retry reads the winner's balance) or, had it passed it, by the ledger's
            message = outcome[-1][1]
            self.assertTrue("below zero" in message or "(Points Available)" in message, message)
        return shape[0]

    def _check_books(self, member_id, expected):
        stored, total, entries = self._state(member_id)
        self.assertGreaterEqual(stored, 0, "a balance never goes below zero")
        self.assertEqual(stored, total, f"the stored balance is the sum of the ledger: {entries}")
        self.assertEqual(stored, expected, f"no posting lost, none doubled: {entries}")
        return entries

    def _rounds(self, name, play):
        """ROUNDS rounds of ``play()``, which returns (winner, how the loser ended); logs the tally."""
        tally = {}
        for round_number in range(ROUNDS):
            key = play(round_number)
            tally[key] = tally.get(key, 0) + 1
        _logger.info("loyalty race %s, %s rounds: %s", name, ROUNDS, tally)
        return tally

    # ------------------------------------------------------------------ the calls
    def redeem(self, visit_id, points=REDEEM):
        return lambda env: env["auto_crm.service.visit"].browse(visit_id)._loyalty_redeem(points)

    def deliver(self, visit_id):
        return lambda env: env["auto_crm.service.visit"].browse(visit_id).action_deliver()

    def adjust(self, member_id, points=TAKE):
        return lambda env: env["auto_crm.loyalty.member"].browse(member_id).action_adjust(points, "Race")

    def expire(self):
        return lambda env: env["auto_crm.loyalty.ledger"]._post_expiry()

    # ------------------------------------------------------------------ the tests
    def test_redeem_against_redeem(self):
        """Two advisors redeem 800 of 1,000 points at once: one is posted, the other refused (after
        its serialization failure, by the retry, which sees the first redemption)."""

        def play(round_number):
            fixture = self._member()
            member, (visit_a, visit_b) = fixture["member"], fixture["visits"]
            a, b = self._race(
                member, (self.advisor_id, self.redeem(visit_a)), (self.advisor2_id, self.redeem(visit_b)), round_number
            )
            self.assertIn(POSTED, (a[-1], b[-1]), f"one redemption is posted: {a}, {b}")
            winner, loser = (a, b) if a == [POSTED] else (b, a)
            self.assertEqual(winner, [POSTED], f"exactly one redemption is posted: {a}, {b}")
            how = self._check_loser(loser, REFUSED)
            entries = self._check_books(member, OPENING - REDEEM)
            self.assertEqual(entries["redeem"], [-REDEEM])
            return ("first" if winner is a else "second", how)

        tally = self._rounds("redeem vs redeem", play)
        self.assertEqual(sum(tally.values()), ROUNDS)

    def test_redeem_against_earning(self):
        """An advisor redeems while another delivers a paid visit of the same customer: both are
        posted, one of them on its retry; the balance holds both."""
        earned = math.floor(10000 * self.earn_rate + 1e-9)

        def play(round_number):
            fixture = self._member(earn_visit=True)
            member, (visit_a, _visit_b, to_deliver) = fixture["member"], fixture["visits"]
            a, b = self._race(
                member,
                (self.advisor_id, self.redeem(visit_a)),
                (self.advisor2_id, self.deliver(to_deliver)),
                round_number,
            )
            self.assertEqual(a[-1], POSTED, f"the redemption is posted: {a}")
            self.assertEqual(b[-1], POSTED, f"the earning is posted: {b}")
            winner = "redemption" if a == [POSTED] else "earning"
            loser = b if winner == "redemption" else a
            how = self._check_loser(loser, POSTED)
            entries = self._check_books(member, OPENING - REDEEM + earned)
            self.assertEqual((entries["redeem"], entries["earn"]), ([-REDEEM], [earned]))
            return (winner, how)

        self._rounds("redeem vs earning", play)

    def test_redeem_against_adjustment(self):
        """An advisor redeems 800 while a manager takes 300 of 1,000: whichever commits first is
        posted, the other refused by its retry."""

        def play(round_number):
            fixture = self._member()
            member, visit = fixture["member"], fixture["visits"][0]
            a, b = self._race(
                member, (self.advisor_id, self.redeem(visit)), (self.manager_id, self.adjust(member)), round_number
            )
            if a == [POSTED]:
                winner, how = "redemption", self._check_loser(b, REFUSED)
                entries = self._check_books(member, OPENING - REDEEM)
                self.assertEqual((entries["redeem"], entries["adjust"]), ([-REDEEM], [OPENING]))
            else:
                self.assertEqual(b, [POSTED], f"one of them is posted: {a}, {b}")
                winner, how = "adjustment", self._check_loser(a, REFUSED)
                entries = self._check_books(member, OPENING + TAKE)
                self.assertEqual((entries.get("redeem"), entries["adjust"]), (None, [OPENING, TAKE]))
            return (winner, how)

        self._rounds("redeem vs adjustment", play)

    def test_redeem_against_expiry(self):
        """An advisor redeems 800 of 1,000 points, 600 of them old, while the nightly expiry runs:
        expiry first takes the 600 and the redemption is refused by its retry; redemption first uses
        the old points and the expiry (on its retry) finds nothing left to expire."""

        if not self.expiry_months:
            self.skipTest("the store's programme keeps points for ever")

        def play(round_number):
            fixture = self._member(old_points=OLD_POINTS)
            member, visit = fixture["member"], fixture["visits"][0]
            a, b = self._race(
                member, (self.advisor_id, self.redeem(visit)), (SUPERUSER_ID, self.expire()), round_number
            )
            self.assertEqual(b[-1], POSTED, f"the expiry runs to its end: {b}")
            if a == [POSTED]:
                winner, how = "redemption", self._check_loser(b, POSTED)
                entries = self._check_books(member, OPENING - REDEEM)
                self.assertEqual((entries["redeem"], entries.get("expire")), ([-REDEEM], None))
            else:
                self.assertEqual(b, [POSTED], f"one of them wins: {a}, {b}")
                winner, how = "expiry", self._check_loser(a, REFUSED)
                entries = self._check_books(member, OPENING - OLD_POINTS)
                self.assertEqual((entries.get("redeem"), entries["expire"]), (None, [-OLD_POINTS]))
            return (winner, how)

        self._rounds("redeem vs expiry", play)
