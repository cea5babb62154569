"""The customer-relations function is independent (issue 15): the service advisor of a visit never
does the callback about it - the engine never deals it to them, and nobody can assign it to them, nor
can they take it."""

from freezegun import freeze_time

from odoo.exceptions import ValidationError
from odoo.tests import tagged

from .callback_common import CallbackCase


@tagged("post_install", "-at_install")
class TestIndependentCallbacks(CallbackCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.advisor.groups_id = [(4, cls.env.ref("auto_crm.group_agent").id)]
        cls.mixed = cls.env["auto_crm.callback.team"].create(
            {"name": "Advisors and agents", "member_ids": [(6, 0, [cls.advisor.id, cls.agent.id])]}
        )

    def run_rule(self, rule):
        with freeze_time("2025-03-04 02:00:00"):
            return rule._run_engine()

    def test_round_robin_passes_over_the_visits_advisor(self):
        self.make_delivered_visits(4, self.at("2025-03-01"))  # the advisor's visits
        rule = self.make_rule(assignment="round_robin", team_id=self.mixed.id)
        self.assertEqual(self.run_rule(rule).created_count, 4)
        self.assertEqual(self.callbacks(rule).user_id, self.agent)

    def test_a_fixed_user_or_manager_who_is_the_advisor_leaves_it_to_the_pool(self):
        visits = self.make_delivered_visits(2, self.at("2025-03-01"))
        visits[1].partner_id.auto_customer_manager_id = self.advisor
        fixed = self.make_rule(assignment="user", user_id=self.advisor.id, domain=repr([("id", "=", visits[0].id)]))
        manager = self.make_rule(assignment="manager", user_id=self.agent.id, domain=repr([("id", "=", visits[1].id)]))
        self.run_rule(fixed)
        self.run_rule(manager)
        self.assertFalse(self.callbacks(fixed).user_id)
        self.assertFalse(self.callbacks(manager).user_id)
        # Another advisor's visit goes to the fixed user as before.
        other = self.make_delivered_visits(1, self.at("2025-03-01"), advisor_id=self.manager.id)
        self.close_calls(self.callbacks(fixed))
        fixed.domain = repr([("id", "=", other.id)])
        self.run_rule(fixed)
        self.assertEqual(self.callbacks(fixed).filtered(lambda c: c.visit_id == other).user_id, self.advisor)

    def test_nobody_assigns_it_to_the_advisor_and_the_advisor_cannot_take_it(self):
        self.make_delivered_visits(1, self.at("2025-03-01"))
        rule = self.make_rule(assignment="team", team_id=self.mixed.id)
        self.run_rule(rule)
        call = self.callbacks(rule)
        for user in (self.manager, self.dealer_admin):
            with self.subTest(user=user.login), self.assertRaises(ValidationError) as caught:
                call.with_user(user).write({"user_id": self.advisor.id})
            self.assertRegex(str(caught.exception), "^Assigned To: .* was the service advisor of")
        with self.assertRaises(ValidationError) as caught:
            call.with_user(self.advisor).action_take()
        self.assertRegex(str(caught.exception), "^Assigned To: .* cannot do its callback")
        self.assertFalse(call.user_id)
        call.with_user(self.agent).action_take()
        self.assertEqual(call.user_id, self.agent)
