"""The advisor's day at the desk (issue 12): the customer's consent captured and warned about, the member
discount applied to the lines, and errors worded in the customer's terms."""

import logging

from freezegun import freeze_time
from lxml import etree

from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.tests import Form, HttpCase, new_test_user, tagged
from odoo.tools.misc import format_amount

from ..lib.vin import with_check_digit
from .callback_common import CallbackCase
from .common import AutoCrmCase
from .loyalty_common import LoyaltyCase


def visit_form_arch(env):
    return etree.fromstring(env["auto_crm.service.visit"].get_views([(False, "form")])["views"]["form"]["arch"])


@tagged("post_install", "-at_install")
class TestDeskConsent(CallbackCase):
    """The customer's mobile, consent and do-not-disturb at the desk, and the warning when the customer
    will not be called back after the visit."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        # The store calls its customers after a delivered visit (CallbackCase turned the seeded rules off).
        cls.rule = cls.make_rule(name="After service", delay_days=0, window_days=5)
        Partner = cls.env["res.partner"]
        cls.silent = Partner.create({"name": "李四", "auto_customer": True, "mobile": "+86 138 0000 0002"})
        cls.dnd = Partner.create(
            {
                "name": "王五",
                "auto_customer": True,
                "mobile": "+86 138 0000 0003",
                "auto_callback_consent": True,
                "auto_do_not_disturb": True,
                "auto_do_not_disturb_reason": "Complained about calls",
            }
        )
        cls.no_phone = Partner.create({"name": "赵六", "auto_customer": True, "auto_callback_consent": True})

    def car_of(self, partner, number):
        return self.env["auto_crm.vehicle"].create({"vin": self.make_vin(number), "partner_id": partner.id})

    def test_visit_form_creates_customers_with_the_desk_form(self):
        """Create and edit... on the visit's customer opens the desk form (mobile, consent, do-not-disturb);
        quick create (a bare name) is not offered."""
        field = visit_form_arch(self.env(user=self.advisor)).xpath("//field[@name='partner_id']")[0]
        self.assertIn("auto_crm.res_partner_view_form_desk", field.get("context"))
        self.assertIn("'no_quick_create': True", field.get("options"))
        desk = self.env.ref("auto_crm.res_partner_view_form_desk")
        partner_env = self.env["res.partner"].with_user(self.advisor).with_context(default_auto_customer=True)
        form = Form(partner_env, view=desk)
        form.name = "钱七"
        form.mobile = "+86 139 0000 0007"
        form.auto_callback_consent = True
        partner = form.save()
        self.assertEqual(partner.mobile, "+8613900000007", "kept in E.164")
        self.assertTrue(partner.auto_callback_consent)
        self.assertTrue(partner.auto_customer)
        self.assertTrue(partner.auto_callback_consent_date, "consent is dated like on the full form")
        form = Form(partner_env, view=desk)
        form.name = "孙八"
        form.auto_do_not_disturb = True
        form.auto_do_not_disturb_reason = "Asked at the desk"
        self.assertTrue(form.save().auto_do_not_disturb)

    def test_visit_form_writes_the_customer_preferences(self):
        """The advisor sets the customer's mobile and consent on the visit itself: written on the customer,
        and the warning follows at once."""
        visit = self.make_visit(partner_id=self.no_phone.id, vehicle_id=self.car_of(self.no_phone, 701).id)
        self.assertIn("has no mobile or phone number", visit.callback_warning)
        with Form(visit.with_user(self.advisor)) as form:
            form.partner_mobile = "+86 137 0000 0006"
            self.assertFalse(form.callback_warning)
        self.assertEqual(self.no_phone.mobile, "+8613700000006", "kept in E.164")
        with Form(visit.with_user(self.advisor)) as form:
            form.partner_callback_consent = False
            self.assertIn("has not agreed to callbacks", form.callback_warning)
        self.assertFalse(self.no_phone.auto_callback_consent)
        # An agent reads visits but does not write them: not even the customer through them.
        with self.assertRaises(AccessError):
            visit.with_user(self.agent).write({"partner_callback_consent": True})

    def test_warning_says_why(self):
        cases = {
            self.silent: "has not agreed to callbacks",
            self.dnd: "asked not to be disturbed (Complained about calls)",
            self.no_phone: "has no mobile or phone number",
        }
        for number, (partner, reason) in enumerate(cases.items(), start=710):
            visit = self.make_visit(partner_id=partner.id, vehicle_id=self.car_of(partner, number).id)
            self.assertIn(partner.name, visit.callback_warning)
            self.assertIn(reason, visit.callback_warning)
        self.assertFalse(self.make_visit().callback_warning, "a consenting customer with a mobile is called")
        self.rule.active = False
        self.assertIn("no active callback rule", self.make_visit().callback_warning)

    def test_warning_follows_the_engine(self):
        """The warning is the engine's rule: the customers it warns about are those the engine skips."""
        visits = self.env["auto_crm.service.visit"]
        with freeze_time("2026-03-02 02:00:00"):
            for number, partner in enumerate((self.customer, self.silent, self.dnd), start=720):
                visit = self.make_visit(partner_id=partner.id, vehicle_id=self.car_of(partner, number).id)
                self.add_line(visit, "labour", 100)
                visits |= self.walk_to(visit, "followup")
            stats = self.env["auto_crm.callback.engine"]._preview(self.rule)
        self.assertEqual((stats["created"], stats["dnd"], stats["no_consent"]), (1, 1, 1))
        warned = visits.filtered("callback_warning")
        self.assertEqual(warned.partner_id, self.silent | self.dnd)

    def test_receive_and_deliver_warn(self):
        visit = self.make_visit(
            partner_id=self.silent.id, vehicle_id=self.car_of(self.silent, 730).id, mileage_in=1000
        ).with_user(self.advisor)
        action = visit.action_receive()
        self.assertEqual(action["tag"], "display_notification")
        self.assertEqual(action["params"]["type"], "warning")
        self.assertIn("has not agreed to callbacks", action["params"]["message"])
        notes = visit.message_ids.filtered(lambda m: "has not agreed to callbacks" in (m.body or ""))
        self.assertEqual(len(notes), 1, "a note in the chatter at reception")
        self.add_line(visit, "labour", 100)
        visit.action_start_repair()
        visit.action_request_inspection()
        visit.action_inspection_pass()
        visit.payment_method = "cash"
        visit.action_settle()
        action = visit.action_deliver()
        self.assertIn("has not agreed to callbacks", action["params"]["message"])
        notes = visit.message_ids.filtered(lambda m: "has not agreed to callbacks" in (m.body or ""))
        self.assertEqual(len(notes), 2, "and another at delivery")
        # A plain write of the stage does what the button does: the note is posted.
        other = self.make_visit(partner_id=self.dnd.id, vehicle_id=self.car_of(self.dnd, 731).id, mileage_in=1000)
        other.with_user(self.advisor).write({"state": "reception"})
        self.assertTrue(other.message_ids.filtered(lambda m: "asked not to be disturbed" in (m.body or "")))
        # A customer who will be called: no warning, no note.
        fine = self.make_visit(mileage_in=1000).with_user(self.advisor)
        self.assertIsNone(fine.action_receive())
        self.assertFalse(fine.message_ids.filtered(lambda m: "will not be called" in (m.body or "")))


@tagged("post_install", "-at_install")
class TestDeskDiscount(LoyaltyCase):
    """The member discount of the customer's tier on the lines; managers alone override it."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.gold.parts_discount = 10  # Gold: labour -5%, parts -10%

    def gold_visit(self):
        self.deliver(2500)  # the customer reaches Gold
        visit = self.make_visit(mileage_in=self._mileage + 500)
        self.assertEqual(visit.loyalty_tier_id, self.gold)
        return visit

    def test_lines_take_the_tier_discount_and_points_follow(self):
        visit = self.gold_visit()
        labour = self.add_line(visit, "labour", 400)
        part = self.add_line(visit, "part", 200, quantity=2)
        self.assertEqual((labour.discount, part.discount), (5, 10))
        self.assertEqual((labour.subtotal, part.subtotal), (380, 360))
        self.assertEqual(visit.amount_total, 740)
        # The line form: a new line and a changed type take the tier's discount.
        with Form(visit.with_user(self.advisor)) as form:
            with form.line_ids.new() as line:
                line.name = "Brake pads"
                line.line_type = "part"
                line.unit_price = 100
                self.assertEqual(line.discount, 10)
                line.line_type = "labour"
                self.assertEqual(line.discount, 5)
        self.assertEqual(visit.amount_total, 835)
        self.walk_to(visit, "followup")
        self.assertEqual(visit.amount_paid, 835)
        self.assertEqual(visit.loyalty_points_earned, 83, "points on the discounted amount (10% of 835)")

    def test_no_member_no_discount(self):
        visit = self.make_visit()
        self.assertFalse(visit.loyalty_tier_id)
        self.assertEqual(self.add_line(visit, "labour", 100).discount, 0)

    def test_discount_attacked_by_each_group(self):
        visit = self.gold_visit()
        line = self.add_line(visit, "labour", 400)
        refused = {"agent": (self.agent, AccessError), "advisor": (self.advisor, UserError)}
        for name, (user, error) in refused.items():
            with self.subTest(group=name):
                with self.assertRaises(error):
                    line.with_user(user).write({"discount": 30})
                with self.assertRaises(error):
                    self.env["auto_crm.service.visit.line"].with_user(user).create(
                        {"visit_id": visit.id, "name": "Wash", "unit_price": 50, "discount": 30}
                    )
                with self.assertRaises(error):
                    visit.with_user(user).write({"line_ids": [(1, line.id, {"discount": 0})]})
                self.assertEqual(line.discount, 5)
        with self.assertRaisesRegex(UserError, r"Discount \(%\).*T-Gold: 5%.*only after-sales managers"):
            line.with_user(self.advisor).write({"discount": 30})
        # The advisor may send the member discount itself (the form sends it with a new line).
        created = (
            self.env["auto_crm.service.visit.line"]
            .with_user(self.advisor)
            .create({"visit_id": visit.id, "name": "Wash", "unit_price": 50, "discount": 5})
        )
        self.assertEqual(created.discount, 5)
        line.with_user(self.advisor).write({"line_type": "part", "discount": 10})
        for name, user in {"manager": self.manager, "dealer admin": self.dealer_admin}.items():
            with self.subTest(group=name):
                line.with_user(user).write({"discount": 20})
                self.assertEqual(line.discount, 20)
                self.assertEqual(line.subtotal, 320)
        # The form shows the column read-only to the advisor, editable to the manager (presentation only).
        self.assertFalse(line.with_user(self.advisor).discount_editable)
        self.assertTrue(line.with_user(self.manager).discount_editable)
        with Form(visit.with_user(self.manager)) as form:
            with form.line_ids.edit(0) as row:
                row.discount = 15
        self.assertEqual(visit.line_ids.sorted("id")[0].discount, 15)
        # The override stays when an advisor changes the quantity.
        line.with_user(self.advisor).write({"quantity": 2})
        self.assertEqual(line.discount, 15)

    def test_delivered_lines_keep_their_discount(self):
        visit = self.gold_visit()
        line = self.add_line(visit, "labour", 400)
        self.walk_to(visit, "followup")
        self.gold.labour_discount = 50
        visit.invalidate_recordset()
        self.env.add_to_compute(line._fields["discount"], line)
        self.assertEqual(line.discount, 5)
        self.assertEqual(visit.amount_total, 380)


@tagged("post_install", "-at_install")
class TestDeskMessages(LoyaltyCase):
    """Errors in the customer's terms."""

    def test_amounts_in_the_store_currency(self):
        visit = self.make_visit(mileage_in=1000)
        self.add_line(visit, "labour", 785)
        self.walk_to(visit, "delivery")
        visit.payment_method = "cash"
        with self.assertRaises(UserError) as caught:
            visit.action_deliver()
        message = str(caught.exception)
        self.assertIn(format_amount(self.env, 785, self.company.currency_id), message)
        self.assertIn(format_amount(self.env, 0, self.company.currency_id), message)
        self.assertNotIn("785.0 ", message)
        with self.assertRaises(ValidationError) as caught:
            visit.amount_paid = 900
        self.assertIn(format_amount(self.env, 900, self.company.currency_id), str(caught.exception))

    def test_odometer_error_in_the_users_terms(self):
        self.env["auto_crm.vehicle.odometer"].create(
            {"vehicle_id": self.vehicle.id, "date": "2026-03-01", "value": 15000, "source": "manual"}
        )
        self.env.user.lang = "en_US"
        with freeze_time("2026-03-10 03:00:00"):
            visit = self.make_visit()
            form = Form(visit)
            with self.assertLogs("odoo.tests.form.onchange", "WARNING") as logs:
                form.mileage_in = 12000
            warning = "\n".join(logs.output)
            self.assertIn("Mileage In (km): 12,000 km is lower than the 15,000 km already read on 03/01/2026", warning)
            form.save()
            with self.assertRaises(ValidationError) as caught:
                visit.action_receive()
            message = str(caught.exception)
            self.assertIn("Mileage In (km)", message)
            self.assertIn("03/01/2026", message)
            self.assertNotIn("2026-03-01", message)
            self.assertEqual(visit.state, "appointment")
            visit.mileage_in = 15500
            self.assertFalse(visit._onchange_mileage_in_odometer())
            visit.action_receive()
            self.assertEqual(visit.state, "reception")

    def test_odometer_readings_dated_in_the_users_format(self):
        """The vehicle's own readings speak the same way (their like, on the car's form)."""
        Odometer = self.env["auto_crm.vehicle.odometer"]
        first = Odometer.create({"vehicle_id": self.vehicle.id, "date": "2026-03-01", "value": 15000})
        self.env.user.lang = "en_US"
        self.assertEqual(first.display_name, "15000 km on 03/01/2026")
        with self.assertRaises(ValidationError) as caught:
            Odometer.create({"vehicle_id": self.vehicle.id, "date": "2026-03-05", "value": 14000})
        self.assertIn("03/05/2026", str(caught.exception))
        self.assertIn("03/01/2026", str(caught.exception))
        self.assertNotIn("2026-03-01", str(caught.exception))

    def test_callbacks_created_in_the_right_number(self):
        Engine = self.env["auto_crm.callback.engine"]
        self.assertEqual(Engine._created_message(1, 1), "1 callback created by 1 rule.")
        self.assertEqual(Engine._created_message(4, 1), "4 callbacks created by 1 rule.")
        self.assertEqual(Engine._created_message(0, 3), "0 callbacks created by 3 rules.")

    def test_redeem_only_with_something_to_pay_and_within_the_balance(self):
        member = self.Member.create({"partner_id": self.customer.id, "program_id": self.program.id})
        member.with_user(self.manager).action_adjust(50, "Welcome")
        visit = self.make_visit(mileage_in=1000)
        button = visit_form_arch(self.env).xpath("//button[@name='action_open_redeem']")[0]
        self.assertIn("not amount_due", button.get("invisible"))
        with self.assertRaisesRegex(UserError, "Amount Due: nothing is left to pay"):
            visit.with_user(self.advisor).action_open_redeem()
        self.add_line(visit, "labour", 785)
        action = visit.with_user(self.advisor).action_open_redeem()
        self.assertEqual(action["res_model"], "auto_crm.loyalty.points.wizard")
        with self.assertRaises(UserError) as caught:
            visit.with_user(self.advisor)._loyalty_redeem(80)
        message = str(caught.exception)
        self.assertIn("50 points available (Points Available)", message)
        self.assertNotIn("left to pay", message)
        self.assertEqual(member.points_balance, 50)
        # The wizard of the button warns while the points are typed, and refuses with the same words.
        Wizard = self.env["auto_crm.loyalty.points.wizard"].with_user(self.advisor).with_context(**action["context"])
        form = Form(Wizard)
        with self.assertLogs("odoo.tests.form.onchange", "WARNING") as logs:
            form.points = 80
        self.assertIn("50 points available (Points Available)", "\n".join(logs.output))
        wizard = form.save()
        with self.assertRaisesRegex(UserError, r"50 points available \(Points Available\)"):
            wizard.action_confirm()
        with self.assertLogs("odoo.tests.form.onchange", "WARNING") as logs:
            form.points = 0
            form.points = 10
            logging.getLogger("odoo.tests.form.onchange").warning("no warning above")
        self.assertEqual(len(logs.output), 1, "10 points are within the balance and the amount due")
        form.save().action_confirm()
        self.assertEqual(member.points_balance, 40)


@tagged("post_install", "-at_install")
class TestDeskVehicle(AutoCrmCase):
    def test_vehicle_created_from_the_visit_keeps_the_plate(self):
        field = visit_form_arch(self.env(user=self.advisor)).xpath("//field[@name='vehicle_id']")[0]
        self.assertIn("'create_name_field': 'plate'", field.get("options"))
        self.assertIn("'no_quick_create': True", field.get("options"))
        # What "Create and edit..." opens after typing 粤b12345 in the visit's vehicle field.
        Vehicle = self.env["auto_crm.vehicle"].with_user(self.advisor)
        form = Form(Vehicle.with_context(default_plate="粤b12345", default_partner_id=self.customer.id))
        self.assertEqual(form.plate, "粤b12345")
        form.vin = self.make_vin(801)
        vehicle = form.save()
        self.assertEqual(vehicle.plate, "粤B12345")
        # A quick create cannot make a car without its VIN: it says so.
        with self.assertRaisesRegex(UserError, "VIN: a vehicle is created with its VIN"):
            Vehicle.name_create("粤B99999")

    def test_new_car_without_dates_has_no_segment_and_no_model_year(self):
        with freeze_time("2026-06-01"):
            Vehicle = self.env["auto_crm.vehicle"]
            new = Vehicle.create({"vin": self.make_vin(802)})
            bought = Vehicle.create({"vin": self.make_vin(803), "purchase_date": "2024-05-01"})
            self.assertFalse(new.segment)
            self.assertEqual(bought.segment, "out_of_warranty")
            mine = [("id", "in", (new | bought).ids)]
            self.assertEqual(Vehicle.search([*mine, ("segment", "=", "out_of_warranty")]), bought)
            self.assertEqual(Vehicle.search([*mine, ("segment", "=", False)]), new)
            self.assertEqual(Vehicle.search([*mine, ("segment", "!=", False)]), bought)
        self.assertFalse(new.model_year_pick, "no model year 0")
        form_arch = Vehicle.get_views([(False, "form")])["views"]["form"]["arch"]
        self.assertIn('name="model_year_pick"', form_arch)
        self.assertNotIn('name="model_year"', form_arch)
        with Form(new) as form:
            form.model_year_pick = "2022"
        self.assertEqual(new.model_year, 2022)


@tagged("post_install", "-at_install")
class TestDeskTour(HttpCase):
    def test_new_customer_and_car_from_the_visit(self):
        advisor = new_test_user(
            self.env, "desk_advisor", groups="auto_crm.group_advisor", name="Desk Advisor", password="desk_advisor"
        )
        self.start_tour("/odoo", "auto_crm_desk_tour", login=advisor.login)
        visit = self.env["auto_crm.service.visit"].search([("partner_id.name", "=", "Desk Tour Customer")])
        self.assertEqual(len(visit), 1)
        customer = visit.partner_id
        # typed "139 0000 0099": kept in E.164 with the store's country code (phone_validation)
        self.assertEqual(customer.mobile, "+8613900000099")
        self.assertTrue(customer.auto_customer)
        self.assertTrue(customer.auto_callback_consent)
        self.assertEqual(visit.vehicle_id.plate, "粤B54321")
        self.assertEqual(visit.vehicle_id.partner_id, customer)
        self.assertFalse(visit.callback_warning)

    def test_settlement_applies_the_member_discount(self):
        advisor = new_test_user(
            self.env, "desk_advisor2", groups="auto_crm.group_advisor", name="Desk Advisor 2", password="desk_advisor2"
        )
        company = self.env.company
        Program = self.env["auto_crm.loyalty.program"]
        program = Program._for_company(company) or Program.create({"name": "Desk Programme", "company_id": company.id})
        program.write({"earn_rate": 0.1, "point_value": 1.0})
        tier = self.env["auto_crm.loyalty.tier"].create(
            {"name": "Desk Gold", "program_id": program.id, "threshold": 987654, "labour_discount": 5}
        )
        customer = self.env["res.partner"].create(
            {"name": "Desk Member", "auto_customer": True, "mobile": "+86 138 0000 0042", "auto_callback_consent": True}
        )
        member = self.env["auto_crm.loyalty.member"].create({"partner_id": customer.id, "program_id": program.id})
        member._owned_write({"tier_id": tier.id})
        member.action_adjust(100, "Welcome")
        vehicle = self.env["auto_crm.vehicle"].create(
            {"vin": with_check_digit("LSVAU2180N2777777"), "partner_id": customer.id}
        )
        visit = self.env["auto_crm.service.visit"].create(
            {"partner_id": customer.id, "vehicle_id": vehicle.id, "mileage_in": 3000, "advisor_id": advisor.id}
        )
        visit.action_receive()
        visit.action_start_repair()
        visit.action_request_inspection()
        visit.action_inspection_pass()
        visit.payment_method = "cash"
        self.start_tour(
            f"/odoo/action-auto_crm.auto_crm_service_visit_action/{visit.id}",
            "auto_crm_settlement_tour",
            login=advisor.login,
        )
        self.assertEqual(visit.state, "followup")
        self.assertEqual(visit.line_ids.discount, 5)
        self.assertEqual(visit.amount_total, 950)
        self.assertEqual(visit.amount_paid, 950)
        self.assertEqual(visit.loyalty_points_earned, 95)
