"""What agents and advisors read of a customer's ID card number and birthday, by every path they have.

A Chinese resident ID number is region (6) + birth date (8) + sequence (3) + check (1). Agents and
advisors see the first two and last two characters of it, and the month and day of the birthday:
nothing they can read holds the birth year, so the number cannot be completed from what they read.
"""

import base64
import datetime
import io
import zipfile
from unittest.mock import patch

from psycopg2 import IntegrityError

from odoo import Command
from odoo.exceptions import AccessError, ValidationError
from odoo.tests import Form, tagged
from odoo.tools import mute_logger

from odoo.addons.mail.tools.discuss import Store

from .common import AutoCrmCase

VALID_ID = "11010519491231002X"
OTHER_ID = "51010719900101123X"
THIRD_ID = "330106197208150457"
DEMO_CUSTOMERS = ["partner_zhang_wei_demo", "partner_wang_fang_demo", "partner_li_na_demo", "partner_chen_jie_demo"]
NEUTRAL = "ID Card Number: this number cannot be recorded here; ask an after-sales manager."


@tagged("post_install", "-at_install")
class TestPersonalData(AutoCrmCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.person = cls.env["res.partner"].create(
            {
                "name": "李四",
                "auto_customer": True,
                "auto_callback_consent": True,
                "auto_id_card_number": VALID_ID,
                "auto_birthday": "1949-12-31",
            }
        )
        cls.staff = (cls.agent, cls.advisor)

    def assertReveals(self, text, number, birthday=None):
        """The text holds neither the number, nor its birth-date digits, nor the birthday with its year."""
        birth_digits = number[6:14]
        self.assertNotIn(number, text)
        self.assertNotIn(birth_digits, text)
        self.assertNotIn(f"{birth_digits[:4]}-{birth_digits[4:6]}-{birth_digits[6:]}", text)
        if birthday:
            self.assertNotIn(str(birthday), text)

    # ------------------------------------------------------------------ the mask and the birthday parts
    def test_mask_shows_first_two_and_last_two(self):
        for user in self.staff:
            with self.subTest(user=user.login):
                partner = self.person.with_user(user)
                self.assertEqual(partner.auto_id_card_number_masked, "11**************2X")
                self.assertEqual(
                    partner.read(["auto_id_card_number_masked"])[0]["auto_id_card_number_masked"],
                    "11" + "*" * 14 + "2X",
                )

    def test_birthday_month_and_day_for_staff_full_date_for_managers(self):
        for user in self.staff:
            with self.subTest(user=user.login):
                partner = self.person.with_user(user)
                self.assertEqual(partner.auto_birthday_month_day, "12-31")
                with self.assertRaises(AccessError):
                    partner.read(["auto_birthday"])
        as_manager = self.person.with_user(self.manager)
        self.assertEqual(str(as_manager.read(["auto_birthday"])[0]["auto_birthday"]), "1949-12-31")
        self.assertEqual(as_manager.auto_birthday_month_day, "12-31")

    def test_agents_record_a_birthday_without_reading_its_year(self):
        partner = self.env["res.partner"].with_user(self.agent).create({"name": "王五"})
        partner.auto_birthday_month_day = "1988-05-10"
        self.assertEqual(str(partner.sudo().auto_birthday), "1988-05-10")
        self.assertEqual(partner.auto_birthday_month_day, "05-10")
        # The month and day sent back unchanged keep the date.
        partner.auto_birthday_month_day = "05-10"
        self.assertEqual(str(partner.sudo().auto_birthday), "1988-05-10")
        for bad in ("05-11", "10/05/1988", "1988-13-01"):
            with self.subTest(bad=bad), self.assertRaises(ValidationError) as caught:
                partner.auto_birthday_month_day = bad
            self.assertIn("YYYY-MM-DD", str(caught.exception))
        partner.invalidate_recordset()
        self.assertEqual(str(partner.sudo().auto_birthday), "1988-05-10")
        with Form(self.env["res.partner"].with_user(self.agent).with_context(default_auto_customer=True)) as form:
            form.name = "周七"
            form.auto_birthday_month_day = "1990-07-15"
        self.assertEqual(str(form.record.sudo().auto_birthday), "1990-07-15")
        self.assertEqual(form.record.auto_birthday_month_day, "07-15")

    def test_form_views_hide_the_full_values_from_staff(self):
        for user in (*self.staff, self.manager):
            with self.subTest(user=user.login):
                arch = self.env["res.partner"].with_user(user).get_views([(False, "form")])["views"]["form"]["arch"]
                manager = user.has_group("auto_crm.group_manager")
                self.assertEqual('name="auto_birthday"' in arch, manager)
                self.assertEqual('name="auto_birthday_month_day"' in arch, not manager)

    # ------------------------------------------------------------------ uniqueness errors
    def test_duplicate_refused_without_echoing_the_number(self):
        other = self.env["res.partner"].create({"name": "孙八", "auto_customer": True})
        for user in self.staff:
            with self.subTest(user=user.login):
                with self.assertRaises(ValidationError) as caught:
                    self.env["res.partner"].with_user(user).create({"name": "X", "auto_id_card_number": VALID_ID})
                self.assertEqual(str(caught.exception), NEUTRAL)
                with self.assertRaises(ValidationError) as caught:
                    other.with_user(user).auto_id_card_number_masked = VALID_ID
                self.assertEqual(str(caught.exception), NEUTRAL)
                self.assertNotIn(self.person.name, str(caught.exception))
        self.assertFalse(other.sudo().auto_id_card_number)
        # A manager, who reads the number anyway, is told which customer holds it.
        with self.assertRaises(ValidationError) as caught:
            other.with_user(self.manager).write({"auto_id_card_number": VALID_ID})
        self.assertIn(self.person.name, str(caught.exception))
        self.assertNotIn(VALID_ID, str(caught.exception))
        # Twice in one call.
        with self.assertRaises(ValidationError) as caught:
            self.env["res.partner"].with_user(self.agent).create(
                [{"name": "A", "auto_id_card_number": OTHER_ID}, {"name": "B", "auto_id_card_number": OTHER_ID}]
            )
        self.assertEqual(str(caught.exception), NEUTRAL)
        # Another store's customer may hold the same number (one index per store).
        mine = self.env["res.partner"].create(
            {"name": "C", "auto_id_card_number": OTHER_ID, "company_id": self.company.id}
        )
        theirs = self.env["res.partner"].create(
            {"name": "D", "auto_id_card_number": OTHER_ID, "company_id": self.other_company.id}
        )
        self.assertEqual(mine.auto_id_card_number, theirs.auto_id_card_number)
        with self.assertRaises(ValidationError):
            theirs.company_id = self.company
        # Archived customers keep their number.
        mine.active = False
        with self.assertRaises(ValidationError):
            self.env["res.partner"].create(
                {"name": "E", "auto_id_card_number": OTHER_ID, "company_id": self.company.id}
            )

    @mute_logger("odoo.sql_db")
    def test_unique_index_violation_is_re_raised_clean(self):
        """Should the pre-check miss one (a concurrent transaction), the index's error, which prints the
        number, becomes the same neutral message."""
        Partner = type(self.env["res.partner"])
        with patch.object(Partner, "_auto_crm_check_id_card_numbers_free", lambda *args, **kwargs: None):
            with self.assertRaises(ValidationError) as caught:
                self.env["res.partner"].with_user(self.agent).create({"name": "X", "auto_id_card_number": VALID_ID})
            self.assertEqual(str(caught.exception), NEUTRAL)
            self.assertIsNone(caught.exception.__cause__)
            other = self.env["res.partner"].create({"name": "Y"})
            with self.assertRaises(ValidationError) as caught:
                other.with_user(self.manager).write({"auto_id_card_number": VALID_ID})
            self.assertEqual(str(caught.exception), NEUTRAL)
        self.assertFalse(other.sudo().auto_id_card_number)
        # The index itself still holds.
        with self.assertRaises(IntegrityError), self.cr.savepoint():
            self.cr.execute("UPDATE res_partner SET auto_id_card_number = %s WHERE id = %s", [VALID_ID, other.id])

    def test_malformed_number_error_is_masked(self):
        with self.assertRaises(ValidationError) as caught:
            self.env["res.partner"].with_user(self.agent).create(
                {"name": "X", "auto_id_card_number": "110105194912310021"}
            )
        self.assertIn("11**************21", str(caught.exception))
        self.assertReveals(str(caught.exception), "110105194912310021")

    # ------------------------------------------------------------------ searching, grouping, ordering
    def test_search_on_the_number_or_birthday_refused_to_staff(self):
        for user in self.staff:
            Partner = self.env["res.partner"].with_user(user)
            for domain in (
                [("auto_id_card_number", "=like", "110105%")],
                [("auto_id_card_number", "ilike", "19491231")],
                [("auto_id_card_number", "=", VALID_ID)],
                [("auto_birthday", "=", "1949-12-31")],
                [("auto_birthday", "<", "1950-01-01")],
            ):
                with self.subTest(user=user.login, domain=domain), self.assertRaises(AccessError):
                    Partner.search(domain)
            for order in ("auto_id_card_number", "auto_birthday desc"):
                with self.subTest(user=user.login, order=order), self.assertRaises(AccessError):
                    Partner.search([("auto_customer", "=", True)], order=order)
            with self.assertRaises(AccessError):
                Partner.name_search("x", args=[("auto_id_card_number", "like", "1101")])
        self.assertIn(
            self.person,
            self.env["res.partner"].with_user(self.manager).search([("auto_id_card_number", "=like", "110105%")]),
        )

    @mute_logger("odoo.osv.expression")
    def test_masked_fields_are_not_searchable(self):
        """A domain on the masked number or the month and day is no oracle: it is not searchable, and
        the same records come back whatever the value."""
        for user in self.staff:
            Partner = self.env["res.partner"].with_user(user)
            description = Partner.fields_get(["auto_id_card_number_masked", "auto_birthday_month_day"])
            self.assertFalse(description["auto_id_card_number_masked"]["searchable"])
            self.assertFalse(description["auto_birthday_month_day"]["searchable"])
            for field, right, wrong in (
                ("auto_id_card_number_masked", "110105", "999999"),
                ("auto_id_card_number_masked", "2X", "7Y"),
                ("auto_birthday_month_day", "12-31", "02-30"),
            ):
                with self.subTest(user=user.login, field=field):
                    self.assertEqual(
                        Partner.search([(field, "ilike", right)]), Partner.search([(field, "ilike", wrong)])
                    )

    def test_name_search_does_not_match_the_number(self):
        for user in self.staff:
            Partner = self.env["res.partner"].with_user(user)
            for term in (VALID_ID, VALID_ID[:6], VALID_ID[6:14], VALID_ID[-4:]):
                with self.subTest(user=user.login, term=term):
                    self.assertFalse(Partner.name_search(term))
                    self.assertFalse(Partner.search([("display_name", "ilike", term)]))

    def test_read_group_by_the_number_or_birthday_refused_to_staff(self):
        for user in self.staff:
            Partner = self.env["res.partner"].with_user(user)
            for groupby, aggregates in (
                (["auto_id_card_number"], ["__count"]),
                (["auto_birthday:year"], ["__count"]),
                (["auto_birthday:day"], ["__count"]),
                (["auto_customer"], ["auto_id_card_number:count_distinct"]),
                (["auto_customer"], ["auto_birthday:min"]),
            ):
                with self.subTest(user=user.login, groupby=groupby, aggregates=aggregates):
                    with self.assertRaises(AccessError):
                        Partner._read_group([], groupby, aggregates)
            with self.assertRaises(AccessError):
                Partner.read_group([], ["auto_id_card_number"], ["auto_id_card_number"])
            with self.assertRaises(AccessError):
                Partner.read_group([], ["auto_birthday"], ["auto_birthday:year"])

    # ------------------------------------------------------------------ reading, exporting, onchange
    def test_read_export_and_onchange_refuse_the_full_values(self):
        self.agent.groups_id += self.env.ref("base.group_allow_export")
        self.advisor.groups_id += self.env.ref("base.group_allow_export")
        for user in self.staff:
            partner = self.person.with_user(user)
            for field in ("auto_id_card_number", "auto_birthday"):
                with self.subTest(user=user.login, field=field):
                    with self.assertRaises(AccessError):
                        partner.read([field])
                    with self.assertRaises(AccessError):
                        partner.search_read([("id", "=", partner.id)], [field])
                    with self.assertRaises(AccessError):
                        partner.web_read({field: {}})
                    with self.assertRaises(AccessError):
                        partner.export_data([field])
                    with self.assertRaises(AccessError):
                        partner.onchange({}, [], {field: {}})
            rows = partner.export_data(["name", "auto_id_card_number_masked", "auto_birthday_month_day"])["datas"]
            self.assertEqual(rows, [["李四", "11**************2X", "12-31"]])

    def test_tracking_values_of_the_number_hidden_from_staff(self):
        """The number is tracked for the managers' audit; Odoo shows the tracking values of a field with
        groups only to those groups, and mail.tracking.value is for system administrators."""
        # tracking on again (the test class switches it off)
        partner = (
            self.env["res.partner"]
            .with_context(tracking_disable=False, mail_create_nolog=False)
            .create({"name": "钱九", "auto_customer": True})
        )
        partner.with_user(self.manager).write({"auto_id_card_number": OTHER_ID})
        partner.with_user(self.manager).write({"auto_id_card_number": THIRD_ID})
        self.env.flush_all()
        self.cr.flush()
        messages = partner.message_ids
        trackings = messages.sudo().tracking_value_ids
        self.assertTrue(trackings, "the changes of the number are tracked")
        manager_view = str(Store(messages.with_user(self.manager), for_current_user=True).get_result())
        self.assertIn(THIRD_ID, manager_view)
        for user in self.staff:
            with self.subTest(user=user.login):
                with self.assertRaises(AccessError):
                    self.env["mail.tracking.value"].with_user(user).search([("id", "in", trackings.ids)])
                with self.assertRaises(AccessError):
                    trackings.with_user(user).read(["old_value_char", "new_value_char"])
                with self.assertRaises(AccessError):
                    messages.with_user(user).read(["tracking_value_ids"])
                self.assertFalse(trackings._filter_has_field_access(self.env(user=user)))
                view = str(Store(messages.with_user(user), for_current_user=True).get_result())
                for number in (OTHER_ID, THIRD_ID):
                    self.assertReveals(view, number)
                    self.assertNotIn(number[:6], view)

    def test_users_inherit_the_restriction(self):
        """res.users carries its partner's fields (_inherits): the same groups hold there."""
        self.manager.partner_id.write({"auto_id_card_number": OTHER_ID, "auto_birthday": "1990-01-01"})
        for user in self.staff:
            with self.subTest(user=user.login):
                Users = self.env["res.users"].with_user(user)
                for field in ("auto_id_card_number", "auto_birthday"):
                    with self.assertRaises(AccessError):
                        self.manager.with_user(user).read([field])
                    with self.assertRaises(AccessError):
                        Users.search([(field, "!=", False)])
                values = self.manager.with_user(user).read(["auto_id_card_number_masked", "auto_birthday_month_day"])
                self.assertEqual(values[0]["auto_id_card_number_masked"], "51**************3X")
                self.assertEqual(values[0]["auto_birthday_month_day"], "01-01")

    # ------------------------------------------------------------------ the monthly report's workbooks
    def test_xlsx_exports_hold_no_number_nor_birth_date(self):
        today = datetime.date.today()
        self.env["auto_crm.callback"].create(
            {"partner_id": self.person.id, "user_id": self.agent.id, "date_due": today, "company_id": self.company.id}
        )
        wizard = (
            self.env["auto_crm.callback.report.wizard"]
            .with_user(self.agent)
            .create({"month": today, "company_ids": [Command.set(self.company.ids)]})
        )
        for export in (wizard.action_export_xlsx, wizard.action_export_csi_xlsx):
            with self.subTest(export=export.__name__):
                export()
                with zipfile.ZipFile(io.BytesIO(base64.b64decode(wizard.xlsx_file))) as package:
                    text = "".join(package.read(name).decode("utf-8", "replace") for name in package.namelist())
                self.assertReveals(text, VALID_ID, "1949-12-31")
                self.assertNotIn(VALID_ID[:6], text)
                if export == wizard.action_export_xlsx:
                    self.assertIn(self.person.name, text, "the workbook lists the customer's callback")

    # ------------------------------------------------------------------ the attack on the demo database
    def test_staff_cannot_rebuild_any_demo_id_number(self):
        """For every customer with an ID number (the demo customers among them when demo data is loaded),
        read as an agent and as an advisor every field they may read, then try to assemble the number:
        the mask gives characters 1-2 and 17-18, the month and day characters 11-14; the district and the
        birth year (characters 3-10) and the first two of the sequence are nowhere."""
        numbered = (
            self.env["res.partner"]
            .sudo()
            .with_context(active_test=False)
            .search([("auto_id_card_number", "!=", False)])
        )
        demo = [self.env.ref(f"auto_crm.{xmlid}", raise_if_not_found=False) for xmlid in DEMO_CUSTOMERS]
        if any(demo):
            self.assertTrue(all(demo), "the four demo customers with an ID number")
            self.assertLessEqual(set(demo), set(numbered))
        self.assertIn(self.person, numbered)
        for user in self.staff:
            Partner = self.env["res.partner"].with_user(user)
            description = Partner.fields_get(attributes=["type"])
            self.assertNotIn("auto_id_card_number", description)
            self.assertNotIn("auto_birthday", description)
            readable = [name for name, desc in description.items() if desc["type"] != "binary"]
            partners = numbered.with_user(user)._filtered_access("read")
            self.assertIn(self.person, partners)
            if any(demo):
                self.assertLessEqual(set(demo), set(partners))
            for values in partners.read(readable):
                partner = self.env["res.partner"].browse(values["id"]).sudo()
                number, birthday = partner.auto_id_card_number, partner.auto_birthday
                with self.subTest(user=user.login, partner=partner.name):
                    text = repr(values)
                    self.assertReveals(text, number, birthday)
                    self.assertNotIn(number[:6], text, "the district")
                    self.assertNotIn(number[6:10], text, "the birth year")
                    masked = values["auto_id_card_number_masked"]
                    self.assertEqual(masked, number[:2] + "*" * 14 + number[-2:])
                    if birthday:
                        self.assertEqual(values["auto_birthday_month_day"], birthday.strftime("%m-%d"))
                    # What the readable values give of the number, character by character.
                    known = {i for i, char in enumerate(masked) if char != "*"}
                    if values.get("auto_birthday_month_day") == number[10:12] + "-" + number[12:14]:
                        known |= set(range(10, 14))
                    self.assertEqual(known & set(range(2, 10)), set(), "district and birth year stay hidden")
                    self.assertLessEqual(len(known), 8)
