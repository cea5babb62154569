from odoo import _, api, fields, models
from odoo.exceptions import AccessError, UserError


class AutoCrmVehicleReceipt(models.Model):
    """A car archived at one store of a dealer group received at another (found by its VIN). Written
    by the add-on when the car is received; never edited or deleted."""

    _name = "auto_crm.vehicle.receipt"
    _description = "Vehicle Received from Another Store"
    _inherit = ["auto_crm.owned.mixin"]
    #: Fields a person writes (auto_crm.owned.mixin): none, the receipt is the add-on's record.
    _user_fields = ()
    _order = "date desc, id desc"
    _check_company_auto = True

    vehicle_id = fields.Many2one("auto_crm.vehicle", required=True, readonly=True, index=True, ondelete="cascade")
    vin = fields.Char(string="VIN", required=True, readonly=True, size=17)
    company_id = fields.Many2one("res.company", string="Receiving Store", required=True, readonly=True, index=True)
    from_company_id = fields.Many2one("res.company", string="From Store", required=True, readonly=True, index=True)
    owner_id = fields.Many2one("res.partner", readonly=True)
    owner_from_company_id = fields.Many2one(
        "res.company",
        string="Owner Moved From",
        readonly=True,
        help="The store the owner belonged to, when the owner was made a customer of the whole dealer group.",
    )
    user_id = fields.Many2one("res.users", string="Received By", required=True, readonly=True)
    date = fields.Datetime(string="Received On", required=True, readonly=True)

    @api.depends("vin", "from_company_id", "company_id")
    def _compute_display_name(self):
        for record in self:
            # the other store's name as superuser: a store's user does not read the other store
            receipt = record.sudo()
            record.display_name = f"{receipt.vin}: {receipt.from_company_id.name} → {receipt.company_id.name}"

    def write(self, vals):  # pylint: disable=method-required-super
        # An append-only record: no super() on purpose.
        raise UserError(_("Vehicle Receipt: a recorded receipt is never edited."))

    @api.ondelete(at_uninstall=False)
    def _unlink_never(self):
        raise UserError(_("Vehicle Receipt: a recorded receipt is never deleted."))

    # ------------------------------------------------------------------ receiving
    @api.model
    def _receive(self, vin, store):
        """The car of ``vin`` for ``store``: the one the store already reads, or one archived at another
        store of the same dealer group when the group shares its archive (linked to ``store`` and the
        receipt recorded), or an empty recordset when no active car has this VIN."""
        Vehicle = self.env["auto_crm.vehicle"]
        if not self.env.user.has_group("auto_crm.group_advisor"):
            raise AccessError(_("Receive Vehicle: only service advisors and managers receive cars."))
        if store not in self.env.user.company_ids:
            raise AccessError(_("Receive Vehicle: you do not work at %s.", store.sudo().name))
        vin = Vehicle._validate_vin(vin)
        car = Vehicle.sudo().search([("vin", "=", vin), ("active", "=", True)], limit=1)
        if not car or not car.company_id or car.company_id == store:
            return car.sudo(False)
        source = car.company_id
        if not source._auto_crm_shares_with(store):
            raise UserError(
                _(
                    "VIN %s: this car belongs to another store, and the dealer group does not share its "
                    "customer archive between stores; that store can transfer the customer to yours.",
                    vin,
                )
            )
        owner = car.partner_id
        owner_from = self.env["res.company"]
        # (as superuser: a store's user does not read the group company nor the other stores)
        if owner.company_id and owner.company_id not in store.sudo().parent_ids:
            # The owner becomes a customer of the whole dealer group (readable and servable by each store).
            owner_from = owner.company_id
            owner.sudo().company_id = store.sudo().auto_crm_share_group_id
        car.sudo().write({"company_id": store.id})
        receipt = self.sudo().create(
            {
                "vehicle_id": car.id,
                "vin": vin,
                "company_id": store.id,
                "from_company_id": source.id,
                "owner_id": owner.id,
                "owner_from_company_id": owner_from.id,
                "user_id": self.env.uid,
                "date": fields.Datetime.now(),
            }
        )
        car.sudo().message_post(
            body=_(
                "Received at %(store)s from %(origin)s by %(user)s.",
                store=store.sudo().name,
                origin=source.sudo().name,
                user=self.env.user.name,
            )
        )
        return receipt.vehicle_id.sudo(False)
