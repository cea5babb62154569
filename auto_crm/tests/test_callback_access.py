from freezegun import freeze_time

from odoo.exceptions import AccessError
from odoo.tests import tagged

from .callback_common import CallbackCase


@tagged("post_install", "-at_install")
class TestCallbackAccess(CallbackCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.outsider = cls.env["res.users"].create(
            {
                "name": "Agent of another team",
                "login": "crm_agent_outsider",
                "groups_id": [(6, 0, [cls.env.ref("auto_crm.group_agent").id])],
                "company_id": cls.company.id,
                "company_ids": [(6, 0, [cls.company.id])],
            }
        )
        cls.rule = cls.make_rule()
        cls.make_delivered_visits(3, cls.at("2025-03-01"))
        with freeze_time("2025-03-04 02:00:00"):
            cls.rule._run_engine()
        cls.mine, cls.colleague, cls.pool = cls.env["auto_crm.callback"].search(
            [("rule_id", "=", cls.rule.id)], order="id"
        )
        cls.mine.user_id = cls.agent
        cls.colleague.user_id = cls.agent2

    def test_agent_sees_own_and_team_unassigned(self):
        Callback = self.env["auto_crm.callback"].with_user(self.agent)
        visible = Callback.search([("rule_id", "=", self.rule.id)])
        self.assertEqual(visible, self.mine | self.pool)
        with self.assertRaises(AccessError):
            self.colleague.with_user(self.agent).read(["name"])
        # An agent outside the team sees none of them.
        self.assertFalse(
            self.env["auto_crm.callback"].with_user(self.outsider).search([("rule_id", "=", self.rule.id)])
        )
        with self.assertRaises(AccessError):
            self.pool.with_user(self.outsider).action_take()
        # Managers see all.
        self.assertEqual(
            self.env["auto_crm.callback"].with_user(self.manager).search([("rule_id", "=", self.rule.id)]),
            self.mine | self.colleague | self.pool,
        )

    def test_agent_takes_and_works_a_pool_callback(self):
        pool = self.pool.with_user(self.agent2)
        pool.action_take()
        self.assertEqual(self.pool.user_id, self.agent2)
        self.env["auto_crm.callback.attempt"].with_user(self.agent2).create(
            {"callback_id": self.pool.id, "outcome": "answered", "channel": "phone"}
        )
        pool.answer_ids.write({"score": "5"})
        pool.action_done()
        self.assertEqual(self.pool.state, "done")
        # Once taken, the other agent no longer sees it.
        with self.assertRaises(AccessError):
            self.pool.with_user(self.agent).read(["name"])
        # Attempts are a log: the agent cannot rewrite or delete them.
        attempt = self.pool.attempt_ids
        with self.assertRaises(AccessError):
            attempt.with_user(self.agent2).write({"outcome": "refused"})
        with self.assertRaises(AccessError):
            attempt.with_user(self.agent2).unlink()

    def test_only_admins_edit_rules_and_questionnaires(self):
        for user in (self.agent, self.advisor, self.manager):
            with self.subTest(user=user.login):
                self.assertTrue(self.rule.with_user(user).read(["name"]))
                self.assertTrue(self.questionnaire.with_user(user).read(["name"]))
                with self.assertRaises(AccessError):
                    self.rule.with_user(user).write({"delay_days": 1})
                with self.assertRaises(AccessError):
                    self.questionnaire.with_user(user).write({"name": "x"})
                with self.assertRaises(AccessError):
                    self.env["auto_crm.question"].with_user(user).create(
                        {"questionnaire_id": self.questionnaire.id, "name": "x"}
                    )
        self.rule.with_user(self.dealer_admin).write({"delay_days": 2})
        self.questionnaire.with_user(self.dealer_admin).write({"name": "Renamed"})

    def test_multi_company(self):
        other_rule = self.make_rule(
            name="Second store rule", company_id=self.other_company.id, team_id=False, assignment="manager"
        )
        other_user = self.other_advisor
        Rule = self.env["auto_crm.callback.rule"]
        self.assertNotIn(other_rule, Rule.with_user(self.manager).search([]))
        self.assertIn(self.rule, Rule.with_user(other_user).search([]), "a group-wide rule is visible everywhere")
        self.assertIn(other_rule, Rule.with_user(other_user).search([]))
        with self.assertRaises(AccessError):
            self.mine.with_user(other_user).read(["name"])
        self.assertFalse(self.env["auto_crm.callback"].with_user(other_user).search([("rule_id", "=", self.rule.id)]))
        shared_tag = self.env.ref("auto_crm.issue_tag_price")
        self.assertTrue(shared_tag.with_user(other_user).read(["name"]))
