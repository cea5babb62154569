"""Service retention by mileage (auto_crm.mileage.retention.report): the share of cars that came back for
the service their plan said was due, by mileage or time whichever first, within 60 days or 1,500 km."""

import datetime

from odoo.tests import tagged

from .common import AutoCrmCase


@tagged("post_install", "-at_install")
class TestMileageRetention(AutoCrmCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env["auto_crm.service.plan"].create(
            {
                "name": "Test Sedan plan",
                "model_id": cls.car_model.id,
                "first_service_km": 5000,
                "first_service_months": 6,
                "interval_km": 10000,
                "interval_months": 12,
            }
        )
        cls.Report = cls.env["auto_crm.mileage.retention.report"]
        cls.number = 0

    def car(self, km_per_day, **vals):
        TestMileageRetention.number += 1
        car = self.env["auto_crm.vehicle"].create(
            {
                "vin": self.make_vin(830000 + self.number),
                "plate": f"粤B·M{self.number:04d}",
                "model_id": self.car_model.id,
                "partner_id": self.customer.id,
                "company_id": self.company.id,
                **vals,
            }
        )
        self.env.flush_all()
        self.env.cr.execute("UPDATE auto_crm_vehicle SET km_per_day = %s WHERE id = %s", [km_per_day, car.id])
        return car

    def visit(self, car, day, km, visit_type="maintenance", state="followup"):
        visit = self.make_visit(vehicle_id=car.id, visit_type=visit_type, mileage_in=km)
        when = datetime.datetime.combine(datetime.date.fromisoformat(day), datetime.time(2))
        self.env.flush_all()
        self.env.cr.execute(
            "UPDATE auto_crm_service_visit SET state = %s, date_reception = %s, date_delivered = %s WHERE id = %s",
            [state, when, when if state == "followup" else None, visit.id],
        )
        return visit

    def rows(self, *cars):
        self.env.invalidate_all()
        return self.Report.search([("vehicle_id", "in", [car.id for car in cars])], order="due_date, id")

    def test_the_plan_the_window_and_the_rate(self):
        # 50 km a day from 20,000 km on 2025-01-10: 30,000 km on 2025-07-29, before the 12 months.
        back_in_time = self.car(50)
        serviced = self.visit(back_in_time, "2025-01-10", 20000)
        returned = self.visit(back_in_time, "2025-09-01", 31000)  # 34 days after: came back
        too_late = self.car(50)
        self.visit(too_late, "2025-01-10", 20000)
        self.visit(too_late, "2025-11-15", 35000)  # 109 days and 5,000 km off: not for this service
        by_km = self.car(50)
        self.visit(by_km, "2025-01-10", 20000)
        self.visit(by_km, "2025-12-01", 30900)  # late by the date, but at 30,900 km: within 1,500 km
        rows = self.rows(back_in_time, too_late, by_km).filtered(lambda r: r.last_visit_id.mileage_in == 20000)
        self.assertEqual(len(rows), 3)
        for row in rows:
            self.assertEqual((row.service_kind, row.due_mileage, str(row.due_date), row.due_by),
                             ("regular", 30000, "2025-07-29", "mileage"))  # fmt: skip
            self.assertEqual(str(row.month), "2025-07-01")
        first = rows.filtered(lambda r: r.vehicle_id == back_in_time)
        self.assertEqual((first.last_visit_id, first.return_visit_id), (serviced, returned))
        self.assertEqual(rows.filtered(lambda r: r.vehicle_id == too_late).returned_count, 0)
        self.assertEqual(rows.filtered(lambda r: r.vehicle_id == by_km).returned_count, 1)
        cars = [back_in_time.id, too_late.id, by_km.id]
        [(due, back, rate)] = self.Report._read_group(
            [("vehicle_id", "in", cars), ("month", "=", "2025-07-01")],
            [],
            ["due_count:sum", "returned_count:sum", "retention_rate:avg"],
        )
        self.assertEqual((due, back), (3, 2))
        self.assertAlmostEqual(rate, 200 / 3, places=2)
        # per store and month, as the pivot asks
        groups = self.Report._read_group([("vehicle_id", "in", cars)], ["company_id", "month:month"], ["due_count:sum"])
        self.assertIn(self.company, [company for company, _month, _count in groups])
        # another store does not see this store's retention
        self.assertFalse(self.Report.with_user(self.other_advisor).search([("vehicle_id", "in", cars)]))

    def test_time_first_when_the_car_is_driven_little(self):
        # 10 km a day: 10,000 km take 1,000 days, the 12 months come first.
        car = self.car(10)
        self.visit(car, "2025-01-10", 20000)
        self.visit(car, "2026-02-20", 24000)  # 41 days after 2026-01-10
        [row] = self.rows(car).filtered(lambda r: r.last_visit_id.mileage_in == 20000)
        self.assertEqual((str(row.due_date), row.due_by, row.returned_count), ("2026-01-10", "time", 1))
        # a car that is not driven (no rate of its own) is due by time only
        still = self.car(0)
        self.visit(still, "2025-01-10", 20000)
        [row] = self.rows(still)
        self.assertEqual((str(row.due_date), row.due_by, row.returned_count), ("2026-01-10", "time", 0))

    def test_the_first_maintenance_of_a_car_sold_here(self):
        car = self.car(10, sold_here=True, purchase_date="2025-01-01")
        first_service = self.visit(car, "2025-07-20", 4000)
        rows = self.rows(car)
        first = rows.filtered(lambda r: r.service_kind == "first")
        self.assertEqual((first.due_mileage, str(first.due_date), first.due_by), (5000, "2025-07-01", "time"))
        self.assertEqual(first.return_visit_id, first_service)
        # a car not sold here has no first maintenance row
        bought_elsewhere = self.car(10, purchase_date="2025-01-01")
        self.assertFalse(self.rows(bought_elsewhere))

    def test_an_early_maintenance_moves_the_service_and_the_future_is_not_shown(self):
        car = self.car(50)
        self.visit(car, "2025-01-10", 20000)
        self.visit(car, "2025-03-01", 22000)  # maintenance early: due 2025-07-29 and 30,000 km no more
        mileages = self.rows(car).last_visit_id.mapped("mileage_in")
        self.assertEqual(mileages, [22000], "only the early maintenance's next service (32,000 km)")
        # a service not due yet, or whose window is still open, is not shown
        recent = self.car(50)
        today = datetime.date.today()
        self.visit(recent, str(today - datetime.timedelta(days=230)), 20000)  # due 30 days ago: window open
        self.visit(recent, str(today - datetime.timedelta(days=100)), 20500, visit_type="repair")  # no return
        self.assertFalse(self.rows(recent))
        coming = self.car(50)
        self.visit(coming, str(today - datetime.timedelta(days=100)), 20000)  # due in 100 days
        self.assertFalse(self.rows(coming))
        # a cancelled visit is no return
        cancelled = self.car(50)
        self.visit(cancelled, "2025-01-10", 20000)
        self.visit(cancelled, "2025-08-01", 30000, state="cancel")
        [row] = self.rows(cancelled)
        self.assertEqual(row.returned_count, 0)
