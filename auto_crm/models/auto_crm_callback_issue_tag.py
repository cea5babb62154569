from dateutil.relativedelta import relativedelta

from odoo import _, api, fields, models
from odoo.tools import SQL

from .input_limits import check_vals

#: How far back the recurring-issues view counts callbacks.
RECURRING_DAYS = 90


class AutoCrmCallbackIssueTag(models.Model):
    _name = "auto_crm.callback.issue.tag"
    _description = "Callback Issue Tag"
    _inherit = ["auto_crm.owned.mixin"]
    #: Fields a person writes (auto_crm.owned.mixin); every other stored field is the add-on's.
    _user_fields = {
        "name",
        "color",
        "active",
        "company_id",
    }
    _order = "name"

    name = fields.Char(required=True, translate=True, size=128)
    color = fields.Integer()
    active = fields.Boolean(default=True)
    company_id = fields.Many2one("res.company", string="Store", index=True, help="Leave empty to share it.")

    _sql_constraints = [
        ("auto_crm_callback_issue_tag_name_uniq", "unique(name, company_id)", "This issue tag already exists."),
    ]

    @api.model_create_multi
    def create(self, vals_list):
        check_vals(self, vals_list)
        return super().create(vals_list)

    def write(self, vals):
        check_vals(self, [vals])
        return super().write(vals)

    # ------------------------------------------------------------------ recurring issues

    recent_count = fields.Integer(
        compute="_compute_recent",
        string=f"Callbacks ({RECURRING_DAYS} days)",
        help=f"Done callbacks of the last {RECURRING_DAYS} days in which customers raised this issue.",
    )
    recent_complaint_count = fields.Integer(
        compute="_compute_recent",
        string="Complaints",
        help="How many of those callbacks opened a complaint.",
    )
    preventive_action_ids = fields.Many2many(
        "auto_crm.corrective.action",
        compute="_compute_recent",
        string="Actions",
    )

    def _field_to_sql(self, alias, fname, query=None, flush=True):
        """``recent_count`` is sortable (the recurring issues list shows the most frequent first): in an
        ORDER BY it is the same count as its compute, a probe of the tag's rows per tag."""
        if fname != "recent_count":
            return super()._field_to_sql(alias, fname, query, flush)
        since = fields.Datetime.now() - relativedelta(days=RECURRING_DAYS)
        return SQL(
            """(SELECT COUNT(*) FROM auto_crm_callback_issue_tag_rel rel
                  JOIN auto_crm_callback cb ON cb.id = rel.callback_id
                 WHERE rel.tag_id = %s AND cb.state = 'done' AND cb.date_done >= %s)""",
            SQL.identifier(alias, "id"),
            since,
        )

    def _compute_recent(self):
        since = fields.Datetime.now() - relativedelta(days=RECURRING_DAYS)
        Callback = self.env["auto_crm.callback"]
        counts = dict(
            Callback._read_group(
                [("issue_tag_ids", "in", self.ids), ("state", "=", "done"), ("date_done", ">=", since)],
                ["issue_tag_ids"],
                ["__count"],
            )
        )
        complaints = dict(
            Callback._read_group(
                [
                    ("issue_tag_ids", "in", self.ids),
                    ("state", "=", "done"),
                    ("date_done", ">=", since),
                    ("complaint_ids", "!=", False),
                ],
                ["issue_tag_ids"],
                ["__count"],
            )
        )
        actions = self.env["auto_crm.corrective.action"].search([("issue_tag_ids", "in", self.ids)])
        for tag in self:
            tag.recent_count = counts.get(tag, 0)
            tag.recent_complaint_count = complaints.get(tag, 0)
            tag.preventive_action_ids = actions.filtered(lambda a, t=tag: t in a.issue_tag_ids)

    def action_open_preventive_action(self):
        """A manager opens a preventive action from a pattern of callback issues."""
        self.ensure_one()
        action = self.env["auto_crm.corrective.action"].create(
            {
                "name": _("Prevent: %s", self.name),
                "action_type": "preventive",
                "origin_type": "recurring_issue",
                "issue_tag_ids": [fields.Command.set(self.ids)],
                "recurring_issue": _(
                    "%(issue)s was raised in %(count)s callbacks over the last %(days)s days.",
                    issue=self.name,
                    count=self.recent_count,
                    days=RECURRING_DAYS,
                ),
                "user_id": self.env.user.id,
                "deadline": self.env.company._auto_crm_today() + relativedelta(days=30),
            }
        )
        return {
            "type": "ir.actions.act_window",
            "res_model": action._name,
            "res_id": action.id,
            "view_mode": "form",
            "target": "current",
        }
