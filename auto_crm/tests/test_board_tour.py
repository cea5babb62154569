"""The workshop board and the callback card in Chromium. Times are set from the real clock (a promise
two hours ago is late, one in two days is in time, at any hour): the browser runs on the real clock."""

import datetime

import odoo.tests
from odoo import fields

from ..lib.vin import with_check_digit


@odoo.tests.tagged("post_install", "-at_install")
class TestBoardTour(odoo.tests.HttpCase):
    #: A 1440 px screen: the seven columns must fit beside the search panel.
    browser_size = "1440x900"

    def make_car(self, number, plate, name, mobile):
        customer = self.env["res.partner"].create(
            {"name": name, "auto_customer": True, "mobile": mobile, "auto_callback_consent": True}
        )
        vehicle = self.env["auto_crm.vehicle"].create(
            {"vin": with_check_digit(f"LSVAU2180N2{980000 + number:06d}"), "plate": plate, "partner_id": customer.id}
        )
        return customer, vehicle

    def test_workshop_board(self):
        env = self.env(context=dict(self.env.context, tracking_disable=True))
        advisor = odoo.tests.new_test_user(
            env, "board_advisor", groups="auto_crm.group_advisor", name="Board Advisor", password="board_advisor"
        )
        technician = odoo.tests.new_test_user(
            env, "board_technician", groups="base.group_user", name="Board Technician"
        )
        now = fields.Datetime.now()
        customer, vehicle = self.make_car(1, "粤B·BOARD1", "看板客户甲", "+86 139 0000 0001")
        late = env["auto_crm.service.visit"].create(
            {
                "partner_id": customer.id,
                "vehicle_id": vehicle.id,
                "mileage_in": 1000,
                "technician_id": technician.id,
                "date_promised": now - datetime.timedelta(hours=2),
                "line_ids": [(0, 0, {"line_type": "labour", "name": "Oil change", "unit_price": 380.0, "quantity": 1})],
            }
        )
        customer2, vehicle2 = self.make_car(2, "粤B·BOARD2", "看板客户乙", "+86 139 0000 0002")
        in_time = env["auto_crm.service.visit"].create(
            {"partner_id": customer2.id, "vehicle_id": vehicle2.id, "date_promised": now + datetime.timedelta(days=2)}
        )
        # A cancelled visit: the seventh column, folded, when the Cancelled filter is on.
        customer3, vehicle3 = self.make_car(4, "粤B·BOARD3", "看板客户丙", "+86 139 0000 0003")
        cancelled = env["auto_crm.service.visit"].create(
            {"partner_id": customer3.id, "vehicle_id": vehicle3.id, "cancel_reason": "客户改约"}
        )
        cancelled.action_cancel()
        env.flush_all()
        env.cr.execute("UPDATE auto_crm_service_visit SET state = 'repair' WHERE id = %s", (late.id,))
        env.invalidate_all()
        self.assertEqual((late.lateness, in_time.lateness), ("late", "on_time"))
        self.start_tour("/odoo", "auto_crm_board_workshop_tour", login=advisor.login)

    def test_callback_card(self):
        env = self.env(context=dict(self.env.context, tracking_disable=True))
        env["auto_crm.callback.rule"].search([]).active = False
        env.company.auto_crm_tz = "Asia/Shanghai"
        agent = odoo.tests.new_test_user(
            env, "card_agent", groups="auto_crm.group_agent", name="Card Agent", password="card_agent"
        )
        customer, vehicle = self.make_car(3, "粤S·CARD1", "卡片客户", "+86 131 0000 7007")
        callback = env["auto_crm.callback"].create(
            {"partner_id": customer.id, "vehicle_id": vehicle.id, "user_id": agent.id, "max_attempts": 3}
        )
        env["auto_crm.callback.attempt"].create({"callback_id": callback.id, "outcome": "no_answer"})
        self.assertEqual(callback.state, "todo")
        self.start_tour("/odoo", "auto_crm_board_callback_card_tour", login=agent.login)
