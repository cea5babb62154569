from psycopg2 import IntegrityError

from odoo import Command
from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.tests import Form, tagged
from odoo.tools import mute_logger

from ..lib import ahp
from ..models.auto_crm_csi_comparison import saaty_number
from .common import AutoCrmCase


@tagged("post_install", "-at_install")
class TestCsiHierarchy(AutoCrmCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.Hierarchy = cls.env["auto_crm.csi.hierarchy"]
        cls.default = cls.env.ref("auto_crm.csi_hierarchy_default")

    # ------------------------------------------------------------------ helpers

    def make_hierarchy(self, names, judgements=None, company=None, user=None):
        """A draft hierarchy of main criteria (leaves scoring step "other") and its judgements,
        given as {(name_a, name_b): "3"}."""
        env = self.env(user=user) if user else self.env
        hierarchy = env["auto_crm.csi.hierarchy"].create(
            {
                "name": "Test Weights",
                "company_id": (company or self.company).id,
                "criterion_ids": [
                    Command.create({"name": name, "sequence": i, "step": "other"}) for i, name in enumerate(names)
                ],
            }
        )
        for (a, b), value in (judgements or {}).items():
            self.comparison(hierarchy, a, b).value = value
        return hierarchy

    def comparison(self, hierarchy, a, b):
        comparison = hierarchy.comparison_ids.filtered(
            lambda c: (c.criterion_a_id.name, c.criterion_b_id.name) == (a, b)
        )
        self.assertEqual(len(comparison), 1, f"no single comparison {a} vs {b}")
        return comparison

    def criterion(self, hierarchy, name):
        return hierarchy.criterion_ids.filtered(lambda c: c.name == name)

    def matrix_of(self, hierarchy, parent):
        children = hierarchy.criterion_ids.filtered(lambda c: c.parent_id == parent).sorted(
            lambda c: (c.sequence, c.id)
        )
        index = {c.id: i for i, c in enumerate(children)}
        upper = {}
        for comparison in hierarchy.comparison_ids.filtered(lambda c: c.parent_id == parent):
            upper[(index[comparison.criterion_a_id.id], index[comparison.criterion_b_id.id])] = saaty_number(
                comparison.value
            )
        return children, ahp.matrix_from_upper(len(children), upper)

    # ------------------------------------------------------------------ default hierarchy

    def test_default_hierarchy_is_active_and_consistent(self):
        self.assertEqual(self.default.state, "active")
        self.assertEqual(self.default.company_id, self.env.ref("base.main_company"))
        self.assertTrue(self.default.date_activated)
        self.assertEqual(self.Hierarchy.with_company(self.default.company_id)._get_active(), self.default)
        self.assertTrue(self.default.is_consistent)
        self.assertLess(self.default.max_cr, ahp.CR_THRESHOLD)
        leaves = self.default.criterion_ids.filtered("is_leaf")
        self.assertEqual(
            set(leaves.mapped("step")), {"greeting", "reception", "repair_quality", "on_time", "price", "cleanliness"}
        )
        roots = self.default.criterion_ids.filtered(lambda c: not c.parent_id)
        self.assertEqual(
            roots.mapped("name"), ["Reception", "Repair Quality", "Timeliness", "Price", "Facilities & Delivery"]
        )
        # The stored figures are the engine's, for every parent.
        for parent in self.default.criterion_ids.filtered("child_ids") | self.env["auto_crm.csi.criterion"]:
            children, matrix = self.matrix_of(self.default, parent)
            result = ahp.analyse(matrix)
            self.assertTrue(result.consistent, parent.name)
            for child, weight in zip(children, result.weights, strict=True):
                self.assertAlmostEqual(child.local_weight, weight, places=6)
            if parent:
                self.assertAlmostEqual(parent.cr, result.cr, places=4)
                self.assertAlmostEqual(parent.lambda_max, result.lambda_max, places=4)
            else:
                self.assertAlmostEqual(self.default.root_cr, result.cr, places=4)
                self.assertAlmostEqual(self.default.root_lambda_max, result.lambda_max, places=4)
        repair = self.criterion(self.default, "Repair Quality")
        self.assertEqual(max(roots, key=lambda c: c.local_weight), repair)

    def test_weights_multiply_down_to_global_weights_summing_to_one(self):
        for criterion in self.default.criterion_ids:
            expected = criterion.local_weight * (criterion.parent_id.global_weight if criterion.parent_id else 1.0)
            self.assertAlmostEqual(criterion.global_weight, expected, places=6, msg=criterion.name)
        for parent in self.default.criterion_ids.filtered("child_ids"):
            self.assertAlmostEqual(sum(parent.child_ids.mapped("local_weight")), 1.0, places=6)
            self.assertAlmostEqual(sum(parent.child_ids.mapped("global_weight")), parent.global_weight, places=6)
        leaves = self.default.criterion_ids.filtered("is_leaf")
        self.assertAlmostEqual(sum(leaves.mapped("global_weight")), 1.0, places=6)
        greeting = self.criterion(self.default, "Greeting")
        reception = self.criterion(self.default, "Reception")
        # Greeting vs vehicle check is 1/2: one third of Reception's weight.
        self.assertAlmostEqual(greeting.global_weight, reception.global_weight / 3, places=6)

    # ------------------------------------------------------------------ activation

    def test_activation_refused_with_the_offending_pair_named(self):
        # Consistent (2, 2, 2 down the chain) except Reception vs Price, which should be 8.
        hierarchy = self.make_hierarchy(
            ["Reception", "Repair Quality", "Timeliness", "Price"],
            {
                ("Reception", "Repair Quality"): "2",
                ("Reception", "Timeliness"): "4",
                ("Reception", "Price"): "1/8",
                ("Repair Quality", "Timeliness"): "2",
                ("Repair Quality", "Price"): "4",
                ("Timeliness", "Price"): "2",
            },
            user=self.dealer_admin,
        )
        self.assertGreater(hierarchy.root_cr, ahp.CR_THRESHOLD)
        self.assertFalse(hierarchy.is_consistent)
        children, matrix = self.matrix_of(hierarchy, self.env["auto_crm.csi.criterion"])
        i, j = ahp.most_inconsistent_pair(matrix)
        self.assertEqual((children[i].name, children[j].name), ("Reception", "Price"))
        with self.assertRaises(ValidationError) as caught:
            hierarchy.with_user(self.dealer_admin).action_activate()
        message = str(caught.exception)
        self.assertTrue(message.startswith("Pairwise Comparisons:"), message)
        self.assertIn("Revise Reception vs Price first", message)
        self.assertIn("the main criteria", message)
        self.assertEqual(hierarchy.state, "draft")
        self.assertEqual(self.default.state, "active")

    def test_demo_proposal_is_refused(self):
        proposal = self.env.ref("auto_crm.csi_hierarchy_proposal_demo", raise_if_not_found=False)
        if not proposal:
            self.skipTest("demo data not loaded")
        self.assertEqual(proposal.state, "draft")
        self.assertGreater(proposal.root_cr, ahp.CR_THRESHOLD)
        with self.assertRaisesRegex(ValidationError, "Revise Repair Quality vs Price first"):
            proposal.with_user(self.dealer_admin).action_activate()

    def test_inconsistent_sub_level_names_its_parent(self):
        new = self.default._copy_as_draft(self.company)
        reception = self.criterion(new, "Reception")
        new.write(
            {
                "criterion_ids": [
                    Command.create({"name": name, "parent_id": reception.id, "sequence": 30 + i, "step": "other"})
                    for i, name in enumerate(["Waiting Time", "Courtesy"])
                ]
            }
        )
        # Four sub-criteria now; judgements consistent except Greeting vs Courtesy.
        values = {
            ("Greeting", "Reception and Vehicle Check"): "2",
            ("Greeting", "Waiting Time"): "4",
            ("Greeting", "Courtesy"): "1/8",
            ("Reception and Vehicle Check", "Waiting Time"): "2",
            ("Reception and Vehicle Check", "Courtesy"): "4",
            ("Waiting Time", "Courtesy"): "2",
        }
        for (a, b), value in values.items():
            self.comparison(new, a, b).value = value
        self.assertGreater(reception.cr, ahp.CR_THRESHOLD)
        with self.assertRaises(ValidationError) as caught:
            new.action_activate()
        self.assertIn("under Reception", str(caught.exception))
        self.assertIn("Greeting vs Courtesy", str(caught.exception))
        # Revising that one judgement makes it consistent (8 = 2 x 2 x 2): it activates.
        self.comparison(new, "Greeting", "Courtesy").value = "8"
        self.assertAlmostEqual(reception.cr, 0.0, places=6)
        new.action_activate()
        self.assertEqual(new.state, "active")

    def test_leaf_without_step_cannot_be_activated_and_parents_have_no_step(self):
        hierarchy = self.make_hierarchy(["Reception", "Price"])
        self.criterion(hierarchy, "Price").step = False
        with self.assertRaisesRegex(ValidationError, r"^Questionnaire Step: .*Price"):
            hierarchy.action_activate()
        with self.assertRaisesRegex(ValidationError, r"^Questionnaire Step:"):
            self.env["auto_crm.csi.criterion"].create(
                {"hierarchy_id": hierarchy.id, "name": "Sub", "parent_id": self.criterion(hierarchy, "Reception").id}
            )

    # ------------------------------------------------------------------ versioning

    def test_new_version_keeps_old_weights(self):
        old_weights = {c.name: (c.local_weight, c.global_weight) for c in self.default.criterion_ids}
        last_version = max(self.Hierarchy.search([("company_id", "=", self.company.id)]).mapped("version"))
        action = self.default.with_user(self.dealer_admin).action_new_version()
        new = self.Hierarchy.browse(action["res_id"])
        self.assertEqual(new.state, "draft")
        self.assertEqual(new.version, last_version + 1)
        self.assertEqual(new.origin_id, self.default)
        self.assertEqual(len(new.criterion_ids), len(self.default.criterion_ids))
        self.assertEqual(len(new.comparison_ids), len(self.default.comparison_ids))
        self.assertEqual({c.name: (c.local_weight, c.global_weight) for c in new.criterion_ids}, old_weights)
        self.assertEqual(
            self.criterion(new, "Greeting").parent_id, self.criterion(new, "Reception"), "tree copied with its parents"
        )
        # An inconsistent revision is refused with the offending pair, in words.
        self.comparison(new, "Repair Quality", "Price").value = "1/9"
        with self.assertRaisesRegex(ValidationError, "Revise Repair Quality vs Price first"):
            new.with_user(self.dealer_admin).action_activate()
        # Price matters more than thought, but consistently.
        self.comparison(new, "Repair Quality", "Price").value = "1"
        new.with_user(self.dealer_admin).action_activate()
        self.assertEqual(new.state, "active")
        self.assertEqual(self.default.state, "superseded")
        self.assertTrue(self.default.date_superseded)
        self.assertEqual(self.Hierarchy.with_company(self.company)._get_active(), new)
        self.assertGreater(self.criterion(new, "Price").global_weight, old_weights["Price"][1])
        self.default.invalidate_recordset()
        self.default.criterion_ids.invalidate_recordset()
        self.assertEqual({c.name: (c.local_weight, c.global_weight) for c in self.default.criterion_ids}, old_weights)

    def test_active_and_superseded_hierarchies_are_read_only(self):
        for operation in (
            lambda: self.default.write({"name": "Renamed"}),
            lambda: self.criterion(self.default, "Price").write({"sequence": 1}),
            lambda: self.comparison(self.default, "Repair Quality", "Price").write({"value": "9"}),
            lambda: self.env["auto_crm.csi.criterion"].create({"hierarchy_id": self.default.id, "name": "New"}),
            lambda: self.criterion(self.default, "Price").unlink(),
            lambda: self.default.unlink(),
        ):
            with self.subTest(operation=operation), self.assertRaisesRegex(UserError, "^Status:"):
                operation()
        self.assertEqual(self.comparison(self.default, "Repair Quality", "Price").value, "3")
        with self.assertRaises(UserError):
            self.default.action_activate()
        draft = self.make_hierarchy(["A", "B"])
        draft.unlink()
        self.assertFalse(draft.exists())

    def test_one_active_hierarchy_per_company(self):
        draft = self.make_hierarchy(["A", "B"])
        with mute_logger("odoo.sql_db"), self.assertRaises(IntegrityError), self.cr.savepoint():
            # Bypassing the action (and the workflow, in SQL): the database refuses a second active
            # hierarchy in the store.
            self.env.cr.execute("UPDATE auto_crm_csi_hierarchy SET state = 'active' WHERE id = %s", [draft.id])
        # Another store has its own active hierarchy, copied from the group's default.
        action = self.default.with_company(self.other_company).action_copy_to_current_store()
        other = self.Hierarchy.browse(action["res_id"])
        self.assertEqual(other.company_id, self.other_company)
        self.assertEqual(other.version, 1)
        other.action_activate()
        self.assertEqual(other.state, "active")
        self.assertEqual(self.default.state, "active")
        with self.assertRaisesRegex(UserError, "^Store:"):
            self.default.action_copy_to_current_store()
        # Activating a second draft in the main store supersedes the first.
        draft.action_activate()
        self.assertEqual(self.default.state, "superseded")
        self.assertEqual(other.state, "active")
        actives = self.Hierarchy.search([("state", "=", "active"), ("company_id", "in", self.all_companies)])
        self.assertEqual(actives, draft | other)

    def test_version_numbers_per_store(self):
        first = self.make_hierarchy(["A", "B"])
        second = self.make_hierarchy(["A", "B"])
        self.assertEqual(second.version, first.version + 1)
        elsewhere = self.make_hierarchy(["A", "B"], company=self.other_company)
        self.assertEqual(elsewhere.version, 1)
        first.company_id = self.other_company
        self.assertEqual(first.version, 2)

    # ------------------------------------------------------------------ the grid

    def test_grid_holds_every_sibling_pair_once(self):
        hierarchy = self.make_hierarchy(["A", "B", "C"], {("A", "C"): "3"})
        self.assertEqual(len(hierarchy.comparison_ids), 3)
        hierarchy.write({"criterion_ids": [Command.create({"name": "D", "sequence": 9, "step": "other"})]})
        self.assertEqual(len(hierarchy.comparison_ids), 6)
        a = self.criterion(hierarchy, "A")
        a.step = False
        hierarchy.write(
            {"criterion_ids": [Command.create({"name": n, "parent_id": a.id, "step": "other"}) for n in ("A1", "A2")]}
        )
        sub = hierarchy.comparison_ids.filtered(lambda c: c.parent_id == a)
        self.assertEqual(sub.mapped("display_name"), ["A1 vs A2"])
        self.assertEqual(len(hierarchy.comparison_ids), 7)
        # C moves before A: the pair turns round and keeps the same meaning.
        self.criterion(hierarchy, "C").sequence = -1
        self.assertEqual(self.comparison(hierarchy, "C", "A").value, "1/3")
        self.assertEqual(len(hierarchy.comparison_ids), 7)
        self.criterion(hierarchy, "D").unlink()
        self.assertEqual(len(hierarchy.comparison_ids), 4)
        with self.assertRaisesRegex(ValidationError, "^Criterion B:"):
            self.env["auto_crm.csi.comparison"].create(
                {
                    "hierarchy_id": hierarchy.id,
                    "criterion_a_id": a.id,
                    "criterion_b_id": self.criterion(hierarchy, "A1").id,
                }
            )

    def test_weights_are_live_in_the_form(self):
        hierarchy = self.make_hierarchy(["Reception", "Repair Quality", "Price"], user=self.dealer_admin)
        self.assertAlmostEqual(hierarchy.root_cr, 0.0)
        with Form(hierarchy.with_user(self.dealer_admin)) as form:
            index = hierarchy.comparison_ids.ids.index(self.comparison(hierarchy, "Repair Quality", "Price").id)
            with form.comparison_ids.edit(index) as line:
                line.value = "5"
            # Computed before saving: the main matrix now weighs Repair Quality above Price.
            self.assertGreater(form.root_lambda_max, 3.0)
            self.assertGreater(form.root_cr, 0.0)
            self.assertIn("Repair Quality", form.weights_html)
            weights = {}
            for i in range(len(form.criterion_ids)):
                with form.criterion_ids.edit(i) as criterion:
                    weights[criterion.name] = criterion.local_weight
            self.assertGreater(weights["Repair Quality"], weights["Price"])
            self.assertAlmostEqual(sum(weights.values()), 1.0, places=6)
            self.assertEqual(self.comparison(hierarchy, "Repair Quality", "Price").value, "1", "not saved yet")
        self.assertEqual(self.comparison(hierarchy, "Repair Quality", "Price").value, "5")
        self.assertGreater(self.criterion(hierarchy, "Repair Quality").global_weight, 0.4)

    # ------------------------------------------------------------------ access

    def test_access_per_group(self):
        for user in (self.agent, self.advisor, self.manager):
            with self.subTest(user=user.login):
                default = self.default.with_user(user)
                self.assertEqual(
                    default.criterion_ids.mapped("global_weight"), self.default.criterion_ids.mapped("global_weight")
                )
                with self.assertRaises(AccessError):
                    self.Hierarchy.with_user(user).create({"name": "Mine"})
                with self.assertRaises(AccessError):
                    default.action_new_version()
        draft = self.make_hierarchy(["A", "B"], user=self.dealer_admin)
        for user in (self.agent, self.advisor, self.manager):
            with self.subTest(user=user.login):
                with self.assertRaises(AccessError):
                    draft.comparison_ids.with_user(user).write({"value": "9"})
                with self.assertRaises(AccessError):
                    draft.criterion_ids[:1].with_user(user).write({"name": "Renamed"})
                with self.assertRaises(AccessError):
                    self.comparison(self.default, "Repair Quality", "Price").with_user(user).write({"value": "9"})
        with self.assertRaises(AccessError):
            draft.with_user(self.manager).action_activate()
        draft.with_user(self.dealer_admin).action_activate()
        self.assertEqual(draft.state, "active")
        self.assertEqual(self.default.state, "superseded")
        with self.assertRaises(AccessError):
            self.default.with_user(self.other_advisor).read(["name"])
        self.assertFalse(self.env["auto_crm.csi.criterion"].with_user(self.other_advisor).search([]))
        with self.assertRaises(AccessError):
            self.Hierarchy.with_user(self.group_user).search([])
