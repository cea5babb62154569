from odoo import _, api, fields, models
from odoo.exceptions import AccessError


class AutoCrmComplaintSettings(models.TransientModel):
    """The complaint settings of one store: the goodwill authority of customer relations, the
    callback score that opens a complaint, and the store's SLA policies.

    The values live on the store (``res.company``); dealer administrators edit them here without
    needing the rights to edit companies."""

    _name = "auto_crm.complaint.settings"
    _description = "Complaint Settings"

    company_id = fields.Many2one(
        "res.company",
        string="Store",
        required=True,
        default=lambda self: self.env.company,
        domain=lambda self: [("id", "in", self.env.companies.ids)],
    )
    currency_id = fields.Many2one(related="company_id.currency_id")
    goodwill_limit = fields.Monetary(
        string="Goodwill Authority Limit",
        compute="_compute_from_company",
        store=True,
        readonly=False,
        help="Goodwill customer relations staff may grant on their own; above it an after-sales manager approves.",
    )
    callback_score_threshold = fields.Integer(
        string="Complaint Score Threshold",
        compute="_compute_from_company",
        store=True,
        readonly=False,
        help="A callback scored at or below this (1 to 5) opens a complaint.",
    )
    sla_policy_ids = fields.Many2many(
        "auto_crm.complaint.sla.policy", compute="_compute_sla_policy_ids", string="SLA Policies"
    )

    @api.depends("company_id")
    def _compute_from_company(self):
        for settings in self:
            settings.goodwill_limit = settings.company_id.complaint_goodwill_limit
            settings.callback_score_threshold = settings.company_id.complaint_callback_score_threshold

    @api.depends("company_id")
    def _compute_sla_policy_ids(self):
        Policy = self.env["auto_crm.complaint.sla.policy"]
        for settings in self:
            policies = Policy._policies_for(settings.company_id)
            settings.sla_policy_ids = Policy.union(*policies.values()) if policies else Policy

    def action_save(self):
        if not self.env.user.has_group("auto_crm.group_admin"):
            raise AccessError(_("Only dealer administrators can change the complaint settings."))
        for settings in self:
            settings.company_id.sudo().write(
                {
                    "complaint_goodwill_limit": settings.goodwill_limit,
                    "complaint_callback_score_threshold": settings.callback_score_threshold,
                }
            )
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {
                "type": "success",
                "message": _("Complaint settings saved."),
                "next": {"type": "ir.actions.act_window_close"},
            },
        }

    def action_open_sla_policies(self):
        return self.env["ir.actions.act_window"]._for_xml_id("auto_crm.auto_crm_complaint_sla_policy_action")
