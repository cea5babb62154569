from odoo import _, api, fields, models
from odoo.exceptions import ValidationError

from .input_limits import check_vals

SEVERITIES = [
    ("general", "General"),
    ("escalated", "Escalated"),
    ("major", "Major"),
]

#: Hours of a policy: a year at most (NaN and infinity are refused whatever the range).
SLA_RANGES = {"hours_to_acknowledge": (0, 8760), "hours_to_resolve": (0, 8760)}


class AutoCrmComplaintSlaPolicy(models.Model):
    """How fast a complaint of a severity must be acknowledged and resolved.

    A policy of a store wins over the group-wide policy (no store) of the same severity.
    """

    _name = "auto_crm.complaint.sla.policy"
    _description = "Complaint SLA Policy"
    _inherit = ["auto_crm.owned.mixin"]
    #: Fields a person writes (auto_crm.owned.mixin); every other stored field is the add-on's.
    _user_fields = {
        "severity",
        "hours_to_acknowledge",
        "hours_to_resolve",
        "company_id",
        "active",
    }
    _order = "company_id, severity, id"

    name = fields.Char(compute="_compute_name", store=True)
    severity = fields.Selection(SEVERITIES, required=True)
    hours_to_acknowledge = fields.Float(
        string="Hours to Acknowledge", required=True, default=4.0, help="From receipt to acknowledgement, in hours."
    )
    hours_to_resolve = fields.Float(
        string="Hours to Resolve",
        required=True,
        default=72.0,
        help="From receipt to a resolution offered to the customer, in hours.",
    )
    company_id = fields.Many2one(
        "res.company", string="Store", index=True, help="Leave empty for the policy of the whole group."
    )
    active = fields.Boolean(default=True)

    _sql_constraints = [
        (
            "auto_crm_sla_hours_positive",
            "CHECK(hours_to_acknowledge > 0 AND hours_to_resolve > 0)",
            "Hours to Acknowledge and Hours to Resolve must be positive.",
        ),
    ]

    def init(self):
        # One active policy per severity and store; NULL (the group) counts as one store.
        self.env.cr.execute(
            """
            CREATE UNIQUE INDEX IF NOT EXISTS auto_crm_complaint_sla_policy_severity_company_uniq
                ON auto_crm_complaint_sla_policy (severity, COALESCE(company_id, 0))
             WHERE active
            """
        )

    @api.depends("severity", "company_id")
    def _compute_name(self):
        labels = dict(SEVERITIES)
        for policy in self:
            label = labels.get(policy.severity, "")
            policy.name = f"{label} ({policy.company_id.name})" if policy.company_id else label

    @api.model_create_multi
    def create(self, vals_list):
        check_vals(self, vals_list, SLA_RANGES)
        return super().create(vals_list)

    def write(self, vals):
        check_vals(self, [vals], SLA_RANGES)
        return super().write(vals)

    @api.constrains("hours_to_acknowledge", "hours_to_resolve")
    def _check_hours(self):
        for policy in self:
            if policy.hours_to_resolve < policy.hours_to_acknowledge:
                raise ValidationError(
                    _(
                        "Hours to Resolve: %(policy)s gives %(resolve)s hours to resolve but %(ack)s to "
                        "acknowledge; resolving cannot come before acknowledging.",
                        policy=policy.name,
                        resolve=policy.hours_to_resolve,
                        ack=policy.hours_to_acknowledge,
                    )
                )

    @api.model
    def _policies_for(self, companies):
        """{(company_id, severity): policy} for the given stores, store policies over group ones."""
        policies = self.sudo().search([("company_id", "in", [False, *companies.ids])])
        result = {}
        for policy in policies.filtered(lambda p: not p.company_id):
            for company in companies:
                result[(company.id, policy.severity)] = policy
        for policy in policies.filtered("company_id"):
            result[(policy.company_id.id, policy.severity)] = policy
        return result
