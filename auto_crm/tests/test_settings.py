import re

from odoo import Command
from odoo.exceptions import AccessError, ValidationError
from odoo.tests import Form, HttpCase, new_test_user, tagged
from odoo.tools.safe_eval import safe_eval

from ..models.res_config_settings import DEALER_SETTINGS
from .common import AutoCrmCase

#: Dealer CRM settings of a store that are none of the defaults.
NON_DEFAULT = {
    "complaint_goodwill_limit": 1234.0,
    "complaint_callback_score_threshold": 3,
    "value_grade_a_spend": 20000.0,
    "value_grade_a_visits": 8,
    "value_grade_b_spend": 5000.0,
    "value_grade_b_visits": 3,
    "lifecycle_satisfied_visits": 3,
    "lifecycle_retained_visits": 4,
    "lifecycle_loyal_visits": 9,
    "lifecycle_at_risk_days": 120,
    "lifecycle_lost_days": 300,
    "retention_service_interval_months": 4,
    "retention_return_grace_months": 2,
    "completeness_profile": False,
    "auto_crm_tz": "Asia/Shanghai",
    "promise_risk_minutes": 90,
    # the agent's day (issue 12)
    "callback_retry_mode": "next_day",
    "callback_retry_hours": 3,
    "callback_opening_hour": 9.0,
    "callback_pressure_calls": 3,
    "callback_pressure_days": 14,
    # the customers at risk (issue 13)
    "auto_crm_risk_threshold": 65,
    # the questionnaire link (issue 14)
    "callback_link_expiry_days": 10,
    "callback_link_fallback_days": 2,
    # SMS quiet hours (issue 14)
    "auto_crm_sms_quiet_start": 22.0,
    "auto_crm_sms_quiet_end": 7.5,
}


@tagged("post_install", "-at_install")
class TestSettings(AutoCrmCase):
    """Settings → Dealer CRM: the store's settings on res.company, through Odoo's settings page."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        common = {"company_id": cls.company.id, "company_ids": [Command.set(cls.all_companies)]}
        # Odoo's settings page is for system administrators; of them, dealer administrators see this section.
        cls.settings_admin = new_test_user(
            cls.env,
            "crm_settings_admin",
            groups="auto_crm.group_admin,base.group_system",
            name="Dealer and Settings Administrator",
            **common,
        )
        cls.system_admin = new_test_user(
            cls.env, "crm_system_admin", groups="base.group_system", name="Settings Administrator", **common
        )
        Fields = cls.env["ir.model.fields"]
        cls.partner_fields = Fields.search([("model", "=", "res.partner"), ("name", "in", ("mobile", "email"))])
        cls.vehicle_fields = Fields.search([("model", "=", "auto_crm.vehicle"), ("name", "=", "plate")])
        cls.company.write(
            dict(
                NON_DEFAULT,
                completeness_partner_field_ids=[Command.set(cls.partner_fields.ids)],
                completeness_vehicle_field_ids=[Command.set(cls.vehicle_fields.ids)],
            )
        )
        cls.expected = dict(
            NON_DEFAULT,
            completeness_partner_field_ids=cls.partner_fields,
            completeness_vehicle_field_ids=cls.vehicle_fields,
        )

    def settings_of(self, company):
        company.invalidate_recordset()
        return {name: company[name] for name in DEALER_SETTINGS}

    def settings(self, user=None, company=None):
        Settings = self.env["res.config.settings"].with_user(user or self.settings_admin)
        return Settings.with_company(company) if company else Settings

    def test_every_moved_setting_is_offered(self):
        self.assertEqual(set(self.expected), set(DEALER_SETTINGS))
        for name in DEALER_SETTINGS:
            with self.subTest(setting=name):
                self.assertEqual(self.env["res.config.settings"]._fields[name].related, f"company_id.{name}")
        program = self.env["auto_crm.loyalty.program"]._fields
        for old in ("value_a_spend", "lost_days", "service_interval_months", "completeness_partner_field_ids"):
            self.assertNotIn(old, program, "the loyalty programme keeps only loyalty")

    def test_saving_unchanged_settings_changes_nothing(self):
        other_before = self.settings_of(self.other_company)
        self.assertEqual(self.settings_of(self.company), self.expected)
        # As the web client does: open the settings, Save as shown (every value is sent), then execute().
        form = Form(self.settings())
        for name, value in NON_DEFAULT.items():
            self.assertEqual(form[name], value, f"{name} shows the store's value")
        self.assertEqual(set(form.completeness_partner_field_ids), set(self.partner_fields))
        form.save().execute()
        self.assertEqual(self.settings_of(self.company), self.expected)
        # Through the ORM, and in the second store.
        self.settings().create({}).execute()
        self.settings(company=self.other_company).create({}).execute()
        self.assertEqual(self.settings_of(self.company), self.expected)
        self.assertEqual(self.settings_of(self.other_company), other_before)

    def test_a_change_lands_on_the_store(self):
        birthday = self.env["ir.model.fields"]._get("res.partner", "auto_birthday")
        form = Form(self.settings())
        form.lifecycle_lost_days = 400
        form.value_grade_a_spend = 25000
        form.completeness_profile = True
        form.complaint_goodwill_limit = 800
        form.completeness_partner_field_ids.add(birthday)
        form.auto_crm_tz = "Asia/Urumqi"
        form.save().execute()
        changed = {
            "auto_crm_tz": "Asia/Urumqi",
            "lifecycle_lost_days": 400,
            "value_grade_a_spend": 25000,
            "completeness_profile": True,
            "complaint_goodwill_limit": 800,
            "completeness_partner_field_ids": self.partner_fields | birthday,
        }
        self.assertEqual(self.settings_of(self.company), dict(self.expected, **changed))
        # The settings of the current store only.
        other_before = self.settings_of(self.other_company)
        self.settings(company=self.other_company).create({"lifecycle_at_risk_days": 90}).execute()
        self.assertEqual(self.other_company.lifecycle_at_risk_days, 90)
        self.assertEqual(self.settings_of(self.other_company), dict(other_before, lifecycle_at_risk_days=90))
        self.assertEqual(self.company.lifecycle_at_risk_days, 120)

    def test_a_bad_value_names_the_field(self):
        cases = [
            ({"lifecycle_lost_days": 100}, "At Risk after"),
            ({"lifecycle_at_risk_days": 0}, "At Risk after"),
            ({"lifecycle_loyal_visits": 2}, "Satisfied from"),
            ({"lifecycle_satisfied_visits": 1}, "Satisfied from"),
            ({"retention_service_interval_months": 0}, "Service Interval"),
            ({"retention_return_grace_months": -1}, "Return Grace"),
            ({"value_grade_b_spend": -5}, "Grade B: Spend (12 months)"),
            ({"value_grade_b_spend": 30000}, "Grade A: Spend (12 months)"),
            ({"value_grade_b_visits": 0}, "Grade B: Visits (12 months)"),
            ({"value_grade_a_visits": 2}, "Grade A: Visits (12 months)"),
            ({"completeness_partner_field_ids": [Command.set(self.vehicle_fields.ids)]}, "Customer Fields"),
            ({"completeness_vehicle_field_ids": [Command.set(self.partner_fields.ids)]}, "Vehicle Fields"),
            ({"callback_link_expiry_days": 0}, "Questionnaire Link Valid (days)"),
            ({"callback_link_fallback_days": 91}, "Back to a Phone Call After (days)"),
        ]
        for vals, label in cases:
            with (
                self.subTest(vals=vals),
                self.assertRaisesRegex(ValidationError, "^" + re.escape(label + ":")),
                self.env.cr.savepoint(),
            ):
                self.settings().create(vals).execute()
        self.assertEqual(self.settings_of(self.company), self.expected)

    def test_only_dealer_administrators_change_them(self):
        # Without Odoo's settings rights there is no settings page at all (dealer administrators included).
        for user in (self.dealer_admin, self.manager, self.agent):
            with self.subTest(user=user.name), self.assertRaises(AccessError):
                self.settings(user).create({})
        # A system administrator who is not a dealer administrator: the section is not shown, the
        # values cannot be sent, and saving the other settings leaves them alone.
        arch = self.settings(self.system_admin).get_views([(False, "form")])["views"]["form"]["arch"]
        self.assertNotIn("lifecycle_lost_days", arch)
        self.assertNotIn('name="auto_crm"', arch)
        self.assertIn("lifecycle_lost_days", self.settings().get_views([(False, "form")])["views"]["form"]["arch"])
        with self.assertRaisesRegex(AccessError, re.escape("Lost after (days)")):
            self.settings(self.system_admin).create({"lifecycle_lost_days": 400})
        with self.assertRaises(AccessError):
            self.settings(self.system_admin).create({"completeness_profile": True})
        settings = self.settings(self.system_admin).create({})
        with self.assertRaises(AccessError):
            settings.write({"complaint_goodwill_limit": 0})
        settings.execute()
        Form(self.settings(self.system_admin)).save().execute()
        self.assertEqual(self.settings_of(self.company), self.expected)

    def test_menu_opens_the_dealer_crm_section(self):
        menu = self.env.ref("auto_crm.res_config_settings_menu")
        self.assertEqual(menu.parent_id, self.env.ref("auto_crm.auto_crm_menu_config"))
        action = menu.action
        self.assertEqual(action.res_model, "res.config.settings")
        self.assertEqual(action.view_id, self.env.ref("base.res_config_settings_view_form"))
        self.assertEqual(safe_eval(action.context)["module"], "auto_crm")
        arch = self.settings().get_views([(action.view_id.id, "form")])["views"]["form"]["arch"]
        self.assertIn('name="auto_crm"', arch)
        Menu = self.env["ir.ui.menu"]
        self.assertIn(menu.id, Menu.with_user(self.settings_admin)._visible_menu_ids())
        self.assertNotIn(menu.id, Menu.with_user(self.dealer_admin)._visible_menu_ids())
        # The custom dialog is gone.
        self.assertNotIn("auto_crm.complaint.settings", self.env.registry)
        self.assertFalse(self.env.ref("auto_crm.auto_crm_complaint_settings_menu", raise_if_not_found=False))


@tagged("post_install", "-at_install")
class TestSettingsTour(HttpCase):
    def test_settings_page_saves_the_store_settings(self):
        """Configuration → Settings in the browser: the Dealer CRM section shows the store's values and
        a Save changes only what was changed."""
        admin = new_test_user(
            self.env,
            "crm_settings_tour_admin",
            groups="auto_crm.group_admin,base.group_system",
            name="Settings Tour Administrator",
            password="crm_settings_tour_admin",
        )
        company = admin.company_id
        company.write({"lifecycle_at_risk_days": 180, "lifecycle_lost_days": 365, "complaint_goodwill_limit": 700})
        before = {name: company[name] for name in DEALER_SETTINGS}
        self.start_tour("/odoo/action-auto_crm.res_config_settings_action", "auto_crm_settings_tour", login=admin.login)
        company.invalidate_recordset()
        self.assertEqual({name: company[name] for name in DEALER_SETTINGS}, dict(before, lifecycle_lost_days=400))
