from odoo import _, api, fields, models
from odoo.exceptions import UserError, ValidationError

from ..models.auto_crm_staff_handover import HANDOVER_MODES


class AutoCrmStaffHandoverWizard(models.TransientModel):
    """A store manager hands over a leaving employee's customers, open callbacks and open complaints to
    one or more successors, after a preview of what moves. The work is the handover model's
    (``auto_crm.staff.handover._hand_over``), which records it."""

    _name = "auto_crm.staff.handover.wizard"
    _description = "Hand Over an Employee's Work"
    _inherit = ["auto_crm.owned.mixin"]
    #: Fields a person writes (auto_crm.owned.mixin).
    _user_fields = {
        "company_id",
        "user_id",
        "mode",
        "successor_ids",
        "include_customers",
        "include_callbacks",
        "include_complaints",
        "reason",
    }

    company_id = fields.Many2one("res.company", string="Store", required=True, default=lambda self: self.env.company)
    user_id = fields.Many2one(
        "res.users",
        string="Leaving Employee",
        required=True,
        domain="[('share', '=', False), ('company_ids', 'in', company_id)]",
    )
    mode = fields.Selection(HANDOVER_MODES, required=True, default="spread")
    successor_ids = fields.Many2many(
        "res.users",
        string="Successors",
        domain="[('share', '=', False), ('company_ids', 'in', company_id), ('id', '!=', user_id)]",
        help="Spread evenly: each successor takes the next item in turn. All to one: one successor takes all.",
    )
    include_customers = fields.Boolean(string="Customers", default=True)
    include_callbacks = fields.Boolean(string="Open Callbacks", default=True)
    include_complaints = fields.Boolean(string="Open Complaints", default=True)
    reason = fields.Char(size=256, help="Why the work is handed over (leaving, new role...).")
    customer_count = fields.Integer(compute="_compute_preview", string="Customers to Hand Over")
    callback_count = fields.Integer(compute="_compute_preview", string="Open Callbacks to Hand Over")
    complaint_count = fields.Integer(compute="_compute_preview", string="Open Complaints to Hand Over")

    @api.depends("company_id", "user_id")
    def _compute_preview(self):
        Handover = self.env["auto_crm.staff.handover"]
        for wizard in self:
            if not (wizard.company_id and wizard.user_id):
                wizard.customer_count = wizard.callback_count = wizard.complaint_count = 0
                continue
            customers, callbacks, complaints = Handover._open_work(wizard.company_id, wizard.user_id)
            wizard.customer_count = len(customers)
            wizard.callback_count = len(callbacks)
            wizard.complaint_count = len(complaints)

    @api.model_create_multi
    def create(self, vals_list):
        wizards = super().create(vals_list)
        if not self.env.su:
            for wizard in wizards:
                self.env["auto_crm.staff.handover"]._check_manager_of(wizard.company_id)
        return wizards

    def _check_people(self):
        self.ensure_one()
        store = self.company_id
        if not self.successor_ids:
            raise ValidationError(_("Successors: choose at least one person to take over the work."))
        if self.mode == "one" and len(self.successor_ids) > 1:
            raise ValidationError(_("Successors: all to one hands the work to a single successor; choose one."))
        if self.user_id in self.successor_ids:
            raise ValidationError(_("Successors: %s cannot take over their own work.", self.user_id.name))
        for user in self.user_id | self.successor_ids:
            if user.share or store not in user.sudo().company_ids:
                raise ValidationError(
                    _("Successors: %(user)s is not an employee of %(store)s.", user=user.name, store=store.name)
                )
        if not (self.include_customers or self.include_callbacks or self.include_complaints):
            raise ValidationError(_("Customers: choose at least one kind of work to hand over."))

    def action_hand_over(self):
        """Hand the work over and open the handover's record (an action: nothing else travels over RPC)."""
        self.ensure_one()
        Handover = self.env["auto_crm.staff.handover"]
        Handover._check_manager_of(self.company_id)
        self._check_people()
        kinds = [
            kind
            for kind, wanted in (
                ("customer", self.include_customers),
                ("callback", self.include_callbacks),
                ("complaint", self.include_complaints),
            )
            if wanted
        ]
        if not any((self.customer_count, self.callback_count, self.complaint_count)):
            raise UserError(_("Leaving Employee: %s holds nothing at this store to hand over.", self.user_id.name))
        handover = Handover._hand_over(
            self.company_id, self.user_id, self.successor_ids, self.mode, (self.reason or "").strip(), kinds
        )
        return {
            "type": "ir.actions.act_window",
            "res_model": "auto_crm.staff.handover",
            "res_id": handover.id,
            "view_mode": "form",
            "target": "current",
        }
