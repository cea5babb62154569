from odoo import _, api, fields, models
from odoo.exceptions import UserError


class ResPartner(models.Model):
    _inherit = "res.partner"

    auto_callback_ids = fields.One2many("auto_crm.callback", "partner_id", string="Callbacks")
    auto_callback_count = fields.Integer(compute="_compute_auto_callback_count", string="Callback Count")

    def _compute_auto_callback_count(self):
        counts = dict(
            self.env["auto_crm.callback"]._read_group([("partner_id", "in", self.ids)], ["partner_id"], ["__count"])
        )
        for partner in self:
            partner.auto_callback_count = counts.get(partner, 0)

    def write(self, vals):
        result = super().write(vals)
        if vals.get("do_not_disturb"):
            # Nobody who said "don't call me" is called: their open callbacks are cancelled at once.
            self.env["auto_crm.callback"].sudo()._cancel_do_not_disturb(self)
        if "callback_consent" in vals and not vals["callback_consent"]:
            # Consent withdrawn: the callbacks the rules planned are called off too.
            open_planned = (
                self.env["auto_crm.callback"]
                .sudo()
                .search(
                    [
                        ("partner_id", "in", self.ids),
                        ("rule_id", "!=", False),
                        ("state", "in", ("todo", "in_progress")),
                    ]
                )
            )
            open_planned.write({"state": "cancel", "close_reason": "no_consent"})
        return result

    def _auto_crm_check_callable(self):
        """Refuse to plan or re-open a call to a customer who asked not to be disturbed."""
        for partner in self:
            if partner.do_not_disturb:
                raise UserError(
                    _("Customer: %s asked not to be disturbed; no callback is planned.", partner.display_name)
                )

    @api.model
    def _auto_crm_callback_action(self):
        return self.env["ir.actions.act_window"]._for_xml_id("auto_crm.auto_crm_callback_action")

    def action_view_auto_callbacks(self):
        self.ensure_one()
        action = self._auto_crm_callback_action()
        action["domain"] = [("partner_id", "=", self.id)]
        action["context"] = {"default_partner_id": self.id}
        return action
