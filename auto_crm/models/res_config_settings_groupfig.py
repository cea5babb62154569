from odoo import api, fields, models

from .res_company_groupfig import ADMIN


class ResConfigSettings(models.TransientModel):
    """Settings → Dealer CRM → Dealer Group: whether the group's stores may keep their own satisfaction
    weighting (a field of the group company, set while working in the group company)."""

    # each feature keeps its own settings beside its code (archive, group figures, scorecards)
    _inherit = "res.config.settings"  # pylint: disable=consider-merging-classes-inherited

    auto_crm_store_weighting = fields.Boolean(
        related="company_id.auto_crm_store_weighting", readonly=False, groups=ADMIN
    )

    @api.model
    def _auto_crm_changed_settings(self, vals):
        changed = super()._auto_crm_changed_settings(vals)
        if "auto_crm_store_weighting" in vals:
            company = self.env["res.company"].browse(vals["company_id"]) if vals.get("company_id") else self.env.company
            if bool(vals["auto_crm_store_weighting"]) != company.sudo().auto_crm_store_weighting:
                changed.append(self._fields["auto_crm_store_weighting"]._description_string(self.env))
        return changed
