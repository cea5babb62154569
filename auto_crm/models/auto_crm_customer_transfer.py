from odoo import _, api, fields, models
from odoo.exceptions import AccessError, UserError

#: The longest reason kept for a transfer.
REASON_SIZE = 1000


class AutoCrmCustomerTransfer(models.Model):
    """A customer moved from one store of a dealer group to another, with their vehicles. Written by
    the add-on when a manager transfers the customer; never edited or deleted."""

    _name = "auto_crm.customer.transfer"
    _description = "Customer Transfer Between Stores"
    _inherit = ["auto_crm.owned.mixin"]
    #: Fields a person writes (auto_crm.owned.mixin): none, the transfer is the add-on's record.
    _user_fields = ()
    _order = "date desc, id desc"

    partner_id = fields.Many2one("res.partner", string="Customer", required=True, readonly=True, index=True)
    from_company_id = fields.Many2one("res.company", string="From Store", readonly=True, index=True)
    company_id = fields.Many2one("res.company", string="To Store", required=True, readonly=True, index=True)
    user_id = fields.Many2one("res.users", string="Transferred By", required=True, readonly=True)
    date = fields.Datetime(string="Transferred On", required=True, readonly=True)
    reason = fields.Text(required=True, readonly=True)
    vehicle_count = fields.Integer(string="Vehicles Moved", readonly=True)

    @api.depends("partner_id", "from_company_id", "company_id")
    def _compute_display_name(self):
        for record in self:
            # the other store's name as superuser: a store's user does not read the other store
            transfer = record.sudo()
            record.display_name = _(
                "%(customer)s: %(origin)s → %(target)s",
                customer=transfer.partner_id.display_name,
                origin=transfer.from_company_id.name or _("Dealer group"),
                target=transfer.company_id.name,
            )

    def write(self, vals):  # pylint: disable=method-required-super
        # An append-only record: no super() on purpose.
        raise UserError(_("Customer Transfer: a recorded transfer is never edited."))

    @api.ondelete(at_uninstall=False)
    def _unlink_never(self):
        raise UserError(_("Customer Transfer: a recorded transfer is never deleted."))

    # ------------------------------------------------------------------ transferring
    @api.model
    def _check_transfer(self, partner, target):
        """Refuse the transfer of ``partner`` to the store ``target`` unless the user is a manager of the
        customer's store, or a group manager of both stores, and both stores are of one dealer group."""
        user = self.env.user
        if not user.has_group("auto_crm.group_manager"):
            raise AccessError(_("Transfer to Another Store: only after-sales managers transfer customers."))
        partner.check_access("read")
        source = partner.sudo().company_id
        target = target.sudo()  # its name in the messages: a store's manager does not read the other stores
        if not target:
            raise UserError(_("To Store: choose the store that takes the customer over."))
        if source == target:
            raise UserError(_("To Store: %s is already the customer's store.", target.name))
        if not partner.auto_customer:
            raise UserError(_("Customer: %s is not a customer of the dealer.", partner.display_name))
        group_manager = user.has_group("auto_crm.group_group_manager")
        if group_manager:
            allowed = target in user.company_ids and (not source or source in user.company_ids)
        else:
            allowed = bool(source) and source in user.company_ids and not source.child_ids
        if not allowed:
            raise AccessError(
                _(
                    "Transfer to Another Store: only a manager of the customer's store or a group manager "
                    "of both stores transfers %s.",
                    partner.display_name,
                )
            )
        home = source or user.company_id
        if target.sudo().root_id != home.sudo().root_id or target == target.sudo().root_id:
            raise UserError(_("To Store: %s is not a store of the customer's dealer group.", target.name))

    @api.model
    def _transfer(self, partner, target, reason):
        """Move ``partner`` (and their vehicles kept by the same store) to the store ``target``, record
        the transfer, note it on the customer and call ``_after_transfer`` once. Returns the transfer."""
        partner.ensure_one()
        reason = (reason or "").strip()
        if not reason:
            raise UserError(_("Reason: say why the customer moves to another store."))
        if len(reason) > REASON_SIZE:
            raise UserError(_("Reason: at most %s characters.", REASON_SIZE))
        self._check_transfer(partner, target)
        partner, target = partner.sudo(), target.sudo()
        source = partner.company_id
        vehicles = (
            self.env["auto_crm.vehicle"]
            .sudo()
            .search([("partner_id", "=", partner.id), ("company_id", "=", source.id)] if source else [("id", "=", 0)])
        )
        partner.write({"company_id": target.id})
        vehicles.write({"company_id": target.id})
        transfer = self.sudo().create(
            {
                "partner_id": partner.id,
                "from_company_id": source.id,
                "company_id": target.id,
                "user_id": self.env.uid,
                "date": fields.Datetime.now(),
                "reason": reason,
                "vehicle_count": len(vehicles),
            }
        )
        partner.message_post(
            body=_(
                "Transferred from %(origin)s to %(target)s by %(user)s with %(count)s vehicle(s): %(reason)s",
                origin=source.name or _("Dealer group"),
                target=target.name,
                user=self.env.user.name,
                count=len(vehicles),
                reason=reason,
            )
        )
        transfer._after_transfer()
        return transfer.sudo(False)

    def _after_transfer(self):
        """Called once after each transfer (``self`` the new transfer record, as superuser): what follows the
        customer moves with them. Their loyalty points leave the old store's programme and join the new
        store's by two ledger adjustments (``auto_crm.loyalty.member._transfer_to_company``); nothing moves
        within a group programme the two stores share, or when the new store has no programme."""
        for transfer in self:
            members = self.env["auto_crm.loyalty.member"].sudo().search([("partner_id", "=", transfer.partner_id.id)])
            if members:
                members._transfer_to_company(transfer.company_id, transfer.reason)
        return None
