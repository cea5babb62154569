from odoo import _, models


class ResPartner(models.Model):
    _inherit = "res.partner"

    def action_auto_crm_transfer(self):
        """The wizard that transfers this customer to another store of the dealer group."""
        self.ensure_one()
        return {
            "type": "ir.actions.act_window",
            "name": _("Transfer to Another Store"),
            "res_model": "auto_crm.customer.transfer.wizard",
            "view_mode": "form",
            "target": "new",
            "context": {"default_partner_id": self.id},
        }
