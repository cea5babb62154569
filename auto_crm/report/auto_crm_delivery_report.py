from odoo import fields, models
from odoo.tools import SQL

from ..models.auto_crm_service_visit import VISIT_TYPES


class AutoCrmDeliveryReport(models.Model):
    """On-time delivery (交车准时率) per advisor, store and month.

    One row per delivered visit that had a promised delivery time. A delivery is on time when the car
    left at or before the promise: the visit's ``delivered_on_time``, stamped by the add-on when the
    visit is delivered (the promise of a delivered visit can no longer change); rows written without
    the ORM (a bulk load) that lack the stamp are judged by the same dates. The on-time delivery
    rate of a group of rows is the average of ``on_time_rate`` (100 for an on-time delivery, 0 for a
    late one). Visits delivered without a promise are not counted.
    """

    _name = "auto_crm.delivery.report"
    _description = "On-time Delivery Analysis"
    _inherit = ["auto_crm.owned.mixin"]
    #: Fields a person writes (auto_crm.owned.mixin); every other stored field is the add-on's.
    _user_fields = ()
    _auto = False
    _order = "date_delivered desc, id desc"

    visit_id = fields.Many2one("auto_crm.service.visit", string="Service Visit", readonly=True)
    company_id = fields.Many2one("res.company", string="Store", readonly=True)
    advisor_id = fields.Many2one("res.users", string="Service Advisor", readonly=True)
    technician_id = fields.Many2one("res.users", readonly=True)
    partner_id = fields.Many2one("res.partner", string="Customer", readonly=True)
    vehicle_id = fields.Many2one("auto_crm.vehicle", readonly=True)
    visit_type = fields.Selection(VISIT_TYPES, readonly=True)
    date_promised = fields.Datetime(string="Promised Delivery", readonly=True)
    date_delivered = fields.Datetime(string="Delivered", readonly=True)
    delivered_on_time = fields.Boolean(string="Delivered on Time", readonly=True)
    delivery_count = fields.Integer(string="Deliveries", readonly=True, aggregator="sum")
    on_time_count = fields.Integer(string="On Time", readonly=True, aggregator="sum")
    late_count = fields.Integer(string="Late", readonly=True, aggregator="sum")
    on_time_rate = fields.Float(string="On-time Rate (%)", readonly=True, aggregator="avg", digits=(5, 1))
    delay_hours = fields.Float(
        string="Delay (hours)",
        readonly=True,
        aggregator="avg",
        digits=(16, 1),
        help="Hours between the promise and the delivery; 0 for an on-time delivery.",
    )

    def _query(self):
        return SQL(
            """
            SELECT v.id AS id,
                   v.id AS visit_id,
                   v.company_id,
                   v.advisor_id,
                   v.technician_id,
                   v.partner_id,
                   v.vehicle_id,
                   v.visit_type,
                   v.date_promised,
                   v.date_delivered,
                   t.on_time AS delivered_on_time,
                   1 AS delivery_count,
                   CASE WHEN t.on_time THEN 1 ELSE 0 END AS on_time_count,
                   CASE WHEN t.on_time THEN 0 ELSE 1 END AS late_count,
                   CASE WHEN t.on_time THEN 100.0 ELSE 0.0 END AS on_time_rate,
                   CASE WHEN t.on_time THEN 0.0
                        ELSE GREATEST(EXTRACT(EPOCH FROM (v.date_delivered - v.date_promised)) / 3600.0, 0.0)
                   END AS delay_hours
              FROM auto_crm_service_visit v
             CROSS JOIN LATERAL (
                   SELECT COALESCE(v.delivered_on_time, v.date_delivered <= v.date_promised) AS on_time
             ) t
             WHERE v.state = 'followup' AND v.date_delivered IS NOT NULL AND v.date_promised IS NOT NULL
            """
        )

    def init(self):
        self.env.cr.execute(SQL("CREATE OR REPLACE VIEW %s AS (%s)", SQL.identifier(self._table), self._query()))
