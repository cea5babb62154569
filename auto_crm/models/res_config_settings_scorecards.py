from odoo import api, fields, models

ADMIN = "auto_crm.group_admin"


class ResConfigSettings(models.TransientModel):
    """Settings → Dealer CRM → Staff Scorecards: the first-time-fix window of the store."""

    # each feature keeps its own settings beside its code (archive, group figures, scorecards)
    _inherit = "res.config.settings"  # pylint: disable=consider-merging-classes-inherited

    scorecard_first_fix_days = fields.Integer(
        related="company_id.scorecard_first_fix_days", readonly=False, groups=ADMIN
    )

    @api.model
    def _auto_crm_changed_settings(self, vals):
        # only dealer administrators change the Dealer CRM settings, this one too
        changed = super()._auto_crm_changed_settings(vals)
        if "scorecard_first_fix_days" in vals:
            company = self.env["res.company"].browse(vals["company_id"]) if vals.get("company_id") else self.env.company
            if vals["scorecard_first_fix_days"] != company.sudo().scorecard_first_fix_days:
                changed.append(self._fields["scorecard_first_fix_days"]._description_string(self.env))
        return changed
