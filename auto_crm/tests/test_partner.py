from psycopg2 import IntegrityError

from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.tests import Form, tagged
from odoo.tools import mute_logger

from .common import AutoCrmCase

VALID_ID = "11010519491231002X"


@tagged("post_install", "-at_install")
class TestPartnerProfile(AutoCrmCase):
    def test_id_card_number_validated(self):
        partner = self.env["res.partner"].create({"name": "李四", "auto_id_card_number": VALID_ID.lower()})
        self.assertEqual(partner.auto_id_card_number, VALID_ID, "the check character is upper-cased")
        cases = {
            "110105194912310021": "check character",
            "110105194913310021": "birth date",
            "1234": "18 characters",
        }
        for bad, reason in cases.items():
            with self.subTest(bad=bad), self.assertRaises(ValidationError) as caught:
                self.env["res.partner"].create({"name": "Bad", "auto_id_card_number": bad})
            self.assertIn("ID Card Number", str(caught.exception))
            self.assertIn(reason, str(caught.exception))

    def test_id_card_number_invalid_on_write_changes_nothing(self):
        partner = self.env["res.partner"].create({"name": "李四", "auto_id_card_number": VALID_ID})
        with self.assertRaises(ValidationError):
            partner.write({"auto_id_card_number": "110105194912310021", "auto_occupation": "Driver"})
        partner.invalidate_recordset()
        self.assertEqual(partner.auto_id_card_number, VALID_ID)
        self.assertFalse(partner.auto_occupation)

    @mute_logger("odoo.sql_db")
    def test_id_card_number_unique_per_company(self):
        first = self.env["res.partner"].create(
            {"name": "A", "auto_id_card_number": VALID_ID, "company_id": self.company.id}
        )
        # The ORM refuses it first, with a message that does not repeat the number...
        with self.assertRaises(ValidationError) as caught:
            self.env["res.partner"].create(
                {"name": "B", "auto_id_card_number": VALID_ID, "company_id": self.company.id}
            )
        self.assertNotIn(VALID_ID, str(caught.exception))
        # ...and the unique index still holds underneath.
        second = self.env["res.partner"].create({"name": "B", "company_id": self.company.id})
        with self.assertRaises(IntegrityError), self.cr.savepoint():
            self.cr.execute(
                "UPDATE res_partner SET auto_id_card_number = %s WHERE id = %s",
                [first.auto_id_card_number, second.id],
            )

    def test_id_card_number_masked_for_non_managers(self):
        partner = self.env["res.partner"].create({"name": "李四", "auto_id_card_number": VALID_ID})
        as_agent = partner.with_user(self.agent)
        self.assertEqual(as_agent.auto_id_card_number_masked, "11**************2X")
        with self.assertRaises(AccessError):
            as_agent.read(["auto_id_card_number"])
        with self.assertRaises(AccessError):
            partner.with_user(self.advisor).read(["auto_id_card_number"])
        self.assertEqual(
            partner.with_user(self.manager).read(["auto_id_card_number"])[0]["auto_id_card_number"], VALID_ID
        )

    def test_personal_data_hidden_from_other_staff(self):
        partner = self.env["res.partner"].create(
            {
                "name": "李四",
                "auto_id_card_number": VALID_ID,
                "auto_birthday": "1949-12-31",
                "auto_income_band": "gt50k",
            }
        )
        for field in (
            "auto_id_card_number",
            "auto_id_card_number_masked",
            "auto_birthday",
            "auto_birthday_month_day",
            "auto_income_band",
        ):
            with self.subTest(field=field), self.assertRaises(AccessError):
                partner.with_user(self.group_user).read([field])
        # The year of birth is in the ID number: agents read the month and day, managers the date.
        self.assertEqual(partner.with_user(self.agent).auto_birthday_month_day, "12-31")
        with self.assertRaises(AccessError):
            partner.with_user(self.agent).read(["auto_birthday"])
        self.assertEqual(str(partner.with_user(self.manager).auto_birthday), "1949-12-31")

    def test_agent_can_enter_but_not_read_id_number(self):
        partner = self.env["res.partner"].with_user(self.agent).create({"name": "王五"})
        partner.auto_id_card_number_masked = VALID_ID
        self.assertEqual(partner.sudo().auto_id_card_number, VALID_ID)
        # Sending the masked value back unchanged keeps the number.
        partner.auto_id_card_number_masked = partner.auto_id_card_number_masked
        self.assertEqual(partner.sudo().auto_id_card_number, VALID_ID)
        with self.assertRaises(ValidationError):
            partner.auto_id_card_number_masked = "110105194912310021"

    def test_profile_needs_three_people(self):
        partner = self.env["res.partner"].with_user(self.agent).create({"name": "赵六", "auto_customer": True})
        self.assertEqual(partner.auto_profile_created_by_id, self.agent)
        with self.assertRaises(UserError) as caught:
            partner.action_profile_verify()
        self.assertIn("Verified By", str(caught.exception))
        partner.with_user(self.advisor).action_profile_verify()
        self.assertEqual(partner.auto_profile_state, "verified")
        self.assertEqual(partner.auto_profile_verified_by_id, self.advisor)
        for user in (self.agent, self.advisor):
            with self.assertRaises(UserError):
                partner.with_user(user).action_profile_file()
        partner.with_user(self.manager).action_profile_file()
        self.assertEqual(partner.auto_profile_state, "confirmed")
        self.assertEqual(partner.auto_profile_filed_by_id, self.manager)
        with self.assertRaises(UserError):
            partner.with_user(self.manager).action_profile_verify()

    def test_profile_reset_only_by_managers(self):
        partner = self.env["res.partner"].with_user(self.agent).create({"name": "赵六"})
        partner.with_user(self.advisor).action_profile_verify()
        with self.assertRaises(AccessError):
            partner.with_user(self.advisor).action_profile_reset()
        partner.with_user(self.manager).action_profile_reset()
        self.assertEqual(partner.auto_profile_state, "draft")
        self.assertFalse(partner.auto_profile_verified_by_id)

    def test_dnd_and_consent_dates(self):
        self.customer.write({"auto_do_not_disturb": True, "auto_do_not_disturb_reason": "asked on the phone"})
        self.assertTrue(self.customer.auto_do_not_disturb_date)
        partner = self.env["res.partner"].create({"name": "X"})
        partner.auto_callback_consent = True
        self.assertTrue(partner.auto_callback_consent_date)

    def test_history_counts_and_smart_buttons(self):
        visit = self.make_visit()
        self.assertEqual(self.customer.auto_vehicle_count, 1)
        self.assertEqual(self.customer.auto_visit_count, 1)
        action = self.customer.action_view_auto_visits()
        self.assertEqual(self.env[action["res_model"]].search(action["domain"]), visit)
        action = self.customer.action_view_auto_vehicles()
        self.assertEqual(self.env[action["res_model"]].search(action["domain"]), self.vehicle)

    def test_customer_form_as_agent(self):
        with Form(self.env["res.partner"].with_user(self.agent).with_context(default_auto_customer=True)) as form:
            form.name = "周七"
            form.auto_occupation = "Driver"
            form.auto_callback_consent = True
        partner = form.save()
        self.assertTrue(partner.auto_customer)
        self.assertEqual(partner.auto_profile_state, "draft")
