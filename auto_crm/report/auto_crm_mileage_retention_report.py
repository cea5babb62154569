from odoo import fields, models
from odoo.tools import SQL

#: How far from the service the plan said was due a return still counts: either of the two.
WINDOW_KM = 1500
WINDOW_DAYS = 60

SERVICE_KINDS = [("first", "First maintenance"), ("regular", "Regular maintenance")]
DUE_BY = [("mileage", "Mileage"), ("time", "Time")]


class AutoCrmMileageRetentionReport(models.Model):
    """Service retention by mileage (按里程的服务保留率) per store and month, beside the retention by time.

    Each delivered maintenance visit of a car, and each car sold by the store (its first maintenance),
    says when the next service is due by the car's service plan: at the visit's mileage + the plan's
    interval (the first: the plan's first mileage) or after the plan's months, whichever comes first.
    The day the car reaches the mileage is estimated from its usual km per day (the service forecast's
    own rate, stored on the car); without a rate only the months count. The car *came back for it*
    when a visit of the same store (not cancelled) was received within 60 days of that day OR within
    1,500 km of that mileage. A car that came back for maintenance before both (earlier and fewer km)
    is not due: its next service moved, counted from that visit. A service is shown from the month it
    was due once its window has closed (60 days after the day) or the car came back; the rate of a
    group is the average of ``retention_rate`` (100 or 0)."""

    _name = "auto_crm.mileage.retention.report"
    _description = "Service Retention by Mileage"
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
    service_kind = fields.Selection(SERVICE_KINDS, string="Service", readonly=True)
    last_visit_id = fields.Many2one("auto_crm.service.visit", string="Last Maintenance", readonly=True)
    due_mileage = fields.Integer(string="Due at (km)", readonly=True, aggregator=False)
    due_date = fields.Date(string="Due on", readonly=True)
    due_by = fields.Selection(DUE_BY, string="Due by", readonly=True)
    return_visit_id = fields.Many2one("auto_crm.service.visit", readonly=True)
    due_count = fields.Integer(string="Services Due", readonly=True, aggregator="sum")
    returned_count = fields.Integer(string="Came Back", readonly=True, aggregator="sum")
    retention_rate = fields.Float(string="Retention Rate (%)", readonly=True, aggregator="avg", digits=(5, 1))

    def _query(self):
        return SQL(
            """
            WITH started AS (
                -- a delivered maintenance visit: the next service counts from it
                SELECT 2 * v.id + 1 AS id, 'regular' AS kind, v.id AS visit_id, v.company_id, v.vehicle_id,
                       car.partner_id, v.date_delivered AS since, v.date_delivered::date AS start_day,
                       v.mileage_in AS start_km, car.model_id, car.brand_id, car.km_per_day
                  FROM auto_crm_service_visit v
                  JOIN auto_crm_vehicle car ON car.id = v.vehicle_id
                 WHERE v.state = 'followup' AND v.visit_type = 'maintenance' AND v.date_delivered IS NOT NULL
                UNION ALL
                -- a car sold by the store: its first maintenance counts from the purchase
                SELECT 2 * car.id, 'first', NULL, car.company_id, car.id, car.partner_id, car.purchase_date::timestamp,
                       car.purchase_date, 0, car.model_id, car.brand_id, car.km_per_day
                  FROM auto_crm_vehicle car
                 WHERE car.sold_here AND car.purchase_date IS NOT NULL AND car.company_id IS NOT NULL
            ), due AS (
                SELECT s.*, s.start_km + CASE WHEN s.kind = 'first' THEN plan.first_service_km
                                              ELSE plan.interval_km END AS due_km,
                       (s.start_day + make_interval(months => CASE WHEN s.kind = 'first'
                                                                   THEN plan.first_service_months
                                                                   ELSE plan.interval_months END))::date AS time_day,
                       CASE WHEN s.km_per_day > 0
                            THEN s.start_day + CEIL(CASE WHEN s.kind = 'first' THEN plan.first_service_km
                                                         ELSE plan.interval_km END / s.km_per_day)::int
                       END AS km_day
                  FROM started s
                  -- the car's plan as auto_crm.service.plan._pick chooses it: the model's, the brand's, the
                  -- store's, the group's; a store's own before a shared one
                  JOIN LATERAL (
                        SELECT p.first_service_km, p.first_service_months, p.interval_km, p.interval_months
                          FROM auto_crm_service_plan p
                         WHERE p.active AND (p.model_id IS NULL OR p.model_id = s.model_id)
                           AND (p.brand_id IS NULL OR p.brand_id = s.brand_id)
                           AND (p.company_id IS NULL OR p.company_id = s.company_id)
                      ORDER BY p.model_id IS NOT NULL DESC, p.brand_id IS NOT NULL DESC,
                               p.company_id IS NOT NULL DESC, p.sequence, p.id
                         LIMIT 1) plan ON TRUE
            ), dated AS (
                SELECT d.*, LEAST(d.time_day, d.km_day) AS due_day,
                       CASE WHEN d.km_day IS NOT NULL AND d.km_day < d.time_day THEN 'mileage' ELSE 'time' END AS due_by
                  FROM due d
            )
            SELECT d.id,
                   d.company_id,
                   date_trunc('month', d.due_day)::date AS month,
                   d.vehicle_id,
                   d.partner_id,
                   rp.auto_customer_manager_id AS customer_manager_id,
                   d.kind AS service_kind,
                   d.visit_id AS last_visit_id,
                   d.due_km AS due_mileage,
                   d.due_day AS due_date,
                   d.due_by,
                   back.id AS return_visit_id,
                   1 AS due_count,
                   CASE WHEN back.id IS NULL THEN 0 ELSE 1 END AS returned_count,
                   CASE WHEN back.id IS NULL THEN 0.0 ELSE 100.0 END AS retention_rate
              FROM dated d
              LEFT JOIN res_partner rp ON rp.id = d.partner_id
              LEFT JOIN LATERAL (
                    SELECT rv.id
                      FROM auto_crm_service_visit rv
                     WHERE rv.vehicle_id = d.vehicle_id AND rv.company_id = d.company_id
                       AND rv.state != 'cancel' AND rv.date_reception > d.since
                       AND (rv.date_reception::date BETWEEN d.due_day - %(days)s AND d.due_day + %(days)s
                            OR rv.mileage_in BETWEEN d.due_km - %(km)s AND d.due_km + %(km)s)
                  ORDER BY rv.date_reception, rv.id
                     LIMIT 1
              ) back ON TRUE
             WHERE NOT EXISTS (
                    -- came back for maintenance early (sooner and fewer km): the next service moved
                    SELECT 1 FROM auto_crm_service_visit early
                     WHERE early.vehicle_id = d.vehicle_id AND early.company_id = d.company_id
                       AND early.visit_type = 'maintenance' AND early.state != 'cancel'
                       AND early.date_reception > d.since
                       AND early.date_reception::date < d.due_day - %(days)s
                       AND early.mileage_in < d.due_km - %(km)s)
               AND (back.id IS NOT NULL OR d.due_day + %(days)s < (NOW() AT TIME ZONE 'UTC')::date)
               AND d.due_day <= (NOW() AT TIME ZONE 'UTC')::date
            """,
            days=WINDOW_DAYS,
            km=WINDOW_KM,
        )

    def init(self):
        self.env.cr.execute(SQL("CREATE OR REPLACE VIEW %s AS (%s)", SQL.identifier(self._table), self._query()))
