import hashlib
from datetime import timedelta

from stdnum.cn import ric

from odoo import fields
from odoo.exceptions import UserError, ValidationError
from odoo.tests import tagged

from .common import AutoCrmCase

#: Not a number, infinity and minus infinity, as a JSON-RPC client can send them (Python's json reads NaN).
NON_FINITE = (float("nan"), float("inf"), float("-inf"))
#: 100,000 characters that do not compress (a repeated letter would fit in an index row once compressed).
LONG_TEXT = "".join(hashlib.sha256(str(i).encode()).hexdigest() for i in range(3200))[:100_000].upper()
#: Stored Char fields in an index that the registry-wide test cannot try, and why.
UNTESTED_INDEXED_CHARS = set()


def id_number(region_and_birth_and_sequence):
    """A Chinese resident ID number with its right check character (17 digits given)."""
    return region_and_birth_and_sequence + ric.calc_check_digit(region_and_birth_and_sequence + "0")


@tagged("post_install", "-at_install")
class TestBadInput(AutoCrmCase):
    """Bad input gets a ValidationError that starts with the field's label and says the rule, and
    leaves the record and the database as they were."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.visit = cls.make_visit(cls)
        cls.line = cls.add_line(cls, cls.visit, price=100.0, quantity=2.0, discount=10.0)
        cls.complaint = cls.env["auto_crm.complaint"].create(
            {"subject": "Noise after repair", "partner_id": cls.customer.id, "vehicle_id": cls.vehicle.id}
        )
        cls.rule = cls.env["auto_crm.callback.rule"].create(
            {"name": "Bad input rule", "trigger": "service_delivered", "assignment": "user", "user_id": cls.manager.id}
        )

    def assertRefused(self, records, vals, label, exception=ValidationError):
        """``records.write(vals)`` is refused with a message starting with ``label``, and changes nothing."""
        before = {name: records[name] for name in vals}
        with self.assertRaises(exception) as caught:
            records.write(vals)
        self.assertTrue(str(caught.exception).startswith(label), f"{label!r} does not start {caught.exception}")
        records.invalidate_recordset()
        for name, value in before.items():
            if isinstance(value, float) and value != value:  # pragma: no cover - NaN never stored
                self.fail(f"{name} holds NaN")
            self.assertEqual(records[name], value, f"{name} changed")
        return caught.exception

    def assertCreateRefused(self, model, vals, label):
        """``create(vals)`` is refused with a message starting with ``label`` and creates nothing."""
        Model = self.env[model].with_context(active_test=False)
        count = Model.search_count([])
        with self.assertRaises(ValidationError) as caught:
            Model.create(vals)
        self.assertTrue(str(caught.exception).startswith(label), f"{label!r} does not start {caught.exception}")
        self.assertEqual(Model.search_count([]), count)
        return caught.exception

    # ------------------------------------------------------------------ vehicle
    def test_vin_of_18_characters(self):
        """A VIN is 17 characters: an 18th is refused, never cut off."""
        vin = self.make_vin(42)
        error = self.assertCreateRefused("auto_crm.vehicle", {"vin": vin + "7"}, "VIN")
        self.assertIn("17 characters, this one has 18", str(error))
        self.assertRefused(self.vehicle, {"vin": self.make_vin(43) + "7"}, "VIN")
        self.assertEqual(self.env["auto_crm.vehicle"].create({"vin": vin}).vin, vin)

    def test_model_year(self):
        """0 (not known) or 1950 to next year."""
        last = self.env.company._auto_crm_today().year + 1
        error = self.assertRefused(self.vehicle, {"model_year": 99999}, "Model Year")
        self.assertEqual(
            str(error), f"Model Year: 99999 is not a plausible model year; enter a year from 1950 to {last}."
        )
        for year in (1949, last + 1, -2020, 3_000_000_000):
            with self.subTest(year=year):
                self.assertRefused(self.vehicle, {"model_year": year}, "Model Year")
        self.assertCreateRefused("auto_crm.vehicle", {"vin": self.make_vin(44), "model_year": 1900}, "Model Year")
        for year in (0, 1950, last):
            self.vehicle.model_year = year
            self.assertEqual(self.vehicle.model_year, year)

    # ------------------------------------------------------------------ ID number
    def test_id_number_birth_year(self):
        """The birth date in an ID number lies from 1900 to today; the message does not show it."""
        partner = self.env["res.partner"].create(
            {"name": "王五", "auto_id_card_number": id_number("11010519800101002")}
        )
        tomorrow = self.env.company._auto_crm_today() + timedelta(days=1)
        for number in (
            id_number(f"110105{tomorrow:%Y%m%d}002"),
            id_number("11010520990101002"),
            id_number("11010518991231002"),
        ):
            with self.subTest(number=number):
                error = self.assertRefused(partner, {"auto_id_card_number": number}, "ID Card Number")
                self.assertIn("birth date", str(error))
                self.assertNotIn(number[6:14], str(error), "the birth date is masked")
                self.assertCreateRefused(
                    "res.partner", {"name": "Bad", "auto_id_card_number": number}, "ID Card Number"
                )
        partner.auto_id_card_number = id_number("11010519000101002")
        self.assertEqual(partner.auto_id_card_number[6:14], "19000101")

    # ------------------------------------------------------------------ odometer
    def test_odometer_bounds(self):
        """A reading is 0 to 2,000,000 km, dated from 1950 to today; so is the mileage of a visit."""
        Odometer = "auto_crm.vehicle.odometer"
        vehicle = self.vehicle.id
        for value in (3_000_000_000, 2_000_001, -1):
            with self.subTest(value=value):
                self.assertCreateRefused(Odometer, {"vehicle_id": vehicle, "value": value}, "Reading (km)")
        tomorrow = self.env.company._auto_crm_today() + timedelta(days=1)
        for day in (tomorrow, fields.Date.to_date("1949-12-31")):
            with self.subTest(day=day):
                self.assertCreateRefused(Odometer, {"vehicle_id": vehicle, "value": 10, "date": day}, "Date")
        reading = self.env[Odometer].create({"vehicle_id": vehicle, "value": 2_000_000})
        self.assertRefused(reading, {"value": 3_000_000_000}, "Reading (km)")
        self.assertRefused(self.visit, {"mileage_in": 3_000_000_000}, "Mileage In (km)")
        self.assertRefused(self.visit, {"mileage_in": 2_000_001}, "Mileage In (km)")
        self.assertRefused(self.vehicle, {"warranty_end_mileage": 3_000_000_000}, "Warranty End Mileage (km)")

    # ------------------------------------------------------------------ amounts
    def test_non_finite_amounts(self):
        """NaN and infinity are refused on every amount a person types, before the ORM rounds them."""
        program = self.env["auto_crm.loyalty.program"].create(
            {"name": "Bad input", "company_id": self.other_company.id}
        )
        tier = self.env["auto_crm.loyalty.tier"].create({"name": "Bad input", "program_id": program.id})
        policy = self.env["auto_crm.complaint.sla.policy"].create(
            {"severity": "major", "hours_to_acknowledge": 1, "hours_to_resolve": 8, "company_id": self.other_company.id}
        )
        cases = [
            (self.line, "unit_price", "Unit Price"),
            (self.line, "quantity", "Quantity"),
            (self.line, "discount", "Discount (%)"),
            (self.visit, "amount_paid", "Amount Settled"),
            (self.complaint, "goodwill_amount", "Goodwill Amount"),
            (self.company, "complaint_goodwill_limit", "Goodwill Authority Limit"),
            (self.company, "value_grade_a_spend", "Grade A: Spend (12 months)"),
            (self.company, "value_grade_b_spend", "Grade B: Spend (12 months)"),
            (program, "earn_rate", "Points per Currency Unit"),
            (program, "point_value", "Value of a Point"),
            (tier, "threshold", "Threshold"),
            (tier, "labour_discount", "Labour Discount (%)"),
            (policy, "hours_to_resolve", "Hours to Resolve"),
        ]
        for record, name, label in cases:
            for value in NON_FINITE:
                with self.subTest(model=record._name, field=name, value=value):
                    self.assertRefused(record, {name: value}, label)
        self.assertCreateRefused(
            "auto_crm.service.visit.line",
            {"visit_id": self.visit.id, "name": "Work", "unit_price": float("nan")},
            "Unit Price",
        )
        self.assertEqual(self.visit.amount_total, 180.0)

    def test_points_beyond_an_integer(self):
        """Points typed in the redeem/adjust wizard: refused when PostgreSQL's integer cannot hold them."""
        program = self.env["auto_crm.loyalty.program"].create(
            {"name": "Bad input", "company_id": self.other_company.id}
        )
        member = self.env["auto_crm.loyalty.member"].create({"program_id": program.id, "partner_id": self.customer.id})
        for points in (3_000_000_000, -3_000_000_000):
            with self.subTest(points=points):
                error = self.assertCreateRefused(
                    "auto_crm.loyalty.points.wizard",
                    {"operation": "adjust", "member_id": member.id, "points": points, "reason": "Typo"},
                    "Points",
                )
                self.assertIn("enter a value from", str(error))
        self.assertFalse(member.ledger_ids)

    def test_non_finite_settings(self):
        """Settings → Dealer CRM converts the amounts as it is created: refused there, the store unchanged."""
        limit = self.company.complaint_goodwill_limit
        for name in ("complaint_goodwill_limit", "value_grade_a_spend", "value_grade_b_spend"):
            for value in NON_FINITE:
                with self.subTest(field=name, value=value):
                    self.assertCreateRefused(
                        "res.config.settings", {name: value}, self.env["res.company"]._fields[name].string
                    )
        self.company.invalidate_recordset()
        self.assertEqual(self.company.complaint_goodwill_limit, limit)

    # ------------------------------------------------------------------ dates
    def test_visit_and_complaint_dates(self):
        """Appointments and promised deliveries: from 2000 to two years ahead; a complaint is received
        from 2000 up to now."""
        for name, label in (("date_appointment", "Appointment"), ("date_promised", "Promised Delivery")):
            for value in ("1900-01-01 10:00:00", "1999-12-31 10:00:00", "2099-01-01 10:00:00"):
                with self.subTest(field=name, value=value):
                    self.assertRefused(self.visit, {name: value}, label)
        self.assertCreateRefused(
            "auto_crm.service.visit",
            {"partner_id": self.customer.id, "vehicle_id": self.vehicle.id, "date_appointment": "2099-01-01 09:00:00"},
            "Appointment",
        )
        next_year = fields.Datetime.now() + timedelta(days=365)
        self.visit.write({"date_appointment": next_year, "date_promised": next_year})
        for value in ("1900-01-01 10:00:00", "2099-01-01 10:00:00", fields.Datetime.now() + timedelta(hours=1)):
            with self.subTest(value=value):
                self.assertRefused(self.complaint, {"date_received": value}, "Received")
        self.assertCreateRefused(
            "auto_crm.complaint",
            {"subject": "Late", "partner_id": self.customer.id, "date_received": "2099-01-01 09:00:00"},
            "Received",
        )
        self.complaint.date_received = fields.Datetime.now() - timedelta(days=3)

    # ------------------------------------------------------------------ callback rule
    def test_callback_rule_bounds(self):
        """Days of a rule: 0 to 3650; months 0 to 120; kilometres 0 to 1,000,000; attempts 1 to 100."""
        cases = [
            ("delay_days", 2**31 - 1, "Delay (days)"),
            ("window_days", 10**9, "Window (days)"),
            ("window_days", 3 * 10**9, "Window (days)"),
            ("days_before", 3651, "Days Before"),
            ("inactivity_days", 10**6, "Days Without a Visit"),
            ("maintenance_months", 121, "Maintenance Every (months)"),
            ("maintenance_km", 10**7, "Maintenance Every (km)"),
            ("max_attempts", 101, "Maximum Attempts"),
        ]
        for name, value, label in cases:
            with self.subTest(field=name, value=value):
                error = self.assertRefused(self.rule, {name: value}, label)
                self.assertIn("enter a value from", str(error))
        self.assertCreateRefused(
            "auto_crm.callback.rule",
            {"name": "Far", "assignment": "user", "user_id": self.manager.id, "delay_days": 2**31 - 1},
            "Delay (days)",
        )
        self.rule.write({"delay_days": 3650, "window_days": 3650})
        self.assertEqual(self.rule._next_due_date(fields.Date.to_date("2026-01-01")), fields.Date.to_date("2035-12-30"))

    # ------------------------------------------------------------------ long texts in indexed fields
    def test_long_plate(self):
        """Refused whole: the other values of the same write are not written either."""
        self.assertRefused(self.vehicle, {"color": "Red", "plate": LONG_TEXT, "model_year": 2020}, "Licence Plate")
        self.assertCreateRefused("auto_crm.vehicle", {"vin": self.make_vin(45), "plate": LONG_TEXT}, "Licence Plate")

    def _indexed_char_fields(self):
        """(model, field) of every stored Char field of the add-on that is indexed: by ``index=`` or by
        any index in PostgreSQL (a unique constraint, an index made in ``init()``)."""
        found = set()
        for model_name, Model in self.env.registry.items():
            if Model._abstract or not Model._auto:
                continue
            chars = {
                name: field
                for name, field in Model._fields.items()
                if field.type == "char" and field.store and field._module == "auto_crm"
            }
            if not chars:
                continue
            self.env.cr.execute(
                """
                SELECT DISTINCT a.attname
                  FROM pg_index ix
                  JOIN pg_attribute a ON a.attrelid = ix.indrelid AND a.attnum = ANY(ix.indkey)
                 WHERE ix.indrelid = %s::regclass
                """,
                [Model._table],
            )
            in_index = {row[0] for row in self.env.cr.fetchall()}
            found |= {(model_name, name) for name, field in chars.items() if field.index or name in in_index}
        return found

    def test_every_indexed_char_field_refuses_a_huge_value(self):
        """Every indexed Char field of the add-on refuses 100,000 characters with a ValidationError
        (or UserError) starting with its label, and the record keeps its value. The records tried are the
        demo data's (the suite runs on a demo database) or the set-up's."""
        targets = self._indexed_char_fields()
        self.assertGreaterEqual(
            targets,
            {
                ("auto_crm.vehicle", "vin"),
                ("auto_crm.vehicle", "plate"),
                ("auto_crm.service.visit", "name"),
                ("auto_crm.complaint", "name"),
                ("auto_crm.complaint", "origin_model"),
                ("auto_crm.corrective.action", "reference"),
                ("auto_crm.csi.criterion", "code"),
                ("auto_crm.loyalty.member", "card_number"),
                ("auto_crm.callback", "source_model"),
                ("res.partner", "auto_id_card_number"),
            },
        )
        for model_name, name in sorted(targets - UNTESTED_INDEXED_CHARS):
            with self.subTest(model=model_name, field=name):
                record = self.env[model_name].sudo().with_context(active_test=False).search([], limit=1)
                self.assertTrue(record, f"no {model_name} record to try")
                label = record._fields[name]._description_string(self.env)
                self.assertRefused(record, {name: LONG_TEXT}, label, exception=UserError)
