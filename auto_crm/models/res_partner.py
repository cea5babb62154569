from stdnum.cn import ric
from stdnum.exceptions import (
    InvalidChecksum,
    InvalidComponent,
    InvalidFormat,
    InvalidLength,
)
from stdnum.exceptions import ValidationError as StdnumValidationError

from odoo import _, api, fields, models
from odoo.exceptions import AccessError, UserError, ValidationError

from ..lib.masking import mask_identifier

EDUCATION = [
    ("primary", "Primary school"),
    ("secondary", "Secondary school"),
    ("vocational", "Vocational college"),
    ("bachelor", "Bachelor's degree"),
    ("master", "Master's degree"),
    ("doctorate", "Doctorate"),
]
INCOME_BANDS = [
    ("lt5k", "Under 5,000 a month"),
    ("5k_10k", "5,000 - 10,000 a month"),
    ("10k_20k", "10,000 - 20,000 a month"),
    ("20k_50k", "20,000 - 50,000 a month"),
    ("gt50k", "Over 50,000 a month"),
]
CONTACT_CHANNELS = [
    ("phone", "Phone"),
    ("sms", "SMS"),
    ("email", "E-mail"),
    ("letter", "Letter"),
    ("visit", "On-site visit"),
    ("online", "Online chat"),
]
#: Written only by the archive confirmation buttons.
ARCHIVE_FIELDS = {
    "archive_state",
    "archive_verified_by_id",
    "archive_verified_date",
    "archive_filed_by_id",
    "archive_filed_date",
}
ARCHIVE_STATES = [
    ("draft", "Created"),
    ("verified", "Verified"),
    ("confirmed", "Filed"),
]


class ResPartner(models.Model):
    _inherit = "res.partner"

    is_auto_customer = fields.Boolean(
        string="Dealer Customer",
        help="This contact is a customer in the dealer's after-sales archive.",
    )
    id_card_number = fields.Char(
        string="ID Card Number",
        groups="auto_crm.group_manager",
        copy=False,
        tracking=True,
        help="Chinese resident identity card number (18 characters). Only after-sales managers "
        "read it in full; everyone else sees it masked.",
    )
    id_card_number_masked = fields.Char(
        string="ID Card Number (masked)",
        groups="auto_crm.group_agent",
        compute="_compute_id_card_number_masked",
        inverse="_inverse_id_card_number_masked",
        help="The ID card number with its middle digits hidden. Typing a new number here replaces it.",
    )
    # Personal data: only Dealer CRM staff read it (an accountant or a warehouse clerk does not).
    birthday = fields.Date(groups="auto_crm.group_agent")
    occupation = fields.Char()
    education = fields.Selection(EDUCATION, groups="auto_crm.group_agent")
    income_band = fields.Selection(INCOME_BANDS, string="Income Band", groups="auto_crm.group_agent")
    employer = fields.Char(groups="auto_crm.group_agent")
    hobbies = fields.Char(help="Interests and hobbies, as the customer describes them.")
    preferred_channel = fields.Selection(CONTACT_CHANNELS, string="Preferred Contact Channel")
    callback_consent = fields.Boolean(
        string="Agrees to Callbacks",
        tracking=True,
        help="The customer agreed to be called back after visits and deliveries.",
    )
    callback_consent_date = fields.Date(string="Consent Date", tracking=True)
    do_not_disturb = fields.Boolean(
        string="Do Not Disturb",
        tracking=True,
        help="The customer asked not to be contacted. No callback or campaign reaches them.",
    )
    do_not_disturb_date = fields.Date(string="Do Not Disturb Since", tracking=True)
    do_not_disturb_reason = fields.Char(string="Do Not Disturb Reason", tracking=True)
    payment_habit = fields.Char(string="Payment Habits", groups="auto_crm.group_agent")
    customer_manager_id = fields.Many2one(
        "res.users",
        string="Customer Manager",
        tracking=True,
        domain="[('share', '=', False)]",
        help="The staff member in charge of this customer (客户经理): callbacks assigned to the "
        "customer's manager go to this person.",
    )

    auto_vehicle_ids = fields.One2many("auto_crm.vehicle", "partner_id", string="Vehicles")
    auto_vehicle_count = fields.Integer(compute="_compute_auto_counts", string="Vehicle Count")
    auto_visit_ids = fields.One2many("auto_crm.service.visit", "partner_id", string="Service Visits")
    auto_visit_count = fields.Integer(compute="_compute_auto_counts", string="Visit Count")
    last_visit_date = fields.Date(
        compute="_compute_last_visit_date",
        string="Last Service Visit",
        help="Reception date of the customer's latest service visit that was not cancelled.",
    )

    archive_state = fields.Selection(
        ARCHIVE_STATES,
        string="Archive Status",
        default="draft",
        tracking=True,
        copy=False,
        help="An archive counts as complete once one person created it, another verified it and a third filed it.",
    )
    archive_created_by_id = fields.Many2one(
        "res.users", string="Created By", default=lambda self: self.env.user, copy=False, readonly=True
    )
    archive_verified_by_id = fields.Many2one("res.users", string="Verified By", copy=False, readonly=True)
    archive_verified_date = fields.Datetime(string="Verified On", copy=False, readonly=True)
    archive_filed_by_id = fields.Many2one("res.users", string="Filed By", copy=False, readonly=True)
    archive_filed_date = fields.Datetime(string="Filed On", copy=False, readonly=True)

    def init(self):
        # One person, one ID number: unique per company, and among contacts shared by all
        # companies (NULL company), which a plain UNIQUE constraint would let through.
        self.env.cr.execute(
            "CREATE UNIQUE INDEX IF NOT EXISTS res_partner_auto_crm_id_card_number_uniq "
            "ON res_partner (id_card_number, COALESCE(company_id, 0)) WHERE id_card_number IS NOT NULL"
        )

    # ------------------------------------------------------------------ ID card number
    @api.depends_context("uid")
    def _compute_id_card_number_masked(self):
        for partner, number in zip(self, self.sudo().mapped("id_card_number"), strict=True):
            partner.id_card_number_masked = mask_identifier(number)

    def _inverse_id_card_number_masked(self):
        for partner in self:
            value = (partner.id_card_number_masked or "").strip()
            if "*" in value:
                # The masked value was sent back unchanged: keep the stored number.
                continue
            if not value and partner.sudo().id_card_number and not self.env.user.has_group("auto_crm.group_manager"):
                raise UserError(_("ID Card Number: only after-sales managers can remove a recorded number."))
            partner.sudo().id_card_number = value or False

    @api.model
    def _auto_crm_clean_id_card_number(self, value):
        if not value:
            return value
        try:
            return ric.validate(value)
        except StdnumValidationError as error:
            if isinstance(error, InvalidLength):
                reason = _("it must have 18 characters")
            elif isinstance(error, InvalidFormat):
                reason = _("only digits are allowed, with X as the last character")
            elif isinstance(error, InvalidComponent):
                reason = _("the birth date or region code in it does not exist")
            elif isinstance(error, InvalidChecksum):
                reason = _("the check character (the last one) is wrong")
            else:
                reason = error.message
            raise ValidationError(
                _(
                    "ID Card Number: %(number)s is not a valid Chinese resident ID number: %(reason)s.",
                    number=mask_identifier(value),
                    reason=reason,
                )
            ) from None

    @api.model_create_multi
    def create(self, vals_list):
        today = fields.Date.context_today(self)
        for vals in vals_list:
            if not self.env.su and any(
                vals.get(name) and not (name == "archive_state" and vals[name] == "draft") for name in ARCHIVE_FIELDS
            ):
                raise UserError(
                    _("Archive Status: a new archive starts as created; verify and file it with its buttons.")
                )
            if vals.get("id_card_number"):
                vals["id_card_number"] = self._auto_crm_clean_id_card_number(vals["id_card_number"])
            if vals.get("callback_consent") and not vals.get("callback_consent_date"):
                vals["callback_consent_date"] = today
            if vals.get("do_not_disturb") and not vals.get("do_not_disturb_date"):
                vals["do_not_disturb_date"] = today
        return super().create(vals_list)

    def write(self, vals):
        if ARCHIVE_FIELDS & set(vals) and not self.env.su:
            raise UserError(
                _("Archive Status: the archive is verified and filed with its buttons, by different people.")
            )
        if vals.get("id_card_number"):
            vals = dict(vals, id_card_number=self._auto_crm_clean_id_card_number(vals["id_card_number"]))
        if "do_not_disturb" in vals and vals["do_not_disturb"] and "do_not_disturb_date" not in vals:
            vals = dict(vals, do_not_disturb_date=fields.Date.context_today(self))
        if "callback_consent" in vals and vals["callback_consent"] and "callback_consent_date" not in vals:
            vals = dict(vals, callback_consent_date=fields.Date.context_today(self))
        return super().write(vals)

    # ------------------------------------------------------------------ history
    def _compute_auto_counts(self):
        vehicles = dict(
            self.env["auto_crm.vehicle"]._read_group([("partner_id", "in", self.ids)], ["partner_id"], ["__count"])
        )
        visits = dict(
            self.env["auto_crm.service.visit"]._read_group(
                [("partner_id", "in", self.ids)], ["partner_id"], ["__count"]
            )
        )
        for partner in self:
            partner.auto_vehicle_count = vehicles.get(partner, 0)
            partner.auto_visit_count = visits.get(partner, 0)

    def _compute_last_visit_date(self):
        last = dict(
            self.env["auto_crm.service.visit"]._read_group(
                [("partner_id", "in", self.ids), ("state", "!=", "cancel"), ("date_reception", "!=", False)],
                ["partner_id"],
                ["date_reception:max"],
            )
        )
        for partner in self:
            date = last.get(partner)
            partner.last_visit_date = date and fields.Date.to_date(date)

    def action_view_auto_vehicles(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id("auto_crm.auto_crm_vehicle_action")
        action["domain"] = [("partner_id", "=", self.id)]
        action["context"] = {"default_partner_id": self.id}
        return action

    def action_view_auto_visits(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id("auto_crm.auto_crm_service_visit_action")
        action["domain"] = [("partner_id", "=", self.id)]
        action["context"] = {"default_partner_id": self.id}
        return action

    # ------------------------------------------------------------------ archive confirmation
    def action_archive_verify(self):
        for partner in self:
            if partner.archive_state != "draft":
                raise UserError(
                    _("Archive Status: only a newly created archive can be verified (%s).", partner.display_name)
                )
            if partner.archive_created_by_id == self.env.user:
                raise UserError(
                    _(
                        "Verified By: the person who created the archive of %s cannot also verify it.",
                        partner.display_name,
                    )
                )
        # The checks above are the rule; the fields themselves are closed to plain writes.
        self.sudo().write(
            {
                "archive_state": "verified",
                "archive_verified_by_id": self.env.user.id,
                "archive_verified_date": fields.Datetime.now(),
            }
        )

    def action_archive_file(self):
        for partner in self:
            if partner.archive_state != "verified":
                raise UserError(
                    _("Archive Status: the archive of %s must be verified before it is filed.", partner.display_name)
                )
            if self.env.user in (partner.archive_created_by_id | partner.archive_verified_by_id):
                raise UserError(
                    _(
                        "Filed By: the archive of %s must be filed by someone other than the people "
                        "who created and verified it.",
                        partner.display_name,
                    )
                )
        # The checks above are the rule; the fields themselves are closed to plain writes.
        self.sudo().write(
            {
                "archive_state": "confirmed",
                "archive_filed_by_id": self.env.user.id,
                "archive_filed_date": fields.Datetime.now(),
            }
        )

    def action_archive_reset(self):
        if not self.env.user.has_group("auto_crm.group_manager"):
            raise AccessError(_("Archive Status: only after-sales managers can reset an archive confirmation."))
        # The checks above are the rule; the fields themselves are closed to plain writes.
        self.sudo().write(
            {
                "archive_state": "draft",
                "archive_verified_by_id": False,
                "archive_verified_date": False,
                "archive_filed_by_id": False,
                "archive_filed_date": False,
            }
        )
