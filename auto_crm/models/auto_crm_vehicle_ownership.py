from odoo import _, api, fields, models
from odoo.exceptions import ValidationError
from odoo.tools.sql import create_index


class AutoCrmVehicleOwnership(models.Model):
    _name = "auto_crm.vehicle.ownership"
    _description = "Vehicle Ownership Period"
    _inherit = ["auto_crm.owned.mixin"]
    #: Fields a person writes (auto_crm.owned.mixin); every other stored field is the add-on's.
    _user_fields = {
        "vehicle_id",
        "partner_id",
        "date_start",
        "date_end",
    }
    _order = "date_start desc, id desc"
    _check_company_auto = True

    vehicle_id = fields.Many2one("auto_crm.vehicle", required=True, ondelete="cascade", index=True, check_company=True)
    company_id = fields.Many2one(related="vehicle_id.company_id", store=True, index=True)
    partner_id = fields.Many2one("res.partner", string="Owner", required=True, index=True)
    date_start = fields.Date(string="Owner Since", required=True)
    date_end = fields.Date(string="Owner Until")
    is_current = fields.Boolean(compute="_compute_is_current", string="Current Owner")

    def init(self):
        # A vehicle's owners and the ownership list, in their order.
        create_index(
            self.env.cr,
            "auto_crm_vehicle_ownership_vehicle_date_idx",
            self._table,
            ["vehicle_id", "date_start DESC", "id DESC"],
        )
        create_index(self.env.cr, "auto_crm_vehicle_ownership_date_idx", self._table, ["date_start DESC", "id DESC"])

    @api.depends("date_end")
    def _compute_is_current(self):
        for ownership in self:
            ownership.is_current = not ownership.date_end

    @api.depends("partner_id", "date_start", "date_end")
    def _compute_display_name(self):
        for ownership in self:
            ownership.display_name = _(
                "%(owner)s from %(start)s", owner=ownership.partner_id.display_name, start=ownership.date_start
            )

    @api.constrains("date_start", "date_end")
    def _check_dates(self):
        for ownership in self:
            if ownership.date_end and ownership.date_end < ownership.date_start:
                raise ValidationError(_("Owner Until: the end of an ownership cannot be before its start."))
