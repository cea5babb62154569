from odoo import _, api, fields, models
from odoo.exceptions import UserError
from odoo.tools.sql import create_index

from .auto_crm_owned_mixin import _OWNER_TOKEN, OWNER_KEY
from .res_partner import CONTACT_CHANNELS

OUTCOMES = [
    ("answered", "Answered"),
    ("no_answer", "No answer"),
    ("busy", "Busy"),
    ("refused", "Refused"),
    ("wrong_number", "Wrong number"),
]


class AutoCrmCallbackAttempt(models.Model):
    _name = "auto_crm.callback.attempt"
    _description = "Callback Attempt"
    _inherit = ["auto_crm.owned.mixin"]
    #: Fields a person writes (auto_crm.owned.mixin); every other stored field is the add-on's.
    _user_fields = {
        "callback_id",
        "channel",
        "outcome",
        "note",
    }
    _order = "date desc, id desc"
    _check_company_auto = True

    callback_id = fields.Many2one(
        "auto_crm.callback", required=True, ondelete="cascade", index=True, check_company=True
    )
    company_id = fields.Many2one(related="callback_id.company_id", store=True, index=True)
    partner_id = fields.Many2one(related="callback_id.partner_id", store=True, string="Customer")
    date = fields.Datetime(required=True, default=fields.Datetime.now)
    user_id = fields.Many2one("res.users", string="Agent", required=True, default=lambda self: self.env.user)
    channel = fields.Selection(CONTACT_CHANNELS, required=True, default="phone")
    outcome = fields.Selection(OUTCOMES, required=True)
    note = fields.Char()

    def init(self):
        # The attempts list in its order (a callback's own: callback_id's index).
        create_index(self.env.cr, "auto_crm_callback_attempt_date_idx", self._table, ["date DESC", "id DESC"])

    @api.depends("outcome", "date")
    def _compute_display_name(self):
        outcomes = dict(OUTCOMES)
        for attempt in self:
            attempt.display_name = f"{outcomes.get(attempt.outcome, '')} ({attempt.date})"

    @api.model_create_multi
    def create(self, vals_list):
        callbacks = self.env["auto_crm.callback"].browse(
            [vals["callback_id"] for vals in vals_list if vals.get("callback_id")]
        )
        for callback in callbacks:
            # (the add-on's own code logs the answered attempt of a call it closes as done)
            if callback.state not in ("todo", "in_progress") and self.env.context.get(OWNER_KEY) != _OWNER_TOKEN:
                raise UserError(_("Outcome: %s is closed; no attempt can be logged on it.", callback.name))
        attempts = super().create(vals_list)
        attempts.callback_id._register_attempts(attempts)
        return attempts

    @api.ondelete(at_uninstall=False)
    def _unlink_except_closed(self):
        self.callback_id._check_history_kept()

    def action_save(self):
        """The dialog's save button: the record is saved by the client before this runs."""
        return {"type": "ir.actions.act_window_close"}
