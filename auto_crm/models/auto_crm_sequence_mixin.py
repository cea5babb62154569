from odoo import _, api, models
from odoo.exceptions import UserError


class AutoCrmSequenceMixin(models.AbstractModel):
    """Numbers from a per-company sequence (repair orders, complaints...).

    The sequence shipped as data has no company and serves as the template: the first number a
    company draws creates that company's own copy, so every store counts from 1 on its own.
    """

    _name = "auto_crm.sequence.mixin"
    _description = "Dealer CRM per-company numbering"

    @api.model
    def _auto_crm_next_number(self, code, company):
        Sequence = self.env["ir.sequence"].sudo()
        sequence = Sequence.search([("code", "=", code), ("company_id", "=", company.id)], limit=1)
        if not sequence:
            template = Sequence.search([("code", "=", code), ("company_id", "=", False)], limit=1)
            if not template:
                raise UserError(
                    _("Numbering: no sequence with the code %s exists; reinstall the Dealer CRM data.", code)
                )
            sequence = template.copy(
                {
                    "company_id": company.id,
                    "number_next": 1,
                    "name": f"{template.name} ({company.name})",
                }
            )
        return sequence._next()
