"""Weights the customers set: respondents' judgements aggregated by the geometric mean (AIJ) into a
hierarchy's pairwise comparisons. The figures are those worked out by hand in
lib/tests/test_ahp_aggregate.py (three consistent respondents R1..R3 and an inconsistent R4)."""

from odoo import Command
from odoo.exceptions import AccessError, UserError
from odoo.tests import tagged
from odoo.tools import mute_logger

from ..lib import ahp
from ..models.auto_crm_csi_respondent import nearest_saaty
from .common import AutoCrmCase

# Upper triangles (Reception vs Repair, Reception vs Price, Repair vs Price), as in the pytest.
R1 = {("Reception", "Repair"): "2", ("Reception", "Price"): "1", ("Repair", "Price"): "1/2"}  # CR 0
R2 = {("Reception", "Repair"): "4", ("Reception", "Price"): "3", ("Repair", "Price"): "1"}  # CR 0.007933
R3 = {("Reception", "Repair"): "8", ("Reception", "Price"): "9", ("Repair", "Price"): "2"}  # CR 0.031807
R4 = {("Reception", "Repair"): "9", ("Reception", "Price"): "1/9", ("Repair", "Price"): "9"}  # CR 6.130268


@tagged("post_install", "-at_install")
class TestCsiRespondents(AutoCrmCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.hierarchy = cls.env["auto_crm.csi.hierarchy"].create(
            {
                "name": "Customers' Weights",
                "company_id": cls.company.id,
                "criterion_ids": [
                    Command.create({"name": name, "sequence": i, "step": "other"})
                    for i, name in enumerate(["Reception", "Repair", "Price"])
                ],
            }
        )

    def respondent(self, name, answers, hierarchy=None, user=None):
        env = self.env(user=user) if user else self.env
        respondent = env["auto_crm.csi.respondent"].create(
            {"name": name, "kind": "customer", "hierarchy_id": (hierarchy or self.hierarchy).id}
        )
        for line in respondent.judgement_ids:
            line.value = answers[(line.criterion_a_id.name, line.criterion_b_id.name)]
        return respondent

    def comparison_values(self):
        return {(c.criterion_a_id.name, c.criterion_b_id.name): c.value for c in self.hierarchy.comparison_ids}

    def test_grid_and_consistency_per_respondent(self):
        r2 = self.respondent("R2", R2)
        self.assertEqual(len(r2.judgement_ids), 3)
        self.assertAlmostEqual(r2.max_cr, 0.007933, places=5)
        self.assertEqual(r2.consistency_state, "consistent")
        self.assertAlmostEqual(r2.judgement_ids[0].node_cr, 0.007933, places=5)
        r4 = self.respondent("R4", R4)
        self.assertAlmostEqual(r4.max_cr, 6.130268, places=5)
        self.assertEqual(r4.consistency_state, "inconsistent")
        self.assertIn("inconsistent", r4.consistency_html)
        empty = self.env["auto_crm.csi.respondent"].create({"name": "Not yet", "hierarchy_id": self.hierarchy.id})
        self.assertEqual(empty.consistency_state, "incomplete")

    def test_grid_follows_the_hierarchy(self):
        respondent = self.respondent("R3", R3)
        self.hierarchy.write(
            {"criterion_ids": [Command.create({"name": "Cleanliness", "sequence": 9, "step": "other"})]}
        )
        pairs = {(j.criterion_a_id.name, j.criterion_b_id.name): j.value for j in respondent.judgement_ids}
        self.assertEqual(len(pairs), 6)
        self.assertFalse(pairs[("Price", "Cleanliness")])
        self.assertEqual(respondent.consistency_state, "incomplete")
        # Price moved before Repair: the pair is turned round with the reciprocal answer (2 -> 1/2).
        price = self.hierarchy.criterion_ids.filtered(lambda c: c.name == "Price")
        price.sequence = 0
        pairs = {(j.criterion_a_id.name, j.criterion_b_id.name): j.value for j in respondent.judgement_ids}
        self.assertEqual(pairs[("Price", "Repair")], "1/2")
        self.assertNotIn(("Repair", "Price"), pairs)

    def test_button_sets_the_hand_worked_weights(self):
        for name, answers in (("R1", R1), ("R2", R2), ("R3", R3)):
            self.respondent(name, answers)
        self.hierarchy.with_user(self.manager).action_weights_from_respondents()
        # Geometric means 64^(1/3) = 4, 27^(1/3) = 3, 1^(1/3) = 1: on Saaty's scale exactly.
        self.assertEqual(
            self.comparison_values(),
            {("Reception", "Repair"): "4", ("Reception", "Price"): "3", ("Repair", "Price"): "1"},
        )
        self.assertAlmostEqual(self.hierarchy.root_cr, 0.007933, places=5)
        weights = {c.name: c.local_weight for c in self.hierarchy.criterion_ids}
        self.assertAlmostEqual(weights["Reception"], 0.633708, places=5)
        self.assertAlmostEqual(weights["Repair"], 0.174371, places=5)
        self.assertAlmostEqual(weights["Price"], 0.191921, places=5)
        self.assertTrue(self.hierarchy.is_consistent)
        body = self.hierarchy.message_ids[0].body
        self.assertIn("R1 (CR 0.0000), R2 (CR 0.0079), R3 (CR 0.0318)", body)
        self.assertEqual(self.hierarchy.message_ids[0].author_id, self.manager.partner_id)

    def test_inconsistent_respondent_excluded_and_named(self):
        for name, answers in (("R1", R1), ("R2", R2), ("R3", R3), ("R4", R4)):
            self.respondent(name, answers)
        self.respondent("Half", {**R1, ("Repair", "Price"): False})
        self.hierarchy.with_user(self.dealer_admin).action_weights_from_respondents()
        # R4 left out: the result is the one of R1..R3, not the 4-respondent aggregate (a12 = 4.898979 -> 5).
        self.assertEqual(self.comparison_values()[("Reception", "Repair")], "4")
        self.assertAlmostEqual(self.hierarchy.root_cr, 0.007933, places=5)
        body = self.hierarchy.message_ids[0].body
        self.assertIn("R4: inconsistent, CR 6.1303", body)
        self.assertIn("Half: did not answer every comparison", body)
        self.assertNotIn("R4 (CR", body)

    def test_fewer_than_two_consistent_refused(self):
        self.respondent("R1", R1)
        self.respondent("R4", R4)
        before = self.comparison_values()
        with self.assertRaisesRegex(UserError, "Respondents: at least 2 consistent respondents .* 1 did"):
            self.hierarchy.with_user(self.manager).action_weights_from_respondents()
        self.assertEqual(self.comparison_values(), before)

    def test_agent_and_advisor_cannot_press(self):
        self.respondent("R1", R1)
        self.respondent("R2", R2)
        for user in (self.agent, self.advisor):
            with self.assertRaisesRegex(AccessError, "only store managers and dealer administrators"):
                self.hierarchy.with_user(user).action_weights_from_respondents()
        self.assertEqual(set(self.comparison_values().values()), {"1"})

    def test_other_store_cannot_see_respondents(self):
        respondent = self.respondent("R1", R1)
        Respondent = self.env["auto_crm.csi.respondent"].with_user(self.other_advisor)
        self.assertFalse(Respondent.search([("id", "=", respondent.id)]))
        self.assertNotIn(respondent.id, [r["id"] for r in Respondent.search_read([], ["name"])])
        self.assertFalse(
            self.env["auto_crm.csi.respondent.judgement"]
            .with_user(self.other_advisor)
            .search([("respondent_id", "=", respondent.id)])
        )
        with mute_logger("odoo.addons.base.models.ir_rule"), self.assertRaises(AccessError):
            respondent.with_user(self.other_advisor).read(["name"])
        # The store's own advisor reads it.
        self.assertEqual(respondent.with_user(self.advisor).read(["name"])[0]["name"], "R1")

    def test_system_fields_refused(self):
        respondent = self.respondent("R1", R1)
        for vals in ({"max_cr": 0.0}, {"is_consistent": True}, {"consistency_state": "consistent"}):
            with self.assertRaisesRegex(UserError, "is set by the Dealer CRM itself"):
                respondent.with_user(self.dealer_admin).write(vals)
        with self.assertRaisesRegex(UserError, "is set by the Dealer CRM itself"):
            respondent.judgement_ids[0].with_user(self.dealer_admin).write({"node_cr": 0.0})

    def test_nearest_saaty(self):
        self.assertEqual(nearest_saaty(4.898979), "5")
        self.assertEqual(nearest_saaty(1 / 4.2), "1/4")
        self.assertEqual(nearest_saaty(1.0), "1")
        # The geometric middle of 2 and 3 (sqrt 6) goes to the value nearer to 1.
        self.assertEqual(nearest_saaty(6**0.5), "2")
        self.assertEqual(ahp.CR_THRESHOLD, 0.10)
