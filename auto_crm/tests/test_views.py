from odoo.tests import tagged

from .common import AutoCrmCase


@tagged("post_install", "-at_install")
class TestViews(AutoCrmCase):
    def test_every_action_opens(self):
        """Open every view of every window action under the Dealer CRM menu, as the admin and as
        an agent: a view-mode typo or a field missing from a view installs silently but breaks here."""
        root = self.env.ref("auto_crm.auto_crm_menu_root")
        menus = self.env["ir.ui.menu"].search([("id", "child_of", root.id)])
        actions = self.env["ir.actions.act_window"].browse(
            [menu.action.id for menu in menus if menu.action and menu.action._name == "ir.actions.act_window"]
        )
        self.assertGreaterEqual(len(actions), 5)
        for user in (self.dealer_admin, self.agent):
            for action in actions:
                if not self.env[action.res_model].with_user(user).has_access("read"):
                    continue
                modes = [mode.strip() for mode in action.view_mode.split(",")]
                with self.subTest(action=action.name, user=user.login):
                    views = self.env[action.res_model].with_user(user).get_views([(False, m) for m in modes])
                    self.assertEqual(set(views["views"]), set(modes))
                    self.env[action.res_model].with_user(user).web_search_read([], {"display_name": {}}, limit=5)

    def test_partner_form_for_each_group(self):
        for user in (self.agent, self.advisor, self.manager, self.dealer_admin):
            with self.subTest(user=user.login):
                arch = self.env["res.partner"].with_user(user).get_views([(False, "form")])["views"]["form"]["arch"]
                self.assertIn("auto_profile_state", arch)
                if user.has_group("auto_crm.group_manager"):
                    self.assertIn('name="auto_id_card_number"', arch)
                else:
                    self.assertNotIn('name="auto_id_card_number"', arch)
                    self.assertIn("auto_id_card_number_masked", arch)
