import itertools
import logging
import math

from odoo import SUPERUSER_ID, api
from odoo.tests import tagged
from odoo.tools import SQL

from ..lib.vin import with_check_digit
from . import test_loyalty_concurrency as single_store
from .group_loyalty_common import GROUP_PROGRAM, make_group, make_store_users
from .test_loyalty_concurrency import OPENING, POSTED, REDEEM, REFUSED, SETUP_CONTEXT

_logger = logging.getLogger(__name__)

ROUNDS = 6


@tagged("post_install", "-at_install")
class TestGroupLoyaltyConcurrency(single_store.TestLoyaltyConcurrency):
    """The race of ``TestLoyaltyConcurrency`` across the stores of a dealer group: one member of the
    group programme, one request at store A and one at store B, each by that store's advisor, in two
    real transactions (threads with their own registry cursors) released by a barrier, 6 rounds. The
    member's row is the one both lock and update, whichever store posts: no overdraft, no lost posting.

    The group G, its stores A, B, C, their users and the programme are committed for the threads to
    see, and deleted at the end with everything else the class created."""

    @classmethod
    def setUpClass(cls):
        # The single-store harness's set-up is not wanted: the base TransactionCase's only.
        super(single_store.TestLoyaltyConcurrency, cls).setUpClass()
        cls.created = {
            "users": [],
            "partners": [],
            "vehicles": [],
            "members": [],
            "visits": [],
            "program": [],
            "companies": [],
        }
        cls.addClassCleanup(cls._delete_created)
        cls.numbers = itertools.count(1)
        with cls.registry.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, SETUP_CONTEXT)
            group, stores = make_group(env, "Race")
            users = make_store_users(env, "race_gl", stores, group)
            program = env["auto_crm.loyalty.program"].create(dict(GROUP_PROGRAM, company_id=group.id))
            cls.group_id, cls.store_ids = group.id, stores.ids
            cls.program_id = program.id
            cls.earn_rate, cls.point_value, cls.expiry_months = program.earn_rate, program.point_value, 0
            cls.advisor_a_id, cls.advisor_b_id = users["advisor", "A"].id, users["advisor", "B"].id
            user_ids = [user.id for user in users.values()]
        cls.created["companies"] += [*cls.store_ids, cls.group_id]
        cls.created["users"] += user_ids
        cls.created["program"].append(cls.program_id)

    @classmethod
    def _delete_created(cls):
        result = super()._delete_created()
        companies = cls.created["companies"]
        with cls.registry.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, SETUP_CONTEXT)
            # The stores' numbering sequences (copied on the first number of each store) go with them.
            env["ir.sequence"].search([("company_id", "in", companies)]).unlink()
            for company_id in companies:  # the stores first, then the group
                company = env["res.company"].browse(company_id)
                partner = company.partner_id
                company.unlink()
                partner.unlink()
        return result

    # ------------------------------------------------------------------ fixture
    def _member(self, earn_visit=False, old_points=0):
        """A customer of the whole group with a car, a member card of the group programme holding OPENING
        points (posted at store A), a visit at reception worth 10,000 at store A and one at store B to
        redeem against and, when asked, a third at store A settled at settlement & delivery, ready to be
        delivered. Committed."""
        number = next(self.numbers)
        store_a, store_b = self.store_ids[0], self.store_ids[1]
        with self.registry.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, SETUP_CONTEXT)
            partner = env["res.partner"].create({"name": f"集团并发客户 {number}", "auto_customer": True})
            vehicle = env["auto_crm.vehicle"].create(
                {
                    "vin": with_check_digit(f"LSVAU2180N2{890000 + number:06d}"),
                    "partner_id": partner.id,
                    "company_id": False,
                }
            )
            member = env["auto_crm.loyalty.member"].create({"partner_id": partner.id, "program_id": self.program_id})
            env["auto_crm.loyalty.ledger"]._post(
                [
                    {
                        "member_id": member.id,
                        "kind": "adjust",
                        "points": OPENING,
                        "reason": "Opening",
                        "company_id": store_a,
                    }
                ]
            )
            stores = [store_a, store_b] + ([store_a] if earn_visit else [])
            visits = env["auto_crm.service.visit"].create(
                [
                    {
                        "partner_id": partner.id,
                        "vehicle_id": vehicle.id,
                        "company_id": store,
                        "mileage_in": 1000 * (i + 1),
                        "state": "reception",
                    }
                    for i, store in enumerate(stores)
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
        self.created["partners"].append(partner.id)
        self.created["vehicles"].append(vehicle.id)
        self.created["members"].append(member.id)
        self.created["visits"] += visits.ids
        return fixture

    def _stores_of(self, member_id):
        with self.registry.cursor() as cr:
            cr.execute(
                SQL("SELECT kind, company_id FROM auto_crm_loyalty_ledger WHERE member_id = %s ORDER BY id", member_id)
            )
            return cr.fetchall()

    def _rounds(self, name, play):
        tally = {}
        for round_number in range(ROUNDS):
            key = play(round_number)
            tally[key] = tally.get(key, 0) + 1
        _logger.info("group loyalty race %s, %s rounds: %s", name, ROUNDS, tally)
        return tally

    # ------------------------------------------------------------------ the tests
    def test_redeem_against_redeem(self):
        """Store A's and store B's advisors redeem 800 of the member's 1,000 points at once: one is
        posted, the other refused (after its serialization failure, by the retry); the balance is 200."""
        store_a, store_b = self.store_ids[0], self.store_ids[1]

        def play(round_number):
            fixture = self._member()
            member, (visit_a, visit_b) = fixture["member"], fixture["visits"]
            a, b = self._race(
                member,
                (self.advisor_a_id, self.redeem(visit_a)),
                (self.advisor_b_id, self.redeem(visit_b)),
                round_number,
            )
            self.assertIn(POSTED, (a[-1], b[-1]), f"one redemption is posted: {a}, {b}")
            winner, loser = (a, b) if a == [POSTED] else (b, a)
            self.assertEqual(winner, [POSTED], f"exactly one redemption is posted: {a}, {b}")
            how = self._check_loser(loser, REFUSED)
            entries = self._check_books(member, OPENING - REDEEM)
            self.assertEqual(entries["redeem"], [-REDEEM])
            store = store_a if winner is a else store_b
            self.assertEqual(self._stores_of(member), [("adjust", store_a), ("redeem", store)])
            return ("store A" if winner is a else "store B", how)

        tally = self._rounds("redeem at A vs redeem at B", play)
        self.assertEqual(sum(tally.values()), ROUNDS)

    def test_redeem_against_earning(self):
        """Store A's advisor delivers a paid visit while store B's redeems for the same customer: both are
        posted, one of them on its retry; the balance holds both. The delivery is the first request (in
        odd rounds the redemption starts STAGGER seconds later), so that each order is seen."""
        earned = math.floor(10000 * self.earn_rate + 1e-9)
        store_a, store_b = self.store_ids[0], self.store_ids[1]

        def play(round_number):
            fixture = self._member(earn_visit=True)
            member, (_visit_a, visit_b, to_deliver) = fixture["member"], fixture["visits"]
            earning, redemption = self._race(
                member,
                (self.advisor_a_id, self.deliver(to_deliver)),
                (self.advisor_b_id, self.redeem(visit_b)),
                round_number,
            )
            self.assertEqual(earning[-1], POSTED, f"the earning at A is posted: {earning}")
            self.assertEqual(redemption[-1], POSTED, f"the redemption at B is posted: {redemption}")
            winner = "redemption" if redemption == [POSTED] else "earning"
            how = self._check_loser(earning if winner == "redemption" else redemption, POSTED)
            entries = self._check_books(member, OPENING - REDEEM + earned)
            self.assertEqual((entries["redeem"], entries["earn"]), ([-REDEEM], [earned]))
            self.assertEqual(
                sorted(self._stores_of(member)), sorted([("adjust", store_a), ("redeem", store_b), ("earn", store_a)])
            )
            return (winner, how)

        tally = self._rounds("earning at A vs redeem at B", play)
        self.assertEqual(sum(tally.values()), ROUNDS)

    # The single-store races are the base class's; they are not run again here.
    test_redeem_against_adjustment = None
    test_redeem_against_expiry = None
