from freezegun import freeze_time
from psycopg2 import IntegrityError

from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.tests import Form, tagged
from odoo.tools import mute_logger

from .common import AutoCrmCase


@tagged("post_install", "-at_install")
class TestServiceVisit(AutoCrmCase):
    def _through_inspection(self, visit):
        return self.walk_to(visit, "inspection")

    def test_numbers_per_company(self):
        first = self.make_visit()
        second = self.make_visit()
        self.assertTrue(first.name.startswith("RO"))
        self.assertNotEqual(first.name, second.name)
        self.assertEqual(int(second.name[-5:]), int(first.name[-5:]) + 1)
        other_customer = self.env["res.partner"].create({"name": "Other", "company_id": self.other_company.id})
        other_vehicle = self.env["auto_crm.vehicle"].create(
            {"vin": self.make_vin(50), "partner_id": other_customer.id, "company_id": self.other_company.id}
        )
        other = (
            self.env["auto_crm.service.visit"]
            .with_user(self.other_advisor)
            .with_company(self.other_company)
            .create({"partner_id": other_customer.id, "vehicle_id": other_vehicle.id})
        )
        self.assertTrue(other.name.endswith("00001"), "each store counts from 1")
        sequences = self.env["ir.sequence"].search([("code", "=", "auto_crm.service.visit")])
        self.assertIn(self.other_company, sequences.company_id)

    def test_full_process_records_dates_and_odometer(self):
        visit = self.make_visit(mileage_in=12345)
        self.assertEqual(visit.state, "appointment")
        with freeze_time("2026-05-04 09:00:00"):
            visit.action_receive()
        self.assertEqual(str(visit.date_reception), "2026-05-04 09:00:00")
        self.assertEqual(self.vehicle.odometer, 12345)
        self.assertEqual(visit.odometer_reading_id.source, "visit")
        visit.action_start_repair()
        self.add_line(visit, "labour", 200)
        self.add_line(visit, "part", 150, quantity=2, part_number="P-1")
        self.assertEqual((visit.amount_labour, visit.amount_parts, visit.amount_total), (200, 300, 500))
        visit.action_request_inspection()
        visit.action_inspection_pass()
        self.assertEqual(visit.state, "delivery")
        visit.payment_method = "cash"
        visit.action_settle()
        self.assertTrue(visit.is_settled)
        visit.action_deliver()
        self.assertEqual(visit.state, "followup")
        for field in ("date_repair", "date_inspection", "date_settlement", "date_delivered"):
            self.assertTrue(visit[field], field)

    def test_no_skipping_steps(self):
        visit = self.make_visit(mileage_in=1000)
        for target in ("repair", "inspection", "delivery", "followup"):
            with self.subTest(target=target), self.assertRaises(UserError) as caught:
                visit.write({"state": target})
            self.assertIn("Stage", str(caught.exception))
        visit.action_receive()
        with self.assertRaises(UserError):
            visit.write({"state": "inspection"})
        visit.action_start_repair()
        with self.assertRaises(UserError):
            visit.write({"state": "delivery"})

    def test_kanban_drag_uses_the_same_guards(self):
        visit = self.make_visit(mileage_in=1000)
        visit.with_user(self.advisor).write({"state": "reception"})
        self.assertEqual(visit.state, "reception")
        with self.assertRaises(UserError):
            visit.with_user(self.advisor).write({"state": "delivery"})

    def test_reception_needs_mileage_and_refuses_going_back(self):
        visit = self.make_visit()
        with self.assertRaises(UserError) as caught:
            visit.action_receive()
        self.assertIn("Mileage In", str(caught.exception))
        self.assertEqual(visit.state, "appointment")
        self.env["auto_crm.vehicle.odometer"].create(
            {"vehicle_id": self.vehicle.id, "date": "2020-01-01", "value": 50000}
        )
        visit.mileage_in = 40000
        with self.assertRaises(ValidationError):
            visit.action_receive()
        # Nothing half-written: the failed reception left no reading behind.
        self.assertEqual(self.vehicle.odometer, 50000)

    def test_create_at_reception_records_odometer(self):
        visit = self.make_visit(state="reception", mileage_in=777)
        self.assertTrue(visit.date_reception)
        self.assertEqual(visit.odometer_reading_id.value, 777)
        with self.assertRaises(UserError):
            self.make_visit(state="repair", mileage_in=800)

    def test_inspection_fails_back_to_repair(self):
        visit = self._through_inspection(self.make_visit())
        with self.assertRaises(UserError) as caught:
            visit.action_inspection_fail()
        self.assertIn("Inspection Notes", str(caught.exception))
        visit.inspection_note = "Brake noise remains"
        visit.action_inspection_fail()
        self.assertEqual(visit.state, "repair")
        self.assertEqual(visit.inspection_failures, 1)
        visit.action_request_inspection()
        visit.action_inspection_pass()
        self.assertEqual(visit.state, "delivery")

    def test_delivery_needs_settlement(self):
        visit = self._through_inspection(self.make_visit())
        self.add_line(visit, "labour", 300)
        visit.action_inspection_pass()
        with self.assertRaises(UserError) as caught:
            visit.action_deliver()
        self.assertIn("Amount Settled", str(caught.exception))
        with self.assertRaises(UserError) as caught:
            visit.action_settle()
        self.assertIn("Payment Method", str(caught.exception))
        visit.write({"payment_method": "card", "amount_paid": 100})
        with self.assertRaises(UserError):
            visit.action_deliver()
        visit.amount_paid = 300
        visit.action_deliver()
        self.assertEqual(visit.state, "followup")
        with self.assertRaises(UserError):
            visit.action_cancel()
        with self.assertRaises(AccessError):
            visit.with_user(self.advisor).action_reopen_delivery()
        visit.with_user(self.manager).action_reopen_delivery()
        self.assertEqual(visit.state, "delivery")
        self.assertFalse(visit.date_delivered)

    def test_cancel_keeps_record_and_reopen(self):
        visit = self.make_visit(mileage_in=500)
        visit.action_receive()
        with self.assertRaises(UserError) as caught:
            visit.with_user(self.advisor).action_cancel()
        self.assertIn("Cancel Reason", str(caught.exception))
        visit.cancel_reason = "Customer postponed"
        with self.assertRaises(AccessError):
            visit.with_user(self.agent).action_cancel()
        visit.with_user(self.advisor).action_cancel()
        self.assertEqual(visit.state, "cancel")
        self.assertTrue(visit.date_cancel)
        with self.assertRaises(UserError):
            visit.unlink()
        with self.assertRaises(AccessError):
            visit.with_user(self.advisor).action_reopen()
        visit.with_user(self.manager).action_reopen()
        self.assertEqual(visit.state, "appointment")
        self.assertFalse(visit.cancel_reason)

    def test_vehicle_must_belong_to_customer(self):
        stranger = self.env["res.partner"].create({"name": "Stranger"})
        with self.assertRaises(ValidationError) as caught:
            self.make_visit(partner_id=stranger.id)
        self.assertIn("Vehicle", str(caught.exception))

    def test_form_fills_customer_from_vehicle(self):
        self.env["auto_crm.vehicle.odometer"].create({"vehicle_id": self.vehicle.id, "value": 4321})
        with Form(self.env["auto_crm.service.visit"].with_user(self.advisor)) as form:
            form.vehicle_id = self.vehicle
            self.assertEqual(form.partner_id, self.customer)
            self.assertEqual(form.mileage_in, 4321)
        visit = form.save()
        self.assertEqual(visit.advisor_id, self.advisor)

    def test_kanban_shows_all_six_columns(self):
        self.make_visit()
        groups = self.env["auto_crm.service.visit"].read_group([("id", "=", 0)], ["state"], ["state"], lazy=False)
        self.assertFalse(groups)
        web_groups = self.env["auto_crm.service.visit"].web_read_group([("id", "=", 0)], ["state"], ["state"])
        self.assertEqual(
            [g["state"] for g in web_groups["groups"]],
            ["appointment", "reception", "repair", "inspection", "delivery", "followup"],
        )

    @mute_logger("odoo.sql_db")
    def test_line_constraints(self):
        visit = self.make_visit()
        with self.assertRaises(IntegrityError), self.cr.savepoint():
            self.add_line(visit, "part", 10, quantity=0)
        with self.assertRaises(IntegrityError), self.cr.savepoint():
            self.add_line(visit, "part", -5)

    def test_vehicle_history_on_visit(self):
        first = self.make_visit()
        second = self.make_visit()
        self.assertEqual(second.vehicle_history_ids, first)
        action = self.vehicle.action_view_visits()
        self.assertEqual(self.env[action["res_model"]].search(action["domain"]), first | second)
