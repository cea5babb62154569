from odoo import _, api, fields, models
from odoo.exceptions import UserError

from .auto_crm_staff_handover import HANDOVER_KINDS


class AutoCrmStaffHandoverLine(models.Model):
    """One thing a handover moved (or skipped): a customer, an open callback or an open complaint, from the
    leaving employee to a successor. Append-only, like its handover."""

    _name = "auto_crm.staff.handover.line"
    _description = "Staff Handover Line"
    _inherit = ["auto_crm.owned.mixin"]
    #: Fields a person writes (auto_crm.owned.mixin): none.
    _user_fields = ()
    _order = "handover_id desc, id"

    handover_id = fields.Many2one(
        "auto_crm.staff.handover", required=True, readonly=True, index=True, ondelete="restrict"
    )
    company_id = fields.Many2one(related="handover_id.company_id", store=True, string="Store", index=True)
    kind = fields.Selection(HANDOVER_KINDS, string="What", required=True, readonly=True)
    state = fields.Selection(
        [("moved", "Handed over"), ("skipped", "Skipped")], string="Status", required=True, readonly=True
    )
    partner_id = fields.Many2one("res.partner", string="Customer", readonly=True, ondelete="restrict")
    customer_id = fields.Many2one("res.partner", string="Customer Managed", readonly=True, ondelete="restrict")
    callback_id = fields.Many2one("auto_crm.callback", readonly=True, ondelete="restrict")
    complaint_id = fields.Many2one("auto_crm.complaint", readonly=True, ondelete="restrict")
    from_user_id = fields.Many2one("res.users", string="From", required=True, readonly=True, ondelete="restrict")
    to_user_id = fields.Many2one("res.users", string="To", readonly=True, ondelete="restrict")
    note = fields.Char(readonly=True)

    @api.model_create_multi
    def create(self, vals_list):
        if not self.env.su:
            raise UserError(_("Staff Handover: handovers are recorded by the handover wizard, not created by hand."))
        for vals in vals_list:
            # The customer of every line, whatever moved: the handover's list reads by customer.
            if not vals.get("partner_id"):
                record = (
                    self.env["res.partner"].browse(vals.get("customer_id"))
                    or self.env["auto_crm.callback"].browse(vals.get("callback_id")).partner_id
                    or self.env["auto_crm.complaint"].browse(vals.get("complaint_id")).partner_id
                )
                vals["partner_id"] = record.id
        return super().create(vals_list)

    # Append-only: no super() on purpose, nothing recorded is ever changed.
    def write(self, vals):  # pylint: disable=method-required-super
        raise UserError(_("Staff Handover: a recorded handover is never changed."))

    @api.ondelete(at_uninstall=False)
    def _unlink_never(self):
        raise UserError(_("Staff Handover: a recorded handover is never deleted."))
