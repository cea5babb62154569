import odoo.tests


@odoo.tests.tagged("post_install", "-at_install")
class TestComplaintTour(odoo.tests.HttpCase):
    def test_agent_registers_and_acknowledges_a_complaint(self):
        agent = odoo.tests.new_test_user(
            self.env, "tour_agent", groups="auto_crm.group_agent", name="Tour Agent", password="tour_agent"
        )
        customer = self.env["res.partner"].create({"name": "投诉客户 Tour Complainer", "auto_customer": True})
        self.start_tour("/odoo/action-auto_crm.auto_crm_complaint_action", "auto_crm_complaint_tour", login=agent.login)
        complaint = self.env["auto_crm.complaint"].search([("partner_id", "=", customer.id)])
        self.assertEqual(len(complaint), 1)
        self.assertEqual(complaint.state, "acknowledged")
        self.assertEqual(complaint.user_id, agent)
        self.assertTrue(complaint.date_acknowledged)
        self.assertTrue(complaint.deadline_resolve)
