from odoo import fields, models


class AutoCrmCallbackIssueTag(models.Model):
    _name = "auto_crm.callback.issue.tag"
    _description = "Callback Issue Tag"
    _order = "name"

    name = fields.Char(required=True, translate=True)
    color = fields.Integer()
    active = fields.Boolean(default=True)
    company_id = fields.Many2one("res.company", string="Store", index=True, help="Leave empty to share it.")

    _sql_constraints = [
        ("auto_crm_callback_issue_tag_name_uniq", "unique(name, company_id)", "This issue tag already exists."),
    ]
