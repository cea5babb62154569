import odoo.tests

from ..lib.vin import with_check_digit


@odoo.tests.tagged("post_install", "-at_install")
class TestAdvisorTour(odoo.tests.HttpCase):
    def test_advisor_books_and_receives_a_visit(self):
        advisor = odoo.tests.new_test_user(
            self.env, "tour_advisor", groups="auto_crm.group_advisor", name="Tour Advisor", password="tour_advisor"
        )
        customer = self.env["res.partner"].create({"name": "旅游客户 Tour Customer", "auto_customer": True})
        vehicle = self.env["auto_crm.vehicle"].create(
            {"vin": with_check_digit("LSVAU2180N2999999"), "plate": "粤B·TOUR1", "partner_id": customer.id}
        )
        self.env["auto_crm.vehicle.odometer"].create({"vehicle_id": vehicle.id, "value": 8800})
        self.start_tour("/odoo", "auto_crm_advisor_tour", login=advisor.login)
        visit = self.env["auto_crm.service.visit"].search([("vehicle_id", "=", vehicle.id)])
        self.assertEqual(len(visit), 1)
        self.assertEqual(visit.state, "reception")
        self.assertEqual(visit.partner_id, customer)
        self.assertEqual(visit.advisor_id, advisor)
        self.assertEqual(vehicle.odometer, 8800)
        self.assertTrue(visit.date_reception)
