from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.tests import new_test_user, tagged

from .common import AutoCrmCase


@tagged("post_install", "-at_install")
class TestStaffHandover(AutoCrmCase):
    """An agent leaves: three customers they manage, three open callbacks (the first about a visit of the
    advisor) and two open complaints go to the advisor and a second agent."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        common = {"company_id": cls.company.id, "company_ids": [(6, 0, [cls.company.id])]}
        cls.leaving = new_test_user(
            cls.env, "crm_leaving", groups="auto_crm.group_agent", name="Leaving Agent", **common
        )
        cls.agent2 = new_test_user(cls.env, "crm_agent2", groups="auto_crm.group_agent", name="Agent 2", **common)
        cls.advisor.groups_id = [(4, cls.env.ref("auto_crm.group_agent").id)]
        cls.other_manager = new_test_user(
            cls.env,
            "crm_other_manager",
            groups="auto_crm.group_manager",
            name="Other Store Manager",
            company_id=cls.other_company.id,
            company_ids=[(6, 0, [cls.other_company.id])],
        )
        Partner = cls.env["res.partner"]
        cls.customers = Partner.create(
            [
                {
                    "name": f"交接客户 {i}",
                    "auto_customer": True,
                    "mobile": f"+86 138 0000 05{i:02d}",
                    "auto_callback_consent": True,
                    "auto_customer_manager_id": cls.leaving.id,
                }
                for i in range(3)
            ]
        )
        cars = cls.env["auto_crm.vehicle"].create(
            [{"vin": cls.make_vin(880100 + i), "partner_id": c.id} for i, c in enumerate(cls.customers)]
        )
        visit = cls.env["auto_crm.service.visit"].create(
            {
                "partner_id": cls.customers[0].id,
                "vehicle_id": cars[0].id,
                "advisor_id": cls.advisor.id,
                "mileage_in": 1000,
            }
        )
        Callback = cls.env["auto_crm.callback"]
        cls.callbacks = Callback.create(
            [
                {"partner_id": cls.customers[0].id, "visit_id": visit.id, "user_id": cls.leaving.id},
                {"partner_id": cls.customers[1].id, "user_id": cls.leaving.id},
                {"partner_id": cls.customers[2].id, "user_id": cls.leaving.id},
            ]
        )
        cls.not_theirs = Callback.create({"partner_id": cls.customer.id, "user_id": cls.agent.id})
        category = cls.env["auto_crm.complaint.category"].create({"name": "Handover"})
        Complaint = cls.env["auto_crm.complaint"]
        cls.complaints = Complaint.create(
            [
                {
                    "subject": f"Noise {i}",
                    "partner_id": cls.customers[i].id,
                    "category_id": category.id,
                    "channel": "phone",
                    "user_id": cls.leaving.id,
                }
                for i in range(2)
            ]
        )
        cls.Wizard = cls.env["auto_crm.staff.handover.wizard"]
        cls.Handover = cls.env["auto_crm.staff.handover"]

    def wizard(self, user=None, **vals):
        values = {"user_id": self.leaving.id, "successor_ids": [(6, 0, (self.advisor | self.agent2).ids)]}
        values.update(vals)
        return self.Wizard.with_user(user or self.manager).create(values)

    def test_spread_evenly_with_preview_and_record(self):
        wizard = self.wizard(reason="Leaves the company")
        self.assertEqual((wizard.customer_count, wizard.callback_count, wizard.complaint_count), (3, 3, 2))
        action = wizard.action_hand_over()
        handover = self.Handover.browse(action["res_id"])
        self.assertEqual(action["res_model"], "auto_crm.staff.handover")
        # In turn, by the successors' ids (the advisor first): customers advisor, agent 2, advisor; the
        # callback of the advisor's own visit passes to agent 2, then the advisor, then agent 2.
        self.assertEqual(
            [r.auto_customer_manager_id for r in self.customers], [self.advisor, self.agent2, self.advisor]
        )
        self.assertEqual([r.user_id for r in self.callbacks], [self.agent2, self.advisor, self.agent2])
        self.assertEqual([r.user_id for r in self.complaints], [self.advisor, self.agent2])
        self.assertEqual(self.not_theirs.user_id, self.agent, "nothing of anyone else moves")
        self.assertEqual(
            (handover.customer_count, handover.callback_count, handover.complaint_count, handover.skipped_count),
            (3, 3, 2, 0),
        )
        self.assertEqual(
            (handover.user_id, handover.manager_id, handover.company_id), (self.leaving, self.manager, self.company)
        )
        self.assertEqual(len(handover.line_ids), 8)
        self.assertEqual(set(handover.line_ids.mapped("state")), {"moved"})
        self.assertEqual(
            handover.line_ids.filtered(lambda line: line.callback_id == self.callbacks[0]).to_user_id, self.agent2
        )
        self.assertIn("Leaving Agent", handover.message_ids[0].body)
        # Nothing is left: a second handover has nothing to move.
        again = self.wizard()
        self.assertEqual((again.customer_count, again.callback_count, again.complaint_count), (0, 0, 0))
        with self.assertRaises(UserError):
            again.action_hand_over()

    def test_all_to_the_advisor_skips_the_callback_of_their_visit(self):
        wizard = self.wizard(mode="one", successor_ids=[(6, 0, self.advisor.ids)], include_complaints=False)
        handover = self.Handover.browse(wizard.action_hand_over()["res_id"])
        self.assertEqual([r.user_id for r in self.callbacks], [self.leaving, self.advisor, self.advisor])
        self.assertEqual([r.user_id for r in self.complaints], [self.leaving, self.leaving])
        self.assertEqual((handover.callback_count, handover.skipped_count, handover.complaint_count), (2, 1, 0))
        skipped = handover.line_ids.filtered(lambda line: line.state == "skipped")
        self.assertEqual((skipped.callback_id, skipped.to_user_id), (self.callbacks[0], self.env["res.users"]))
        self.assertIn("service advisor", skipped.note)

    def test_only_a_manager_of_the_store_hands_over(self):
        for user in (self.agent, self.advisor, self.group_user):
            with self.subTest(user=user.login), self.assertRaises(AccessError):
                self.wizard(user)
        with self.assertRaises(AccessError):
            self.wizard(self.other_manager, company_id=self.company.id)
        # A successor of another store, or the leaving employee themselves, is refused.
        with self.assertRaises(ValidationError):
            self.wizard(successor_ids=[(6, 0, self.other_advisor.ids)]).action_hand_over()
        with self.assertRaises(ValidationError):
            self.wizard(successor_ids=[(6, 0, [])]).action_hand_over()
        with self.assertRaises(ValidationError):
            self.wizard(mode="one").action_hand_over()  # all to one, two successors chosen
        # The work itself is private; the record is the wizard's only.
        self.assertFalse(hasattr(self.Handover, "action_hand_over"))
        for user in (self.manager, self.dealer_admin):
            with self.subTest(user=user.login), self.assertRaises(UserError):
                self.Handover.with_user(user).create(
                    {"company_id": self.company.id, "user_id": self.leaving.id, "manager_id": user.id, "mode": "one"}
                )
        self.assertEqual(self.customers.mapped("auto_customer_manager_id"), self.leaving)

    def test_the_record_is_append_only(self):
        handover = self.Handover.browse(self.wizard().action_hand_over()["res_id"])
        line = handover.line_ids[:1]
        for user in (self.manager, self.dealer_admin):
            with self.subTest(user=user.login):
                with self.assertRaises(UserError):
                    handover.with_user(user).write({"skipped_count": 5})
                with self.assertRaises(UserError):
                    handover.with_user(user).unlink()
                with self.assertRaises(UserError):
                    line.with_user(user).write({"to_user_id": user.id})
                with self.assertRaises(UserError):
                    line.with_user(user).unlink()
        for record in (handover, line):
            with self.assertRaises(UserError):
                record.sudo().write({"note" if record == line else "reason": "changed"})
            with self.assertRaises(UserError):
                record.sudo().unlink()
        # Agents and advisors do not read handovers; the other store's manager sees none.
        for user in (self.agent, self.advisor):
            with self.assertRaises(AccessError):
                handover.with_user(user).read(["user_id"])
        self.assertFalse(self.Handover.with_user(self.other_manager).search([]))
        self.assertEqual(handover.with_user(self.manager).skipped_count, 0)
