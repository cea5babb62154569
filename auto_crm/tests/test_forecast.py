"""The service forecast on the vehicle: recomputed when a reading arrives, nightly for every car in a
constant number of queries per batch, written only by the add-on."""

import logging
from datetime import date, timedelta

from freezegun import freeze_time

from odoo.exceptions import UserError, ValidationError
from odoo.tests import tagged
from odoo.tools import SQL, mute_logger

from ..models.auto_crm_job_run import job_lock_key
from .callback_common import CallbackCase
from .common import AutoCrmCase

FORECAST_FIELDS = (
    "next_service_date",
    "next_service_mileage",
    "km_per_day",
    "km_per_day_source",
    "service_forecast_note",
)


@tagged("post_install", "-at_install")
class TestForecast(AutoCrmCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.Vehicle = cls.env["auto_crm.vehicle"]
        cls.Reading = cls.env["auto_crm.vehicle.odometer"]
        cls.default = cls.env.ref("auto_crm.auto_crm_service_plan_default")
        (cls.env["auto_crm.service.plan"].search([]) - cls.default).write({"active": False})
        # Demo cars out of the averages: only the cars of each test count.
        cls.Vehicle.search([("id", "!=", cls.vehicle.id)]).write({"active": False})
        cls.bulk_made = 0

    def make_car(self, number, **vals):
        return self.Vehicle.create(
            dict({"vin": self.make_vin(number), "model_id": self.car_model.id, "partner_id": self.customer.id}, **vals)
        )

    def make_reading(self, car, day, value, **vals):
        return self.Reading.create(dict({"vehicle_id": car.id, "date": day, "value": value}, **vals))

    @freeze_time("2026-06-01 04:00:00")
    def test_reading_recomputes_its_car(self):
        car = self.make_car(101, purchase_date=date(2026, 1, 1))
        # No reading: a new car at 0 km on its purchase date, the plan's 35 km/day: 5,000 km after 143
        # days (2026-05-24), before the 6 months (2026-07-01).
        self.assertEqual((car.km_per_day_source, car.km_per_day), ("plan", 35.0))
        self.assertEqual((car.next_service_date, car.next_service_mileage), (date(2026, 5, 24), 5000))
        other = self.make_car(102, purchase_date=date(2026, 1, 1))
        before = other.read(list(FORECAST_FIELDS))
        self.make_reading(car, date(2026, 1, 1), 0)
        self.make_reading(car, date(2026, 3, 1), 1770)  # 59 days, 30 km/day
        self.make_reading(car, date(2026, 5, 1), 3600)  # 61 days, 30 km/day
        self.assertEqual((car.km_per_day_source, car.km_per_day), ("own", 30.0))
        # 1,400 km more at 30 km/day: 47 days after 2026-05-01 -> 2026-06-17, before 2026-07-01.
        self.assertEqual((car.next_service_date, car.next_service_mileage), (date(2026, 6, 17), 5000))
        self.assertEqual(
            car.service_forecast_note,
            "~30 km/day from 3 readings; 5,000 km around 2026-06-17; "
            "first maintenance 6 months after the purchase on 2026-01-01: 2026-07-01",
        )
        self.assertEqual(car.service_forecast_display, "next service ~2026-06-17, at 5,000 km, in 16 days")
        self.assertEqual(other.read(list(FORECAST_FIELDS)), before, "another car is not touched")

    @freeze_time("2026-06-01 04:00:00")
    def test_service_then_interval_and_display_when_overdue(self):
        car = self.make_car(103, purchase_date=date(2025, 1, 1))
        self.make_reading(car, date(2025, 12, 1), 9000)
        visit = self.make_visit(vehicle_id=car.id, mileage_in=10000, visit_type="maintenance")
        with freeze_time("2026-02-01 04:00:00"):
            visit.action_receive()
        # Serviced at 10,000 km on 2026-02-01: next at 20,000 km or on 2027-02-01; 1,000 km in 62 days.
        self.assertEqual(car.next_service_mileage, 20000)
        self.assertEqual(car.km_per_day, 16.1)
        self.assertIn("12 months after the last service on 2026-02-01: 2027-02-01", car.service_forecast_note)
        # A repair visit is no maintenance: it moves the rate, not the last service.
        repair = self.make_visit(vehicle_id=car.id, mileage_in=21000, visit_type="repair")
        repair.action_receive()
        self.assertEqual(car.next_service_mileage, 20000)
        self.assertLess(car.next_service_date, date(2026, 6, 1))
        self.assertRegex(car.service_forecast_display, r"overdue by \d+ days$")

    @freeze_time("2026-06-01 04:00:00")
    def test_replaced_odometer(self):
        car = self.make_car(104, purchase_date=date(2024, 1, 1))
        self.make_reading(car, date(2026, 1, 1), 40000)
        self.make_reading(car, date(2026, 3, 2), 43000)  # 60 days, 50 km/day
        self.make_reading(car, date(2026, 3, 3), 0, is_replacement=True)
        self.make_reading(car, date(2026, 5, 2), 3000)  # 60 days, 50 km/day
        self.assertEqual((car.km_per_day_source, car.km_per_day), ("own", 50.0))
        self.assertIn("from 4 readings", car.service_forecast_note)

    @freeze_time("2026-06-01 04:00:00")
    def test_car_driven_zero_km(self):
        car = self.make_car(105, purchase_date=date(2026, 1, 1))
        self.make_reading(car, date(2026, 2, 1), 800)
        self.make_reading(car, date(2026, 5, 1), 800)
        self.assertEqual((car.km_per_day_source, car.km_per_day), ("own", 0.0))
        self.assertEqual(car.next_service_date, date(2026, 7, 1), "by time only")
        self.assertIn("not driven: no date by mileage", car.service_forecast_note)

    @freeze_time("2026-06-01 04:00:00")
    def test_reading_in_the_future_is_refused(self):
        car = self.make_car(106, purchase_date=date(2026, 1, 1))
        before = car.read(list(FORECAST_FIELDS))
        with self.assertRaisesRegex(ValidationError, "Date: a reading on .*2026.* is impossible"):
            self.make_reading(car, date(2026, 6, 2), 100)
        self.assertEqual(car.read(list(FORECAST_FIELDS)), before)

    @freeze_time("2026-06-01 04:00:00")
    def test_one_reading_falls_back_to_the_model_then_the_store(self):
        driven = self.make_car(107, purchase_date=date(2025, 1, 1))
        self.make_reading(driven, date(2026, 1, 1), 10000)
        self.make_reading(driven, date(2026, 5, 1), 14800)  # 120 days, 40 km/day
        single = self.make_car(108, purchase_date=date(2025, 6, 1))
        self.make_reading(single, date(2026, 5, 1), 6000)
        self.assertEqual((single.km_per_day_source, single.km_per_day), ("model", 40.0))
        self.assertIn("the average of this model", single.service_forecast_note)
        other_model = self.env["fleet.vehicle.model"].create({"name": "Test Wagon", "brand_id": self.brand.id})
        single.model_id = other_model
        self.assertEqual((single.km_per_day_source, single.km_per_day), ("store", 40.0))

    @freeze_time("2026-06-01 04:00:00")
    def test_nobody_writes_the_forecast(self):
        car = self.make_car(109, purchase_date=date(2026, 1, 1))
        values = {
            "next_service_date": date(2030, 1, 1),
            "next_service_mileage": 1,
            "km_per_day": 1.0,
            "km_per_day_source": "own",
            "service_forecast_note": "attack",
        }
        for user in (self.agent, self.advisor, self.manager, self.dealer_admin):
            for fname, value in values.items():
                with self.subTest(user=user.name, field=fname), mute_logger("odoo.models"):
                    with self.assertRaises(UserError), self.env.cr.savepoint():
                        car.with_user(user).write({fname: value})
                    with self.assertRaises(UserError), self.env.cr.savepoint():
                        self.Vehicle.with_user(user).create({"vin": self.make_vin(110), fname: value})
        self.assertEqual(car.next_service_mileage, 5000)

    @freeze_time("2026-06-01 04:00:00")
    def test_nightly_job_is_idempotent_and_logged(self):
        car = self.make_car(111, purchase_date=date(2026, 1, 1))
        self.env.flush_all()
        self.env.cr.execute(
            "UPDATE auto_crm_vehicle SET next_service_date = NULL, km_per_day_source = NULL WHERE id = %s", [car.id]
        )
        car.invalidate_recordset()
        self.assertTrue(self.Vehicle._cron_service_forecast())
        self.assertEqual(car.next_service_date, date(2026, 5, 24))
        run = self.env["auto_crm.job.run"].search([("job", "=", "service_forecast")], limit=1)
        self.assertEqual((run.state, run.failed_count), ("done", 0))
        self.assertGreaterEqual(run.processed_count, 1)
        # In one run, a car with one reading takes the average its model's cars get in that run.
        driven = self.make_car(112, purchase_date=date(2025, 1, 1))
        single = self.make_car(113, purchase_date=date(2025, 1, 1))
        self.make_reading(single, date(2026, 5, 1), 6000)
        self.env.flush_all()
        self.env.cr.execute(
            "INSERT INTO auto_crm_vehicle_odometer (vehicle_id, company_id, date, value, source) "
            "VALUES (%(car)s, %(company)s, '2026-01-01', 10000, 'import'), "
            "(%(car)s, %(company)s, '2026-05-01', 13600, 'import')",
            {"car": driven.id, "company": self.company.id},
        )
        self.assertEqual(single.km_per_day_source, "plan", "the imported readings are not known yet")
        self.assertTrue(self.Vehicle._cron_service_forecast())
        self.assertEqual((driven.km_per_day_source, driven.km_per_day), ("own", 30.0))
        self.assertEqual((single.km_per_day_source, single.km_per_day), ("model", 30.0))
        # Twice: nothing changes, nothing is written.
        self.env.flush_all()
        self.assertEqual(self.Vehicle._care_forecast_batch(self.Vehicle.search([]).ids), 0)

    def test_nightly_job_running_elsewhere_is_skipped(self):
        with self.registry.cursor() as other:
            other.execute("SELECT pg_advisory_xact_lock(%s, %s)", job_lock_key("service_forecast"))
            with self.assertLogs("odoo.addons.auto_crm.models.auto_crm_job_run", level=logging.INFO):
                self.Vehicle._cron_service_forecast()
            other.rollback()
        run = self.env["auto_crm.job.run"].search([("job", "=", "service_forecast")], limit=1)
        self.assertEqual(run.state, "skipped")

    @freeze_time("2026-06-01 04:00:00")
    def test_cron_record_runs(self):
        self.env.ref("auto_crm.auto_crm_service_forecast_cron").method_direct_trigger()
        self.assertTrue(self.env["auto_crm.job.run"].search([("job", "=", "service_forecast")]))

    def bulk_cars(self, count):
        """``count`` cars of the test model, each with two readings 100 days apart, in SQL."""
        self.env.flush_all()
        self.env.cr.execute(
            SQL(
                """
                WITH cars AS (
                    INSERT INTO auto_crm_vehicle (vin, model_id, brand_id, company_id, active, purchase_date,
                                                  create_uid, create_date, write_uid, write_date)
                    SELECT 'LFCST' || lpad((%(start)s + n)::text, 12, '0'), %(model)s, %(brand)s, %(company)s, TRUE,
                           DATE '2025-01-01', 1, NOW(), 1, NOW()
                      FROM generate_series(1, %(count)s) n
                 RETURNING id
                ), readings AS (
                    INSERT INTO auto_crm_vehicle_odometer (vehicle_id, company_id, date, value, source,
                                                           create_uid, create_date, write_uid, write_date)
                    SELECT id, %(company)s, d.day, (d.day - DATE '2025-01-01') * (20 + mod(id, 30)), 'import',
                           1, NOW(), 1, NOW()
                      FROM cars, (VALUES (DATE '2026-01-01'), (DATE '2026-04-11')) d(day)
                )
                SELECT ARRAY(SELECT id FROM cars ORDER BY id)
                """,
                model=self.car_model.id,
                brand=self.brand.id,
                company=self.company.id,
                count=count,
                start=self.bulk_made,
            )
        )
        self.bulk_made += count
        return self.env.cr.fetchone()[0]

    @freeze_time("2026-06-01 04:00:00")
    def test_constant_queries_per_batch(self):
        """The nightly batch: one query fetching the cars with their readings and last service, one
        UPDATE, whatever the number of cars (the plans and averages are read once per run)."""
        plans = self.env["auto_crm.service.plan"]._plans_sql()
        averages = self.Vehicle._care_averages()
        small, large = self.bulk_cars(10), self.bulk_cars(6000)
        for ids in (small, large):
            self.env.invalidate_all()
            with self.assertQueryCount(2):
                written = self.Vehicle._care_forecast_batch(ids, averages, plans)
            self.assertEqual(written, len(ids))
        self.env.cr.execute(
            "SELECT COUNT(*) FROM auto_crm_vehicle WHERE id = ANY(%s) AND km_per_day_source = 'own' "
            "AND next_service_date IS NOT NULL",
            [large],
        )
        self.assertEqual(self.env.cr.fetchone()[0], 6000)
        # One car checked by hand: 20 + mod(id, 30) km per day since 2025-01-01.
        car = self.Vehicle.browse(large[0])
        rate = 20 + car.id % 30
        self.assertEqual(car.km_per_day, rate)
        odometer = 465 * rate  # 2026-04-11 is 465 days after 2025-01-01
        milestone = 5000 + -(-(odometer - 5000) // 10000) * 10000
        self.assertEqual(car.next_service_mileage, milestone)
        # By time: 2025-07-01 + 12 months x k, the first on or after 2026-04-11: 2026-07-01.
        by_km = date(2026, 4, 11) + timedelta(days=-(-(milestone - odometer) // rate))
        self.assertEqual(car.next_service_date, min(by_km, date(2026, 7, 1)))

    @freeze_time("2026-06-01 04:00:00")
    def test_whole_job_queries_grow_with_batches_only(self):
        """The nightly job at 10 and 6,000 cars with one batch each: the same number of queries."""
        self.vehicle.active = False  # every car has readings of its own: the second pass has none
        self.Vehicle._cron_service_forecast()  # caches warm (languages, translations)
        counts = []
        for count in (10, 6000):
            self.bulk_cars(count)
            self.env.flush_all()
            self.env.invalidate_all()
            before = self.env.cr.sql_log_count
            self.Vehicle._cron_service_forecast(batch_size=100000)
            counts.append(self.env.cr.sql_log_count - before)
        self.assertEqual(counts[0], counts[1])


@tagged("post_install", "-at_install")
class TestForecastTriggers(CallbackCase):
    """The callback engine's triggers on the forecast: the next service (a new car without visits is
    called for its first maintenance) and the annual inspection."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        default = cls.env.ref("auto_crm.auto_crm_service_plan_default")
        (cls.env["auto_crm.service.plan"].search([]) - default).write({"active": False})
        cls.env["auto_crm.vehicle"].search([]).write({"active": False})

    def test_new_car_called_for_its_first_maintenance(self):
        rule = self.make_rule(trigger="service_due", days_before=7, window_days=5)
        with freeze_time("2026-01-01 02:00:00"):
            _partners, car = self.make_customers(1)
            car.purchase_date = date(2026, 1, 1)
        # 5,000 km at the plan's 35 km/day from 0 km at the purchase: 2026-05-24; called 7 days before.
        self.assertEqual(car.next_service_date, date(2026, 5, 24))
        self.assertFalse(car.visit_ids)
        # The store's day: at 23:30 UTC it is already the next morning in Shanghai.
        with freeze_time("2026-05-16 23:30:00"):
            car.invalidate_recordset(["service_forecast_display"])
            self.assertEqual(car.service_forecast_display, "next service ~2026-05-24, at 5,000 km, in 7 days")
        with freeze_time("2026-05-17 02:00:00"):
            self.assertEqual(rule._run_engine().created_count, 1)
            self.assertEqual(rule._run_engine().created_count, 0, "once per service")
        callback = self.callbacks(rule)
        self.assertEqual((callback.vehicle_id, callback.source_period), (car, 5000))
        self.assertEqual(str(callback.date_due), "2026-05-17")

    def test_annual_inspection(self):
        rule = self.make_rule(trigger="annual_inspection", days_before=20, window_days=5)
        with freeze_time("2026-04-20 02:00:00"):
            _partners, car = self.make_customers(1)
            car.purchase_date = date(2020, 5, 10)
            # Year 6 of a private car bought on 2020-05-10: 2026-05-10, called 20 days before.
            self.assertEqual(car.next_inspection_date, date(2026, 5, 10))
            self.assertEqual(rule._run_engine().created_count, 1)
        self.assertEqual(self.callbacks(rule).source_period, 202605)
