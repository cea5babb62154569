from datetime import date

from freezegun import freeze_time

from odoo.exceptions import ValidationError
from odoo.tests import Form, tagged

from .common import AutoCrmCase


@tagged("post_install", "-at_install")
class TestVehicle(AutoCrmCase):
    def test_vin_normalised_and_validated(self):
        vin = self.make_vin(2)
        vehicle = self.env["auto_crm.vehicle"].create({"vin": f" {vin.lower()} "})
        self.assertEqual(vehicle.vin, vin)
        bad_check = vin[:8] + ("0" if vin[8] != "0" else "1") + vin[9:]
        cases = {
            "short": "LSVAU2180N200",
            "letter O": vin[:10] + "O" + vin[11:],
            "check digit": bad_check,
        }
        for label, bad in cases.items():
            with self.subTest(label), self.assertRaises(ValidationError) as caught:
                self.env["auto_crm.vehicle"].create({"vin": bad})
            self.assertIn("VIN", str(caught.exception))
            self.assertIn(
                {"short": "17 characters", "letter O": "I, O and Q", "check digit": "position 9"}[label],
                str(caught.exception),
            )

    def test_known_vin_check_digit(self):
        # The textbook example of a valid North American VIN.
        vehicle = self.env["auto_crm.vehicle"].create({"vin": "1M8GDM9AXKP042788"})
        self.assertEqual(vehicle.vin, "1M8GDM9AXKP042788")

    def test_vin_unique_among_active(self):
        with self.assertRaises(ValidationError) as caught:
            self.env["auto_crm.vehicle"].create({"vin": self.vehicle.vin})
        self.assertIn("another active vehicle", str(caught.exception))
        self.vehicle.action_archive()
        twin = self.env["auto_crm.vehicle"].create({"vin": self.vehicle.vin})
        self.assertTrue(twin.active)
        with self.assertRaises(ValidationError):
            self.vehicle.action_unarchive()

    def test_vin_unique_index_backs_the_rule(self):
        self.env.cr.execute("SELECT indexdef FROM pg_indexes WHERE indexname = 'auto_crm_vehicle_vin_active_uniq'")
        self.assertIn("WHERE active", self.env.cr.fetchone()[0])

    def test_plate_upper_and_brand_from_model(self):
        vehicle = self.env["auto_crm.vehicle"].create(
            {"vin": self.make_vin(3), "plate": " 粤b·abc12 ", "model_id": self.car_model.id}
        )
        self.assertEqual(vehicle.plate, "粤B·ABC12")
        self.assertEqual(vehicle.brand_id, self.brand)
        with Form(self.env["auto_crm.vehicle"]) as form:
            form.vin = self.make_vin(4)
            form.model_id = self.car_model
            self.assertEqual(form.brand_id, self.brand)

    def test_odometer_history(self):
        Odo = self.env["auto_crm.vehicle.odometer"]
        Odo.create({"vehicle_id": self.vehicle.id, "date": "2025-01-10", "value": 10000})
        Odo.create({"vehicle_id": self.vehicle.id, "date": "2025-06-10", "value": 15000})
        self.assertEqual(self.vehicle.odometer, 15000)
        self.assertEqual(self.vehicle.odometer_date, date(2025, 6, 10))
        with self.assertRaises(ValidationError) as caught:
            Odo.create({"vehicle_id": self.vehicle.id, "date": "2025-07-01", "value": 14000})
        self.assertIn("lower than the previous reading", str(caught.exception))
        with self.assertRaises(ValidationError) as caught:
            Odo.create({"vehicle_id": self.vehicle.id, "date": "2025-03-01", "value": 16000})
        self.assertIn("higher than the later reading", str(caught.exception))
        Odo.create({"vehicle_id": self.vehicle.id, "date": "2025-07-01", "value": 20, "is_replacement": True})
        self.assertEqual(self.vehicle.odometer, 20)
        Odo.create({"vehicle_id": self.vehicle.id, "date": "2025-08-01", "value": 900})
        self.assertEqual(len(self.vehicle.odometer_ids), 4)

    def test_ownership_history(self):
        with freeze_time("2025-01-01"):
            vehicle = self.env["auto_crm.vehicle"].create({"vin": self.make_vin(30), "partner_id": self.customer.id})
        self.assertEqual(len(vehicle.ownership_ids), 1)
        self.assertEqual(vehicle.ownership_ids.date_start, date(2025, 1, 1))
        new_owner = self.env["res.partner"].create({"name": "新车主"})
        with freeze_time("2026-03-01"):
            vehicle.partner_id = new_owner
        self.vehicle = vehicle
        history = self.vehicle.ownership_ids.sorted("id")
        self.assertEqual(history.partner_id, self.customer | new_owner)
        self.assertEqual(history[0].date_end, date(2026, 3, 1))
        self.assertFalse(history[1].date_end)
        self.assertTrue(history[1].is_current)
        # Writing the same owner again records nothing.
        self.vehicle.partner_id = new_owner
        self.assertEqual(len(self.vehicle.ownership_ids), 2)

    def test_segments(self):
        Vehicle = self.env["auto_crm.vehicle"]
        with freeze_time("2026-06-01"):
            young = Vehicle.create(
                {"vin": self.make_vin(10), "purchase_date": "2024-01-01", "warranty_end_date": "2027-01-01"}
            )
            expired = Vehicle.create(
                {"vin": self.make_vin(11), "purchase_date": "2022-01-01", "warranty_end_date": "2025-01-01"}
            )
            old = Vehicle.create(
                {"vin": self.make_vin(12), "purchase_date": "2019-01-01", "warranty_end_date": "2030-01-01"}
            )
            unknown = Vehicle.create({"vin": self.make_vin(13)})
            self.assertEqual(young.segment, "in_warranty")
            self.assertEqual(expired.segment, "out_of_warranty")
            self.assertEqual(old.segment, "old")
            # Neither purchase date nor warranty end known: no segment (issue 12), not "out of warranty".
            self.assertFalse(unknown.segment)
            self.assertEqual(old.car_age_years, 7)
            mine = young | expired | old | unknown
            self.assertEqual(Vehicle.search([("id", "in", mine.ids), ("segment", "=", "in_warranty")]), young)
            self.assertEqual(Vehicle.search([("id", "in", mine.ids), ("segment", "=", "old")]), old)
            self.assertEqual(
                Vehicle.search([("id", "in", mine.ids), ("segment", "!=", "in_warranty")]), expired | old | unknown
            )
            self.assertEqual(
                Vehicle.search([("id", "in", mine.ids), ("segment", "in", ["old", "in_warranty"])]), young | old
            )

    def test_warranty_before_purchase_refused(self):
        with self.assertRaises(ValidationError) as caught:
            self.env["auto_crm.vehicle"].create(
                {"vin": self.make_vin(20), "purchase_date": "2025-01-01", "warranty_end_date": "2024-01-01"}
            )
        self.assertIn("Warranty End Date", str(caught.exception))
