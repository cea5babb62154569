from unittest.mock import patch

from freezegun import freeze_time

from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.tests import tagged

from .group_loyalty_common import GROUP_PROGRAM, GroupLoyaltyCase


@tagged("post_install", "-at_install")
class TestGroupLoyalty(GroupLoyaltyCase):
    @freeze_time("2026-03-02 10:00:00")
    def test_earn_at_a_redeem_at_b_one_member_one_ledger(self):
        visit_a = self.deliver_at(self.store_a, 1234)  # 123 points
        member = self.group_member()
        self.assertEqual(len(member), 1)
        self.assertEqual(member.points_balance, 123)
        self.assertEqual(member.company_id, self.group, "a customer of the whole group: the group is its home")
        visit_b = self.visit_at(self.store_b, 500)
        self.assertEqual(visit_b.loyalty_member_id, member, "store B sees the member of the group programme")
        self.assertEqual(visit_b.loyalty_points_balance, 123)
        visit_b.with_user(self.users["advisor", "B"])._loyalty_redeem(100)
        self.assertEqual(member.points_balance, 23)
        self.assertEqual(len(self.group_member()), 1, "still one member")
        lines = member.ledger_ids.sorted("id")
        self.assertEqual(
            [(line.kind, line.points, line.company_id, line.visit_id) for line in lines],
            [("earn", 123, self.store_a, visit_a), ("redeem", -100, self.store_b, visit_b)],
        )
        # Each store's figures stay reportable: points by store of the line.
        by_store = dict(self.Ledger._read_group([("member_id", "=", member.id)], ["company_id"], ["points:sum"]))
        self.assertEqual(by_store, {self.store_a: 123, self.store_b: -100})
        # Store C earns on the same card; a redemption above the balance is refused at C.
        visit_c = self.deliver_at(self.store_c, 300)
        self.assertEqual(member.points_balance, 53)
        self.assertEqual(visit_c.loyalty_ledger_ids.company_id, self.store_c)
        visit_c2 = self.visit_at(self.store_c, 1000)
        with self.assertRefused(UserError, "Points Available"):
            visit_c2.with_user(self.users["advisor", "C"])._loyalty_redeem(54)
        self.assertEqual(member.points_balance, 53)
        self.assertEqual(member.points_balance, sum(member.ledger_ids.mapped("points")))

    @freeze_time("2026-03-02 10:00:00")
    def test_home_store_follows_the_customer(self):
        customer_a = self.env["res.partner"].create(
            {"name": "A 店客户", "auto_customer": True, "company_id": self.store_a.id}
        )
        car = self.env["auto_crm.vehicle"].create(
            {"vin": self.make_vin(777002), "partner_id": customer_a.id, "company_id": self.store_a.id}
        )
        self.deliver_at(self.store_a, 1000, partner=customer_a, vehicle=car)
        member = self.group_member(customer_a)
        self.assertEqual((member.company_id, member.points_balance), (self.store_a, 100))
        # Transferred to B within the group: nothing moves, the home store follows.
        moved = member._transfer_to_company(self.store_b, "Moved house")
        self.assertEqual(moved, {member: member})
        self.assertEqual(len(member.ledger_ids), 1, "no line is written within a group programme")
        customer_a.company_id = self.store_b
        self.assertEqual((member.company_id, member.points_balance), (self.store_b, 100))

    def test_store_belongs_to_one_active_programme(self):
        Program = self.env["auto_crm.loyalty.program"]
        with self.assertRefused(ValidationError, "^Group Programme: the store .*Store A would belong to two"):
            Program.create({"name": "A's own", "company_id": self.store_a.id})
        with self.assertRefused(ValidationError, "^Group Programme: .* has no stores below it"):
            Program.create({"name": "Lonely", "company_id": self.other_company.id, "is_group_program": True})
        # Archive the group's: store A may run its own; the group's cannot come back while A's is active.
        self.group_program.active = False
        own = Program.create({"name": "A's own", "company_id": self.store_a.id})
        self.assertEqual(Program._for_company(self.store_a), own)
        self.assertFalse(Program._for_company(self.store_b))
        with self.assertRefused(ValidationError, "would belong to two active programmes"):
            self.group_program.active = True
        own.active = False
        self.group_program.active = True
        self.assertEqual(Program._for_company(self.store_b), self.group_program)
        # A programme with members keeps its scope.
        self.deliver_at(self.store_a, 100)
        with self.assertRefused(UserError, "^Group Programme: a programme with members keeps"):
            self.group_program.is_group_program = False

    @freeze_time("2026-03-02 10:00:00")
    def test_store_users_read_the_group_members_but_change_only_their_own(self):
        self.deliver_at(self.store_a, 1000)
        member = self.group_member()  # home: the group
        customer_a = self.env["res.partner"].create(
            {"name": "A 店客户", "auto_customer": True, "company_id": self.store_a.id}
        )
        member_a = self.Member.create({"partner_id": customer_a.id, "program_id": self.group_program.id})
        self.assertEqual(member_a.company_id, self.store_a)
        for letter in "ABC":
            for role in ("advisor", "manager", "admin"):
                user = self.users[role, letter]
                with self.subTest(user=user.login):
                    Member = self.Member.with_user(user)
                    self.assertEqual(Member.search([("id", "in", (member | member_a).ids)]), member | member_a)
                    self.assertEqual(member.with_user(user).points_balance, 100)
                    lines = self.Ledger.with_user(user).search([("member_id", "=", member.id)])
                    self.assertEqual(lines, member.ledger_ids, "the member's statement, every store's lines")
                    self.assertEqual(
                        self.env["auto_crm.loyalty.program"]
                        .with_user(user)
                        .search([("id", "=", self.group_program.id)]),
                        self.group_program,
                    )
                    # Nobody of a store edits the group's member, nor another store's member.
                    if role != "advisor" or letter != "A":
                        targets = member | member_a if letter != "A" else member
                        for target in targets:
                            with self.assertRaises(AccessError):
                                target.with_user(user).write({"active": False})
                    if role == "manager":
                        with self.assertRaises(AccessError):
                            member.with_user(user).action_adjust(5, "Goodwill")
                    if role == "admin":
                        with self.assertRaises(AccessError):
                            self.group_program.with_user(user).write({"earn_rate": 5})
        # A store's manager adjusts the members of the store; the line is the store's.
        member_a.with_user(self.users["manager", "A"]).action_adjust(5, "Goodwill")
        self.assertEqual(member_a.ledger_ids.company_id, self.store_a)
        # The group manager changes the group's members; a store outside the group sees nothing.
        member.with_user(self.users["group_manager"]).action_adjust(7, "Goodwill")
        self.assertEqual(member.points_balance, 107)
        self.assertFalse(self.Member.with_user(self.other_advisor).search([("id", "in", (member | member_a).ids)]))
        self.assertFalse(self.Ledger.with_user(self.other_advisor).search([("member_id", "=", member.id)]))
        # The ledger is the add-on's: no store user posts or changes a line by hand.
        line = member.ledger_ids[:1]
        for user in (self.users["advisor", "B"], self.users["admin", "B"], self.users["group_manager"]):
            with self.subTest(user=user.login), self.assertRaises(UserError):
                line.with_user(user).write({"points": 999})
            with self.assertRaises(UserError):
                self.Ledger.with_user(user).create(
                    {"member_id": member.id, "kind": "adjust", "points": 5, "company_id": self.store_b.id}
                )

    @freeze_time("2026-03-02 10:00:00")
    def test_tiers_count_the_money_paid_at_every_store(self):
        self.group_program.write(
            {
                "tier_ids": [
                    (0, 0, {"name": "G-Silver", "threshold": 10}),
                    (0, 0, {"name": "G-Gold", "threshold": 2000}),
                ]
            }
        )
        self.deliver_at(self.store_a, 1500)
        member = self.group_member()
        self.assertEqual(member.tier_id.name, "G-Silver")
        self.deliver_at(self.store_b, 600)  # 2,100 paid at A and B
        self.assertEqual(member.tier_id.name, "G-Gold")
        # Every store of the group reads the member's tier changes; a store outside the group none.
        History = self.env["auto_crm.loyalty.tier.history"]
        changes = History.search([("member_id", "=", member.id)])
        self.assertTrue(changes)
        self.assertEqual(History.with_user(self.users["advisor", "C"]).search([("member_id", "=", member.id)]), changes)
        self.assertFalse(History.with_user(self.other_advisor).search([("member_id", "=", member.id)]))


@tagged("post_install", "-at_install")
class TestLoyaltyTransfer(GroupLoyaltyCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        Program = cls.env["auto_crm.loyalty.program"]
        cls.store_d, cls.store_e, cls.store_f = cls.env["res.company"].create(
            [{"name": "Store D"}, {"name": "Store E"}, {"name": "Store F"}]
        )
        settings = dict(GROUP_PROGRAM, is_group_program=False)
        cls.program_d = Program.create(dict(settings, name="D Programme", company_id=cls.store_d.id))
        cls.program_e = Program.create(dict(settings, name="E Programme", company_id=cls.store_e.id, auto_enroll=False))
        cls.customer_d = cls.env["res.partner"].create({"name": "D 店客户", "auto_customer": True})
        cls.member_d = cls.Member.create({"partner_id": cls.customer_d.id, "program_id": cls.program_d.id})
        cls.Ledger._post(
            [
                {"member_id": cls.member_d.id, "kind": "adjust", "points": 200, "reason": "Opening"},
                {"member_id": cls.member_d.id, "kind": "adjust", "points": -50, "reason": "Used"},
            ]
        )

    def test_points_follow_the_customer_to_another_store(self):
        before = [(line.id, line.points, line.company_id, line.reason) for line in self.member_d.ledger_ids]
        moved = self.member_d._transfer_to_company(self.store_e, "Moved to Shenzhen")
        new = moved[self.member_d]
        self.assertEqual((new.program_id, new.partner_id, new.points_balance), (self.program_e, self.customer_d, 150))
        self.assertEqual(new.company_id, self.store_e)
        self.assertEqual(self.member_d.points_balance, 0)
        self.assertFalse(self.member_d.active, "the old card is archived")
        out = self.member_d.ledger_ids.filtered(lambda line: line.id not in [row[0] for row in before])
        self.assertEqual((out.kind, out.points, out.company_id), ("adjust", -150, self.store_d))
        self.assertIn("Moved to Shenzhen", out.reason)
        entry = new.ledger_ids
        self.assertEqual(
            (entry.kind, entry.points, entry.company_id, entry.transfer_of_id), ("adjust", 150, self.store_e, out)
        )
        # The old lines are untouched.
        self.assertEqual(
            [(line.id, line.points, line.company_id, line.reason) for line in self.member_d.ledger_ids - out], before
        )
        # Back again: the archived card is re-activated and takes the points.
        back = new._transfer_to_company(self.store_d, "Came back")[new]
        self.assertEqual((back, back.active, back.points_balance, new.points_balance), (self.member_d, True, 150, 0))

    def test_nothing_moves_without_a_programme_or_within_the_group(self):
        self.assertEqual(
            self.member_d._transfer_to_company(self.store_f, "No programme there"), {self.member_d: self.member_d}
        )
        self.assertEqual(
            (self.member_d.active, self.member_d.points_balance, len(self.member_d.ledger_ids)), (True, 150, 2)
        )
        with self.assertRefused(UserError, "^Reason:"):
            self.member_d._transfer_to_company(self.store_e, " ")

    def test_transfer_is_all_or_nothing(self):
        """A failure half-way (after the out line) leaves nothing written, even for a caller that catches
        it (no savepoint of the test's: the method's own)."""
        Member = type(self.Member)
        refused = False
        with patch.object(Member, "_evaluate_tiers", side_effect=UserError("boom")):
            try:
                self.member_d._transfer_to_company(self.store_e, "Moved")
            except UserError:
                refused = True
        self.assertTrue(refused)
        self.assertEqual(
            (self.member_d.active, self.member_d.points_balance, len(self.member_d.ledger_ids)), (True, 150, 2)
        )
        self.assertFalse(
            self.Member.with_context(active_test=False).search([("program_id", "=", self.program_e.id)]),
            "no card left behind at the new store",
        )
        self.assertFalse(self.Ledger.search([("program_id", "=", self.program_e.id)]))
