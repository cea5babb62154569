from odoo import fields, models
from odoo.tools import SQL


class AutoCrmRetentionReport(models.Model):
    """Service retention (服务保留率) per store and month.

    A vehicle is *due* at a store in month M when its last delivered visit at that store before M
    was delivered in month M - N, N being the store's service interval (a setting of the store,
    6 months by default). It has *returned* when it was received at that store for a visit that was
    not cancelled, in month M or up to the store's grace months after M. The retention rate of a
    group of rows is the average of ``retention_rate`` (100 for a returned vehicle, 0 otherwise).
    A vehicle that came back early is not due: its latest visit simply moved. Months after the
    current one are not shown (nothing is due in them yet).
    """

    _name = "auto_crm.retention.report"
    _description = "Service Retention Analysis"
    _inherit = ["auto_crm.owned.mixin"]
    #: Fields a person writes (auto_crm.owned.mixin); every other stored field is the add-on's.
    _user_fields = ()
    _auto = False
    _order = "month desc, company_id"

    company_id = fields.Many2one("res.company", string="Store", readonly=True)
    month = fields.Date(string="Due Month", readonly=True)
    vehicle_id = fields.Many2one("auto_crm.vehicle", readonly=True)
    partner_id = fields.Many2one("res.partner", string="Customer", readonly=True)
    customer_manager_id = fields.Many2one("res.users", readonly=True)
    advisor_id = fields.Many2one("res.users", string="Last Advisor", readonly=True)
    last_visit_id = fields.Many2one("auto_crm.service.visit", string="Last Delivered Visit", readonly=True)
    last_delivered = fields.Date(readonly=True)
    return_visit_id = fields.Many2one("auto_crm.service.visit", readonly=True)
    due_count = fields.Integer(string="Vehicles Due", readonly=True, aggregator="sum")
    returned_count = fields.Integer(string="Vehicles Returned", readonly=True, aggregator="sum")
    retention_rate = fields.Float(string="Retention Rate (%)", readonly=True, aggregator="avg", digits=(5, 1))

    def _query(self):
        return SQL(
            """
            WITH delivered AS (
                SELECT v.id, v.company_id, v.vehicle_id, v.partner_id, v.advisor_id, v.date_delivered,
                       (date_trunc('month', v.date_delivered)
                        + make_interval(months => COALESCE(c.retention_service_interval_months, 6)))::date
                           AS due_month,
                       COALESCE(c.retention_return_grace_months, 1) AS grace,
                       LEAD(v.date_delivered) OVER (
                           PARTITION BY v.company_id, v.vehicle_id ORDER BY v.date_delivered, v.id
                       ) AS next_delivered
                  FROM auto_crm_service_visit v
                  LEFT JOIN res_company c ON c.id = v.company_id
                 WHERE v.state = 'followup' AND v.date_delivered IS NOT NULL
            )
            SELECT d.id AS id,
                   d.company_id,
                   d.due_month AS month,
                   d.vehicle_id,
                   d.partner_id,
                   rp.auto_customer_manager_id AS customer_manager_id,
                   d.advisor_id,
                   d.id AS last_visit_id,
                   d.date_delivered::date AS last_delivered,
                   r.id AS return_visit_id,
                   1 AS due_count,
                   CASE WHEN r.id IS NULL THEN 0 ELSE 1 END AS returned_count,
                   CASE WHEN r.id IS NULL THEN 0.0 ELSE 100.0 END AS retention_rate
              FROM delivered d
              JOIN res_partner rp ON rp.id = d.partner_id
              LEFT JOIN LATERAL (
                    SELECT rv.id
                      FROM auto_crm_service_visit rv
                     WHERE rv.company_id = d.company_id
                       AND rv.vehicle_id = d.vehicle_id
                       AND rv.state != 'cancel'
                       AND rv.date_reception >= d.due_month
                       AND rv.date_reception < d.due_month + make_interval(months => 1 + d.grace)
                  ORDER BY rv.date_reception, rv.id
                     LIMIT 1
              ) r ON TRUE
             WHERE (d.next_delivered IS NULL OR d.next_delivered >= d.due_month)
               AND d.due_month <= date_trunc('month', NOW() AT TIME ZONE 'UTC')
            """
        )

    def init(self):
        self.env.cr.execute(SQL("CREATE OR REPLACE VIEW %s AS (%s)", SQL.identifier(self._table), self._query()))
