from odoo import fields, models


class AutoCrmCallbackTeam(models.Model):
    _name = "auto_crm.callback.team"
    _description = "Customer Relations Team"
    #: Fields a person writes (auto_crm.owned.mixin); every other stored field is the add-on's.
    _user_fields = {
        "name",
        "active",
        "company_id",
        "leader_id",
        "member_ids",
    }
    _inherit = ["auto_crm.owned.mixin", "mail.thread"]
    _order = "name"
    _check_company_auto = True

    name = fields.Char(required=True, translate=True, tracking=True)
    active = fields.Boolean(default=True)
    company_id = fields.Many2one(
        "res.company", string="Store", index=True, tracking=True, help="Leave empty to share it across the group."
    )
    leader_id = fields.Many2one("res.users", string="Team Leader", tracking=True, domain="[('share', '=', False)]")
    member_ids = fields.Many2many(
        "res.users",
        "auto_crm_callback_team_member_rel",
        "team_id",
        "user_id",
        string="Agents",
        domain="[('share', '=', False)]",
        help="Round-robin assignment deals callbacks to these agents in turn; they also see the "
        "team's unassigned callbacks.",
    )
