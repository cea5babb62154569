from odoo import api, fields, models


class AutoCrmCustomerTransferWizard(models.TransientModel):
    """Transfer a customer to another store of the dealer group, with a reason."""

    _name = "auto_crm.customer.transfer.wizard"
    _description = "Transfer Customer to Another Store"
    _inherit = ["auto_crm.owned.mixin"]
    #: Fields a person writes (auto_crm.owned.mixin).
    _user_fields = {"partner_id", "company_id", "reason"}

    partner_id = fields.Many2one("res.partner", string="Customer", required=True)
    from_company_id = fields.Many2one(related="partner_id.company_id", string="From Store")
    company_id = fields.Many2one(
        "res.company",
        string="To Store",
        domain="[('id', 'in', allowed_company_ids)]",
    )
    allowed_company_ids = fields.Many2many("res.company", compute="_compute_allowed_company_ids")
    reason = fields.Text(required=True)

    @api.depends("partner_id")
    def _compute_allowed_company_ids(self):
        for wizard in self:
            home = wizard.partner_id.company_id or self.env.company
            stores = self.env["res.company"].sudo().search([("id", "child_of", home.root_id.id)])
            wizard.allowed_company_ids = (stores - home.root_id - wizard.partner_id.company_id).sudo(False)

    def action_transfer(self):
        self.ensure_one()
        self.env["auto_crm.customer.transfer"]._transfer(self.partner_id, self.company_id, self.reason)
        return {"type": "ir.actions.act_window_close"}
