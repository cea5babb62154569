from odoo import api, fields, models

from .auto_crm_callback_rule import TRIGGERS
from .input_limits import check_vals


class AutoCrmCallbackReminder(models.Model):
    """What a reminder call is about: one line per reminder (a car's next service, its warranty ending,
    its insurance, its inspection, the customer's birthday) the callback engine gave the call.

    A reminder call lists every reminder of its customer due in the same week: the engine puts a reminder
    of another rule into the open call of the same week instead of making a second call (one open call per
    customer). Written only by the engine, in the statement that runs the rule; one line per rule and
    source and period (a unique index), so a reminder is given once, to one call."""

    _name = "auto_crm.callback.reminder"
    _description = "Callback Reminder"
    _inherit = ["auto_crm.owned.mixin"]
    #: Nothing here is a person's: the callback engine writes every line.
    _user_fields = ()
    _order = "date_due, id"
    _check_company_auto = True

    callback_id = fields.Many2one("auto_crm.callback", required=True, ondelete="cascade", index=True, readonly=True)
    company_id = fields.Many2one("res.company", string="Store", required=True, index=True, readonly=True)
    rule_id = fields.Many2one("auto_crm.callback.rule", required=True, ondelete="cascade", readonly=True)
    trigger = fields.Selection(TRIGGERS, string="Reminder", required=True, readonly=True)
    source_model = fields.Char(size=64, required=True, readonly=True)
    source_id = fields.Integer(required=True, readonly=True)
    source_period = fields.Integer(required=True, readonly=True)
    partner_id = fields.Many2one("res.partner", string="Customer", readonly=True)
    vehicle_id = fields.Many2one("auto_crm.vehicle", readonly=True)
    date_due = fields.Date(string="Due", required=True, readonly=True)
    merged = fields.Boolean(
        readonly=True, help="Given to a call the customer already had open that week, instead of a call of its own."
    )

    _sql_constraints = [
        (
            # Exactly once: a rule's source (and period) is reminded in one call only.
            "auto_crm_callback_reminder_source_uniq",
            "unique(rule_id, source_model, source_id, source_period)",
            "This rule already reminded this customer of this.",
        ),
    ]

    @api.model_create_multi
    def create(self, vals_list):
        check_vals(self, vals_list)
        return super().create(vals_list)

    def write(self, vals):
        check_vals(self, [vals])
        return super().write(vals)

    @api.depends("trigger", "vehicle_id", "date_due")
    def _compute_display_name(self):
        triggers = dict(self._fields["trigger"]._description_selection(self.env))
        for reminder in self:
            parts = [triggers.get(reminder.trigger, "")]
            if reminder.vehicle_id:
                parts.append(reminder.vehicle_id.display_name)
            reminder.display_name = " - ".join(filter(None, parts))
