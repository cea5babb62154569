from odoo.tests import tagged

from .loyalty_common import LoyaltyCase


@tagged("post_install", "-at_install")
class TestRetention(LoyaltyCase):
    def test_retention_rate_on_a_hand_built_case(self):
        """Interval 6 months, grace 1 month. Four cars serviced in January 2025:
        A back in July (due month) -> retained; B back in August (grace) -> retained;
        C back in October -> too late, not retained in July; D back early in April -> due in October, not July."""
        cars = {}
        for letter, number in (("A", 201), ("B", 202), ("C", 203), ("D", 204)):
            cars[letter] = self.env["auto_crm.vehicle"].create(
                {"vin": self.make_vin(720000 + number), "partner_id": self.customer.id, "plate": f"粤B·R{number}"}
            )
            self.deliver(400, when="2025-01-15 10:00:00", vehicle=cars[letter])
        self.deliver(400, when="2025-07-15 10:00:00", vehicle=cars["A"])
        self.deliver(400, when="2025-08-20 10:00:00", vehicle=cars["B"])
        self.deliver(400, when="2025-10-01 10:00:00", vehicle=cars["C"])
        self.deliver(400, when="2025-04-10 10:00:00", vehicle=cars["D"])
        self.env.flush_all()
        Report = self.env["auto_crm.retention.report"]
        domain = [("company_id", "=", self.company.id), ("vehicle_id", "in", [c.id for c in cars.values()])]
        july = Report.search([*domain, ("month", "=", "2025-07-01")])
        self.assertEqual(set(july.vehicle_id.mapped("plate")), {"粤B·R201", "粤B·R202", "粤B·R203"})
        [(due, returned, rate)] = Report._read_group(
            [*domain, ("month", "=", "2025-07-01")], [], ["due_count:sum", "returned_count:sum", "retention_rate:avg"]
        )
        self.assertEqual((due, returned), (3, 2))
        self.assertAlmostEqual(rate, 200 / 3, places=2)
        october = Report.search([*domain, ("month", "=", "2025-10-01")])
        self.assertEqual(october.vehicle_id, cars["D"])
        self.assertEqual(october.returned_count, 0)
        # Another store does not see this store's retention.
        self.assertFalse(
            Report.with_user(self.other_advisor).search([("vehicle_id", "in", [c.id for c in cars.values()])])
        )

    def test_the_store_settings_set_the_due_month(self):
        """The report reads the store's settings: with a 3-month interval and no grace, a car serviced in
        January is due in April and counts as returned only when it comes back in April."""
        self.company.write({"retention_service_interval_months": 3, "retention_return_grace_months": 0})
        back_in_april, back_in_may = (
            self.env["auto_crm.vehicle"].create(
                {"vin": self.make_vin(720000 + number), "partner_id": self.customer.id, "plate": f"粤B·R{number}"}
            )
            for number in (211, 212)
        )
        for car in (back_in_april, back_in_may):
            self.deliver(400, when="2025-01-15 10:00:00", vehicle=car)
        self.deliver(400, when="2025-04-20 10:00:00", vehicle=back_in_april)
        self.deliver(400, when="2025-05-05 10:00:00", vehicle=back_in_may)
        self.env.flush_all()
        april = self.env["auto_crm.retention.report"].search(
            [("vehicle_id", "in", (back_in_april | back_in_may).ids), ("month", "=", "2025-04-01")]
        )
        self.assertEqual(april.vehicle_id, back_in_april | back_in_may)
        self.assertEqual(april.filtered("returned_count").vehicle_id, back_in_april)
