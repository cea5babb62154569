from datetime import date

from odoo import _, api, fields, models
from odoo.exceptions import ValidationError
from odoo.tools.misc import format_date
from odoo.tools.sql import create_index

from .auto_crm_vehicle import MAX_KM
from .input_limits import check_vals

#: No reading is dated before this day.
FIRST_READING_DATE = date(1950, 1, 1)

ODOMETER_SOURCES = [
    ("manual", "Entered by hand"),
    ("visit", "Service visit"),
    ("callback", "Customer callback"),
    ("delivery", "New-car delivery"),
    ("import", "Import"),
]


class AutoCrmVehicleOdometer(models.Model):
    _name = "auto_crm.vehicle.odometer"
    _description = "Vehicle Odometer Reading"
    _inherit = ["auto_crm.owned.mixin"]
    #: Fields a person writes (auto_crm.owned.mixin); every other stored field is the add-on's.
    _user_fields = {
        "vehicle_id",
        "date",
        "value",
        "is_replacement",
        "note",
    }
    _order = "date desc, id desc"
    _check_company_auto = True

    vehicle_id = fields.Many2one("auto_crm.vehicle", required=True, ondelete="cascade", index=True, check_company=True)
    company_id = fields.Many2one(related="vehicle_id.company_id", store=True, index=True)
    date = fields.Date(required=True, default=lambda self: self.env.company._auto_crm_today(), index=True)
    value = fields.Integer(string="Reading (km)", required=True, aggregator="max")
    source = fields.Selection(ODOMETER_SOURCES, required=True, default="manual")
    visit_id = fields.Many2one(
        "auto_crm.service.visit", string="Service Visit", ondelete="set null", index="btree_not_null"
    )
    is_replacement = fields.Boolean(
        string="Odometer Replaced",
        help="The odometer was replaced or reset: this reading may be lower than the previous one.",
    )
    note = fields.Char()
    recorded_by_id = fields.Many2one("res.users", default=lambda self: self.env.user, readonly=True)

    _sql_constraints = [
        ("auto_crm_odometer_value_positive", "CHECK(value >= 0)", "An odometer reading cannot be negative."),
        ("auto_crm_odometer_value_bound", f"CHECK(value <= {MAX_KM})", f"Reading (km): at most {MAX_KM} km."),
    ]

    def init(self):
        # A vehicle's readings and the readings list, in their order.
        create_index(
            self.env.cr,
            "auto_crm_vehicle_odometer_vehicle_date_idx",
            self._table,
            ["vehicle_id", "date DESC", "id DESC"],
        )
        create_index(self.env.cr, "auto_crm_vehicle_odometer_date_idx", self._table, ["date DESC", "id DESC"])

    @api.model_create_multi
    def create(self, vals_list):
        check_vals(self, vals_list, {"value": (0, MAX_KM)})
        readings = super().create(vals_list)
        readings.vehicle_id._care_forecast_refresh()
        return readings

    def write(self, vals):
        check_vals(self, [vals], {"value": (0, MAX_KM)})
        vehicles = self.vehicle_id
        result = super().write(vals)
        if {"vehicle_id", "date", "value", "is_replacement", "visit_id"} & set(vals):
            # A reading changed (or moved to another car): the cars' service forecasts follow.
            (vehicles | self.vehicle_id)._care_forecast_refresh()
        return result

    def unlink(self):
        vehicles = self.vehicle_id
        result = super().unlink()
        vehicles.exists()._care_forecast_refresh()
        return result

    @api.constrains("date")
    def _check_date(self):
        today = self.env.company._auto_crm_today()
        for reading in self:
            if not FIRST_READING_DATE <= reading.date <= today:
                raise ValidationError(
                    _(
                        "Date: a reading on %(date)s is impossible; a reading is dated from %(first)s to "
                        "today (%(today)s).",
                        date=format_date(self.env, reading.date),
                        first=format_date(self.env, FIRST_READING_DATE),
                        today=format_date(self.env, today),
                    )
                )

    @api.depends("vehicle_id", "value", "date")
    def _compute_display_name(self):
        for reading in self:
            reading.display_name = _(
                "%(value)s km on %(date)s", value=reading.value, date=format_date(self.env, reading.date)
            )

    @api.constrains("value", "date", "vehicle_id", "is_replacement")
    def _check_not_going_back(self):
        """A reading may not be lower than the one before it, nor higher than the one after it,
        unless the odometer was replaced in between."""
        for reading in self:
            ordered = reading.vehicle_id.odometer_ids.sorted(lambda r: (r.date, r.id))
            position = list(ordered).index(reading)
            before = ordered[position - 1] if position > 0 else ordered.browse()
            after = ordered[position + 1] if position + 1 < len(ordered) else ordered.browse()
            if before and not reading.is_replacement and reading.value < before.value:
                raise ValidationError(
                    _(
                        "Reading (km): %(value)s km on %(date)s is lower than the previous reading of "
                        "%(previous)s km on %(previous_date)s for %(vehicle)s. Tick 'Odometer Replaced' "
                        "if the odometer was changed.",
                        value=reading.value,
                        date=format_date(self.env, reading.date),
                        previous=before.value,
                        previous_date=format_date(self.env, before.date),
                        vehicle=reading.vehicle_id.display_name,
                    )
                )
            if after and not after.is_replacement and after.value < reading.value:
                raise ValidationError(
                    _(
                        "Reading (km): %(value)s km on %(date)s is higher than the later reading of "
                        "%(next)s km on %(next_date)s for %(vehicle)s.",
                        value=reading.value,
                        date=format_date(self.env, reading.date),
                        next=after.value,
                        next_date=format_date(self.env, after.date),
                        vehicle=reading.vehicle_id.display_name,
                    )
                )
