import logging
from collections import defaultdict

import phonenumbers
from dateutil.relativedelta import relativedelta
from psycopg2 import errors as pg_errors
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
from odoo.osv import expression
from odoo.tools import SQL

from odoo.addons.phone_validation.tools import phone_validation

from ..lib import segments
from ..lib.masking import mask_id_card_number
from .auto_crm_job_run import JobStep

_logger = logging.getLogger(__name__)

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
#: Written only by the profile confirmation buttons.
PROFILE_FIELDS = {
    "auto_profile_state",
    "auto_profile_verified_by_id",
    "auto_profile_verified_date",
    "auto_profile_filed_by_id",
    "auto_profile_filed_date",
}
PROFILE_STATES = [
    ("draft", "Created"),
    ("verified", "Verified"),
    ("confirmed", "Filed"),
]
GRADES = [("A", "A"), ("B", "B"), ("C", "C")]
LIFECYCLE_STAGES = [
    ("potential", "Potential"),
    ("new", "New Customer"),
    ("satisfied", "Satisfied"),
    ("retained", "Retained"),
    ("loyal", "Loyal"),
    ("at_risk", "At Risk"),
    ("lost", "Lost"),
]
#: The customer's numbers kept in E.164 (issue 14).
PHONE_FIELDS = {"mobile", "phone"}
#: The unique index on the ID card number (per store, and among contacts shared by all stores).
ID_CARD_NUMBER_INDEX = "res_partner_auto_id_card_number_uniq"


def filled_sql(table, field):
    """SQL boolean: the column of this field holds a value."""
    column = SQL.identifier(table, field.name)
    if field.type in ("char", "text", "html", "selection"):
        return SQL("(%s IS NOT NULL AND %s::text NOT IN ('', '{}'))", column, column)
    if field.type in ("integer", "float", "monetary"):
        return SQL("(COALESCE(%s, 0) <> 0)", column)
    if field.type == "boolean":
        return SQL("(%s IS TRUE)", column)
    return SQL("(%s IS NOT NULL)", column)


class ResPartner(models.Model):
    _name = "res.partner"
    _inherit = ["res.partner", "auto_crm.owned.mixin"]
    #: Fields a person writes (auto_crm.owned.mixin); every other stored field is the add-on's.
    _user_fields = {
        "auto_customer",
        "auto_id_card_number",
        "auto_birthday",
        "auto_occupation",
        "auto_education",
        "auto_income_band",
        "auto_employer",
        "auto_hobbies",
        "auto_preferred_channel",
        "auto_callback_consent",
        "auto_callback_consent_date",
        "auto_do_not_disturb",
        "auto_do_not_disturb_date",
        "auto_do_not_disturb_reason",
        "auto_no_phone",
        "auto_no_sms",
        "auto_no_email",
        "auto_no_letter",
        "auto_payment_habit",
        "auto_customer_manager_id",
        "auto_vehicle_ids",
        "auto_profile_state",
        "auto_prospect_confidence",
        "auto_prospect_need",
        "auto_prospect_purchasing_power",
    }

    auto_customer = fields.Boolean(
        string="Dealer Customer",
        help="This contact is a customer of the dealer's after-sales service.",
    )
    auto_id_card_number = fields.Char(
        string="ID Card Number",
        groups="auto_crm.group_manager",
        copy=False,
        tracking=True,
        help="Chinese resident identity card number (18 characters). Only after-sales managers "
        "read it in full; everyone else sees it masked.",
    )
    auto_id_card_number_masked = fields.Char(
        string="ID Card Number (masked)",
        groups="auto_crm.group_agent",
        compute="_compute_id_card_number_masked",
        inverse="_inverse_id_card_number_masked",
        help="The ID card number with all but its first two and last two characters hidden, so that the "
        "birth date in it stays hidden. Typing a new number here replaces it.",
    )
    # Personal data: only Dealer CRM staff read it (an accountant or a warehouse clerk does not).
    # The full birth date is digits 7-14 of the ID card number: only managers read it; agents and
    # advisors read the month and day, which is what a birthday call needs.
    auto_birthday = fields.Date(
        string="Birthday",
        groups="auto_crm.group_manager",
        help="Date of birth. Only after-sales managers read the year; everyone else sees the month and day.",
    )
    auto_birthday_month_day = fields.Char(
        string="Birthday (Month-Day)",
        groups="auto_crm.group_agent",
        compute="_compute_birthday_month_day",
        inverse="_inverse_birthday_month_day",
        help="Month and day of the customer's birthday (MM-DD), for birthday calls. Typing a full date "
        "(YYYY-MM-DD) here records the birthday; only after-sales managers read its year.",
    )
    auto_occupation = fields.Char(string="Occupation")
    auto_education = fields.Selection(EDUCATION, string="Education", groups="auto_crm.group_agent")
    auto_income_band = fields.Selection(INCOME_BANDS, string="Income Band", groups="auto_crm.group_agent")
    auto_employer = fields.Char(string="Employer", groups="auto_crm.group_agent")
    auto_hobbies = fields.Char(string="Hobbies", help="Interests and hobbies, as the customer describes them.")
    auto_preferred_channel = fields.Selection(CONTACT_CHANNELS, string="Preferred Contact Channel")
    auto_callback_consent = fields.Boolean(
        string="Agrees to Callbacks",
        tracking=True,
        help="The customer agreed to be called back after visits and deliveries.",
    )
    auto_callback_consent_date = fields.Date(string="Consent Date", tracking=True)
    auto_do_not_disturb = fields.Boolean(
        string="Do Not Disturb",
        tracking=True,
        help="The customer asked not to be contacted. No callback or campaign reaches them.",
    )
    auto_do_not_disturb_date = fields.Date(string="Do Not Disturb Since", tracking=True)
    # Per channel (issue 14): a customer may agree to calls but not to SMS, or the other way round.
    auto_no_phone = fields.Boolean(
        string="No Phone Calls", tracking=True, help="The customer does not want phone calls."
    )
    auto_no_sms = fields.Boolean(string="No SMS", tracking=True, help="The customer does not want text messages.")
    auto_no_email = fields.Boolean(string="No E-mail", tracking=True, help="The customer does not want e-mails.")
    auto_no_letter = fields.Boolean(string="No Letters", tracking=True, help="The customer does not want letters.")
    auto_do_not_disturb_reason = fields.Char(string="Do Not Disturb Reason", tracking=True)
    auto_payment_habit = fields.Char(string="Payment Habits", groups="auto_crm.group_agent")
    auto_customer_manager_id = fields.Many2one(
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
    auto_last_visit_date = fields.Date(
        compute="_compute_last_visit_date",
        string="Last Service Visit",
        help="Reception date of the customer's latest service visit that was not cancelled.",
    )

    auto_profile_state = fields.Selection(
        PROFILE_STATES,
        string="Profile Status",
        default="draft",
        tracking=True,
        copy=False,
        help="A profile counts as complete once one person created it, another verified it and a third filed it.",
    )
    auto_profile_created_by_id = fields.Many2one(
        "res.users", string="Created By", default=lambda self: self.env.user, copy=False, readonly=True
    )
    auto_profile_verified_by_id = fields.Many2one("res.users", string="Verified By", copy=False, readonly=True)
    auto_profile_verified_date = fields.Datetime(string="Verified On", copy=False, readonly=True)
    auto_profile_filed_by_id = fields.Many2one("res.users", string="Filed By", copy=False, readonly=True)
    auto_profile_filed_date = fields.Datetime(string="Filed On", copy=False, readonly=True)

    def init(self):
        # One person, one ID number: unique per company, and among contacts shared by all
        # companies (NULL company), which a plain UNIQUE constraint would let through.
        self.env.cr.execute(
            "CREATE UNIQUE INDEX IF NOT EXISTS res_partner_auto_id_card_number_uniq "
            "ON res_partner (auto_id_card_number, COALESCE(company_id, 0)) WHERE auto_id_card_number IS NOT NULL"
        )

    # ------------------------------------------------------------------ ID card number
    @api.depends_context("uid")
    def _compute_id_card_number_masked(self):
        for partner, number in zip(self, self.sudo().mapped("auto_id_card_number"), strict=True):
            partner.auto_id_card_number_masked = mask_id_card_number(number)

    def _inverse_id_card_number_masked(self):
        for partner in self:
            value = (partner.auto_id_card_number_masked or "").strip()
            if "*" in value:
                # The masked value was sent back unchanged: keep the stored number.
                continue
            if (
                not value
                and partner.sudo().auto_id_card_number
                and not self.env.user.has_group("auto_crm.group_manager")
            ):
                raise UserError(_("ID Card Number: only after-sales managers can remove a recorded number."))
            partner.sudo().auto_id_card_number = value or False

    @api.model
    def _auto_crm_clean_id_card_number(self, value):
        if not value:
            return value
        # What the messages show: masked, and no longer than a real number (a pasted text may be huge).
        shown = mask_id_card_number(value[:18]) + ("…" if len(value) > 18 else "")
        try:
            number = ric.validate(value)
            # The birth date in it: from 1900 (the earliest birth year accepted) to today.
            birth_date = ric.get_birth_date(number)
            if not fields.Date.to_date("1900-01-01") <= birth_date <= self.env.company._auto_crm_today():
                # The birth date, part of the number, is not shown: the message stays masked.
                raise ValidationError(
                    _(
                        "ID Card Number: %(number)s is not a valid Chinese resident ID number: the birth date "
                        "in it must lie from %(first)s to today.",
                        number=shown,
                        first=1900,
                    )
                )
            return number
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
                    number=shown,
                    reason=reason,
                )
            ) from None

    # ------------------------------------------------------------------ one person, one ID number
    def _auto_crm_id_card_number_refused(self, other=None):
        """The error for a number another contact already holds. It never repeats the number, and it
        names the other contact only to a manager who may read it: to anyone else the refusal reveals
        nothing about who holds the number (the unique index's own error would print it)."""
        user = self.env.user
        _logger.info("ID card number refused as already recorded (user %s, contacts %s)", user.id, self.ids)
        if other and user.has_group("auto_crm.group_manager"):
            other = other.with_user(user)
            if other.has_access("read"):
                return ValidationError(_("ID Card Number: this number is already recorded for %s.", other.display_name))
        return ValidationError(_("ID Card Number: this number cannot be recorded here; ask an after-sales manager."))

    def _auto_crm_check_id_card_numbers_free(self, pairs, exclude_ids=()):
        """Refuse what the unique index would refuse, before it does: a number that another contact of the
        same store (or, for a contact shared by all stores, another shared contact, archived ones included)
        holds, or the same number twice in one call. ``pairs``: (number, company id or False)."""
        seen = set()
        for number, company_id in pairs:
            if not number:
                continue
            if (number, company_id or False) in seen:
                raise self._auto_crm_id_card_number_refused()
            seen.add((number, company_id or False))
        if not seen:
            return
        domain = expression.OR(
            [[("auto_id_card_number", "=", number), ("company_id", "=", company_id)] for number, company_id in seen]
        )
        if exclude_ids:
            domain = expression.AND([domain, [("id", "not in", list(exclude_ids))]])
        other = self.sudo().with_context(active_test=False).search(domain, limit=1)
        if other:
            raise self._auto_crm_id_card_number_refused(other)

    def _auto_crm_guard_id_card_number_index(self, func):
        """Run func in a savepoint; a violation of the ID number's unique index that the pre-check could
        not see (a concurrent transaction) becomes the same clean error, without the number."""
        try:
            with self.env.cr.savepoint():
                return func()
        except pg_errors.UniqueViolation as error:
            if error.diag.constraint_name != ID_CARD_NUMBER_INDEX:
                raise
            raise self._auto_crm_id_card_number_refused() from None

    @api.model
    def _auto_crm_vals_company(self, vals, default_company):
        if "company_id" in vals:
            return vals["company_id"] or False
        if vals.get("parent_id"):
            return self.sudo().browse(vals["parent_id"]).company_id.id or False
        return default_company

    # ------------------------------------------------------------------ birthday
    @api.depends("auto_birthday")
    def _compute_birthday_month_day(self):
        for partner, birthday in zip(self, self.sudo().mapped("auto_birthday"), strict=True):
            partner.auto_birthday_month_day = birthday and birthday.strftime("%m-%d")

    def _inverse_birthday_month_day(self):
        for partner in self:
            value = (partner.auto_birthday_month_day or "").strip()
            current = partner.sudo().auto_birthday
            if current and value == current.strftime("%m-%d"):
                # The month and day were sent back unchanged: keep the stored date.
                continue
            birthday = False
            if value:
                try:
                    birthday = fields.Date.to_date(value)
                except ValueError:
                    birthday = None
                if not birthday:
                    raise ValidationError(
                        _("Birthday (Month-Day): type the full date of birth as YYYY-MM-DD, for example 1985-03-12.")
                    )
            partner.sudo().auto_birthday = birthday
        # What was typed (a full date) is not what is read back (the month and day).
        self.invalidate_recordset(["auto_birthday_month_day"])

    @api.model_create_multi
    def create(self, vals_list):
        today = self.env.company._auto_crm_today()
        for vals in vals_list:
            if not self.env.su and any(
                vals.get(name) and not (name == "auto_profile_state" and vals[name] == "draft")
                for name in PROFILE_FIELDS
            ):
                raise UserError(
                    _("Profile Status: a new profile starts as created; verify and file it with its buttons.")
                )
            if vals.get("auto_id_card_number"):
                vals["auto_id_card_number"] = self._auto_crm_clean_id_card_number(vals["auto_id_card_number"])
            if PHONE_FIELDS & set(vals) and vals.get("auto_customer", self.env.context.get("default_auto_customer")):
                store = self.env["res.company"].browse(vals["company_id"]) if vals.get("company_id") else None
                vals.update(self._auto_crm_e164_vals(vals, self._auto_crm_phone_country(store)))
            if vals.get("auto_callback_consent") and not vals.get("auto_callback_consent_date"):
                vals["auto_callback_consent_date"] = today
            if vals.get("auto_do_not_disturb") and not vals.get("auto_do_not_disturb_date"):
                vals["auto_do_not_disturb_date"] = today
        if any(vals.get("auto_id_card_number") for vals in vals_list):
            default_company = self.default_get(["company_id"]).get("company_id") or False
            self._auto_crm_check_id_card_numbers_free(
                [
                    (vals.get("auto_id_card_number"), self._auto_crm_vals_company(vals, default_company))
                    for vals in vals_list
                ]
            )
            return self._auto_crm_guard_id_card_number_index(lambda: super(ResPartner, self).create(vals_list))
        return super().create(vals_list)

    def write(self, vals):
        if PHONE_FIELDS & set(vals) and any(vals.get(name) for name in PHONE_FIELDS):
            customers = self if vals.get("auto_customer") else self.filtered("auto_customer")
            by_country = customers.grouped(lambda partner: self._auto_crm_phone_country(partner.sudo().company_id))
            if len(by_country) > 1:  # customers of stores in different countries: each in its own
                for partners in [*by_country.values(), self - customers]:
                    if partners:
                        partners.write(vals)
                return True
            if by_country:
                vals = dict(vals, **self._auto_crm_e164_vals(vals, next(iter(by_country))))
        if PROFILE_FIELDS & set(vals) and not self.env.su:
            raise UserError(
                _("Profile Status: the profile is verified and filed with its buttons, by different people.")
            )
        if "tz" in vals and not self.env.su and not self.env.user.has_group("auto_crm.group_admin"):
            stores = (
                self.env["res.company"].sudo().with_context(active_test=False).search([("partner_id", "in", self.ids)])
            )
            if stores:
                raise AccessError(
                    _(
                        "Store Time Zone: only dealer administrators change the time zone of a store (%s): "
                        "it sets the day callbacks fall due and points expire.",
                        ", ".join(stores.mapped("name")),
                    )
                )
        if vals.get("auto_id_card_number"):
            vals = dict(vals, auto_id_card_number=self._auto_crm_clean_id_card_number(vals["auto_id_card_number"]))
        if "auto_do_not_disturb" in vals and vals["auto_do_not_disturb"] and "auto_do_not_disturb_date" not in vals:
            vals = dict(vals, auto_do_not_disturb_date=self.env.company._auto_crm_today())
        if (
            "auto_callback_consent" in vals
            and vals["auto_callback_consent"]
            and "auto_callback_consent_date" not in vals
        ):
            vals = dict(vals, auto_callback_consent_date=self.env.company._auto_crm_today())
        if "auto_id_card_number" in vals or "company_id" in vals:
            pairs = [
                (
                    vals["auto_id_card_number"] if "auto_id_card_number" in vals else partner.auto_id_card_number,
                    vals["company_id"] if "company_id" in vals else partner.company_id.id,
                )
                for partner in self.sudo()
            ]
            if any(number for number, _company in pairs):
                self._auto_crm_check_id_card_numbers_free(pairs, exclude_ids=self.ids)
                result = self._auto_crm_guard_id_card_number_index(lambda: super(ResPartner, self).write(vals))
                self._auto_crm_call_off_callbacks(vals)
                return result
        result = super().write(vals)
        self._auto_crm_call_off_callbacks(vals)
        return result

    # ------------------------------------------------------------------ mobile numbers in E.164 (issue 14)
    def _auto_crm_phone_country(self, store=None):
        """The country of the customers' numbers: the store's (the current one when none), else China."""
        return (store or self.env.company).sudo().country_id or self.env.ref("base.cn")

    @api.model
    def _auto_crm_e164_vals(self, vals, country):
        """The customer's mobile and phone of ``vals`` in E.164 (Odoo's phone_validation, ``country``
        for numbers typed without their country code); an invalid one (or a mobile field holding a number
        that is not a mobile one) is refused, naming the field and the rule."""
        result = {}
        for fname in PHONE_FIELDS & set(vals):
            number = vals[fname]
            if not number or not isinstance(number, str) or not number.strip():
                continue
            try:
                parsed = phone_validation.phone_parse(number.strip(), country.code)
            except UserError:
                parsed = None
            if parsed is not None and fname == "mobile":
                kind = phonenumbers.number_type(parsed)
                if kind not in (phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE):
                    parsed = None
            if parsed is None:
                label = self._fields[fname]._description_string(self.env)
                if fname == "mobile":
                    message = _(
                        "%(field)s: %(number)s is not a valid mobile number for %(country)s (+%(code)s).",
                        field=label,
                        number=number,
                        country=country.name,
                        code=country.phone_code,
                    )
                else:
                    message = _(
                        "%(field)s: %(number)s is not a valid phone number for %(country)s (+%(code)s).",
                        field=label,
                        number=number,
                        country=country.name,
                        code=country.phone_code,
                    )
                raise ValidationError(message)
            result[fname] = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
        return result

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
            partner.auto_last_visit_date = date and fields.Date.to_date(date)

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

    # ------------------------------------------------------------------ profile confirmation
    def action_profile_verify(self):
        for partner in self:
            if partner.auto_profile_state != "draft":
                raise UserError(
                    _("Profile Status: only a newly created profile can be verified (%s).", partner.display_name)
                )
            if partner.auto_profile_created_by_id == self.env.user:
                raise UserError(
                    _(
                        "Verified By: the person who created the profile of %s cannot also verify it.",
                        partner.display_name,
                    )
                )
        # The checks above are the rule; the fields themselves are closed to plain writes.
        self.sudo().write(
            {
                "auto_profile_state": "verified",
                "auto_profile_verified_by_id": self.env.user.id,
                "auto_profile_verified_date": fields.Datetime.now(),
            }
        )

    def action_profile_file(self):
        for partner in self:
            if partner.auto_profile_state != "verified":
                raise UserError(
                    _("Profile Status: the profile of %s must be verified before it is filed.", partner.display_name)
                )
            if self.env.user in (partner.auto_profile_created_by_id | partner.auto_profile_verified_by_id):
                raise UserError(
                    _(
                        "Filed By: the profile of %s must be filed by someone other than the people "
                        "who created and verified it.",
                        partner.display_name,
                    )
                )
        # The checks above are the rule; the fields themselves are closed to plain writes.
        self.sudo().write(
            {
                "auto_profile_state": "confirmed",
                "auto_profile_filed_by_id": self.env.user.id,
                "auto_profile_filed_date": fields.Datetime.now(),
            }
        )

    def action_profile_reset(self):
        if not self.env.user.has_group("auto_crm.group_manager"):
            raise AccessError(_("Profile Status: only after-sales managers can reset a profile confirmation."))
        # The checks above are the rule; the fields themselves are closed to plain writes.
        self.sudo().write(
            {
                "auto_profile_state": "draft",
                "auto_profile_verified_by_id": False,
                "auto_profile_verified_date": False,
                "auto_profile_filed_by_id": False,
                "auto_profile_filed_date": False,
            }
        )

    # ------------------------------------------------------------------ callbacks
    auto_callback_ids = fields.One2many("auto_crm.callback", "partner_id", string="Callbacks")
    auto_callback_count = fields.Integer(compute="_compute_auto_callback_count", string="Callback Count")

    def _compute_auto_callback_count(self):
        counts = dict(
            self.env["auto_crm.callback"]._read_group([("partner_id", "in", self.ids)], ["partner_id"], ["__count"])
        )
        for partner in self:
            partner.auto_callback_count = counts.get(partner, 0)

    def _auto_crm_call_off_callbacks(self, vals):
        """Do-not-disturb cancels the customer's open callbacks; withdrawn consent the planned ones."""
        if vals.get("auto_do_not_disturb"):
            # Nobody who said "don't call me" is called: their open callbacks are cancelled at once.
            self.env["auto_crm.callback"].sudo()._cancel_do_not_disturb(self)
        if "auto_callback_consent" in vals and not vals["auto_callback_consent"]:
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
            # Through the callback's transition table like any other write (sudo skips only its groups).
            open_planned.write({"state": "cancel", "close_reason": "no_consent"})

    def _auto_crm_check_callable(self):
        """Refuse to plan or re-open a call to a customer who asked not to be disturbed."""
        for partner in self:
            if partner.auto_do_not_disturb:
                raise UserError(
                    _("Customer: %s asked not to be disturbed; no callback is planned.", partner.display_name)
                )

    def _auto_crm_callback_blockers(self):
        """Why the callback engine will not call this customer, as sentences for the advisor (an empty
        list when it will)."""
        self.ensure_one()
        return self._auto_crm_callback_blocker_texts(
            self.auto_do_not_disturb,
            self.auto_do_not_disturb_reason,
            self.auto_callback_consent,
            self.mobile or self.phone,
        )

    @api.model
    def _auto_crm_callback_blocker_texts(self, do_not_disturb, reason, consent, number):
        """The engine's own rule (``auto_crm.callback.engine._due_sql``: a due source is called when its
        customer is not do-not-disturb and agreed to callbacks; do-not-disturb is told first), worded for
        one customer, plus the number an agent dials: a customer with no mobile or phone cannot be called."""
        reasons = []
        if do_not_disturb:
            reasons.append(_("asked not to be disturbed (%s)", reason) if reason else _("asked not to be disturbed"))
        elif not consent:
            reasons.append(_("has not agreed to callbacks"))
        if not number:
            reasons.append(_("has no mobile or phone number"))
        return reasons

    @api.model
    def _auto_crm_callback_action(self):
        return self.env["ir.actions.act_window"]._for_xml_id("auto_crm.auto_crm_callback_action")

    def action_view_auto_callbacks(self):
        self.ensure_one()
        action = self._auto_crm_callback_action()
        action["domain"] = [("partner_id", "=", self.id)]
        action["context"] = {"default_partner_id": self.id}
        return action

    # ------------------------------------------------------------------ segments
    auto_value_grade = fields.Selection(
        GRADES,
        string="Value Grade",
        groups="auto_crm.group_agent",
        readonly=True,
        index=True,
        copy=False,
        help="A/B/C from the paid spend and delivered visits of the last 12 months (computed nightly).",
    )
    auto_prospect_confidence = fields.Boolean(string="Confidence", help="The prospect trusts the store / brand.")
    auto_prospect_need = fields.Boolean(
        string="Need", help="The prospect has a real need (service due, car to replace)."
    )
    auto_prospect_purchasing_power = fields.Boolean(string="Purchasing Power", help="The prospect can pay for it.")
    auto_prospect_grade = fields.Selection(
        GRADES,
        string="Prospect Grade",
        compute="_compute_prospect_grade",
        store=True,
        index=True,
        help="A: confidence, need and purchasing power. B: need and purchasing power. "
        "C: confidence and purchasing power.",
    )
    auto_lifecycle_stage = fields.Selection(
        LIFECYCLE_STAGES,
        string="Lifecycle Stage",
        readonly=True,
        index=True,
        copy=False,
        help="Computed nightly from delivered visits: potential, new, satisfied, retained, loyal; at risk "
        "and lost when no visit for the days set in the store's settings.",
    )
    auto_lifecycle_stage_date = fields.Date(string="Stage Since", readonly=True, copy=False)
    auto_completeness_score = fields.Float(
        string="Completeness (%)",
        readonly=True,
        copy=False,
        aggregator="avg",
        digits=(5, 1),
        help="Share of the store's completeness standard this profile meets (customer fields, the vehicles' "
        "fields and the profile confirmation), computed nightly.",
    )
    auto_spend_12m = fields.Monetary(
        string="Spend (12 months)",
        readonly=True,
        copy=False,
        currency_field="auto_segment_currency_id",
        groups="auto_crm.group_agent",
    )
    auto_visits_12m = fields.Integer(string="Visits (12 months)", readonly=True, copy=False)
    auto_segment_company_id = fields.Many2one(
        "res.company",
        string="Segment Store",
        readonly=True,
        copy=False,
        index=True,
        help="The store whose standards grade this customer: the customer's own store, else the store of "
        "the latest visit.",
    )
    auto_segment_currency_id = fields.Many2one(related="auto_segment_company_id.currency_id", string="Segment Currency")
    auto_loyalty_member_ids = fields.One2many("auto_crm.loyalty.member", "partner_id", string="Memberships")

    @api.depends("auto_prospect_confidence", "auto_prospect_need", "auto_prospect_purchasing_power")
    def _compute_prospect_grade(self):
        for partner in self:
            confidence, need, power = (
                partner.auto_prospect_confidence,
                partner.auto_prospect_need,
                partner.auto_prospect_purchasing_power,
            )
            if confidence and need and power:
                partner.auto_prospect_grade = "A"
            elif need and power:
                partner.auto_prospect_grade = "B"
            elif confidence and power:
                partner.auto_prospect_grade = "C"
            else:
                partner.auto_prospect_grade = False

    # ------------------------------------------------------------------ nightly segmentation
    @api.model
    def _cron_auto_crm_segments(self):
        """Grade, stage and score every dealer customer, in set-based SQL: one UPDATE grades every
        customer of every store (figures from one aggregate of the visits, value grade and lifecycle
        stage as CASE expressions over each store's thresholds, generated by ``lib/segments.py`` from
        the same rules as its Python functions), then completeness is two UPDATEs for every store. A constant
        number of queries whatever the number of customers. The lock, the savepoints and the run log
        are the job runner's (auto_crm.job.run): a failing step or store is recorded on the run, the
        rest runs. True when nothing failed."""
        today = self.env.company._auto_crm_today()
        run = self.env["auto_crm.job.run"]._run_job(
            "partner_segments",
            [
                JobStep(
                    # One unit, one statement: a set-based UPDATE has no customer of its own to fail on.
                    units=[None],
                    process=lambda batch: self._auto_crm_segment_grade(today),
                ),
                JobStep(
                    units=self._auto_crm_segment_companies,
                    # every store in one pair of statements; a store that fails is retried alone
                    process=lambda batch: self._auto_crm_completeness(batch),
                ),
            ],
        )
        self._auto_crm_segment_invalidate()
        self.env["auto_crm.loyalty.program"].invalidate_model(["segments_run_id"])
        return run.state == "done"

    @api.model
    def _auto_crm_segment_invalidate(self):
        """Written in SQL, past the ORM: what is cached of the segments is stale (nothing stored
        depends on them)."""
        self.invalidate_model(
            [
                "auto_value_grade",
                "auto_lifecycle_stage",
                "auto_lifecycle_stage_date",
                "auto_completeness_score",
                "auto_spend_12m",
                "auto_visits_12m",
                "auto_segment_company_id",
                "auto_segment_currency_id",
                "write_uid",
                "write_date",
            ]
        )
        self.env["auto_crm.vehicle"].invalidate_model(["completeness_score", "write_uid", "write_date"])

    @api.model
    def _auto_crm_segment_companies(self):
        """The stores whose customers are scored (once the segments have said which store each is of)."""
        self.env.cr.execute(
            "SELECT DISTINCT auto_segment_company_id FROM res_partner WHERE auto_customer AND active "
            "AND auto_segment_company_id IS NOT NULL"
        )
        return self.env["res.company"].sudo().browse(sorted(row[0] for row in self.env.cr.fetchall()))

    @api.model
    def _auto_crm_segment_rules_sql(self):
        """The stores' value grade and lifecycle thresholds as an SQL table ``rules(company_id, <one
        column per threshold of lib/segments.THRESHOLDS>)``: one row per store, read once."""
        companies = self.env["res.company"].sudo().with_context(active_test=False).search([])
        rows = [
            SQL(
                "(%s)",
                SQL(", ").join(
                    [SQL("%s", company_id), *(SQL("%s", value) for value in segments.threshold_values(rules))]
                ),
            )
            for company_id, rules in companies._auto_crm_segment_rules().items()
        ]
        columns = SQL(", ").join(SQL.identifier(name) for name in ("company_id", *segments.THRESHOLDS))
        return SQL("rules(%s) AS (VALUES %s)", columns, SQL(", ").join(rows))

    @api.model
    def _auto_crm_segment_grade_sql(self, today):
        """The UPDATE that grades every active dealer customer: the store that grades it (its own, else
        its latest visit's, else the running user's), 12-month spend and visits, value grade, lifecycle
        stage (and the day it was entered); only the customers whose segment changed are written.
        Returns the ids written."""
        since = today - relativedelta(months=12)
        thresholds = segments.threshold_columns("r")
        grade = segments.grade_value_sql("c.spend", "c.visits_12m", thresholds)
        stage = segments.lifecycle_stage_sql("c.visits", "c.idle_days", thresholds)
        return SQL(
            """
            WITH %(rules)s,
            customers AS (
                -- Customers joined to their delivered visits (by the visit's partner index when the
                -- planner expects few customers), then aggregated: no aggregate is ever re-scanned.
                SELECT p.id,
                       COALESCE(p.company_id, (
                            -- the store of the latest visit, looked up only for a customer without a store
                            SELECT lv.company_id
                              FROM auto_crm_service_visit lv
                             WHERE lv.partner_id = p.id AND lv.state != 'cancel'
                          ORDER BY lv.date_appointment DESC, lv.id DESC
                             LIMIT 1
                       ), %(default)s) AS company_id,
                       COALESCE(SUM(v.amount_paid) FILTER (WHERE v.date_delivered >= %(since)s), 0) AS spend,
                       COUNT(v.id) FILTER (WHERE v.date_delivered >= %(since)s) AS visits_12m,
                       COUNT(v.id) AS visits,
                       %(today)s::date - MAX(v.date_delivered)::date AS idle_days
                  FROM res_partner p
                  LEFT JOIN auto_crm_service_visit v
                         ON v.partner_id = p.id AND v.state = 'followup' AND v.date_delivered IS NOT NULL
                 WHERE p.auto_customer AND p.active
              GROUP BY p.id
            ),
            graded AS (
                SELECT c.id, c.company_id, c.spend, c.visits_12m,
                       %(grade)s AS grade,
                       %(stage)s AS stage
                  FROM customers c
                  JOIN rules r ON r.company_id = c.company_id
            )
            UPDATE res_partner p
               SET auto_value_grade = g.grade,
                   auto_lifecycle_stage = g.stage,
                   auto_lifecycle_stage_date = CASE
                       WHEN g.stage IS DISTINCT FROM p.auto_lifecycle_stage OR p.auto_lifecycle_stage_date IS NULL
                       THEN %(today)s ELSE p.auto_lifecycle_stage_date END,
                   auto_segment_company_id = g.company_id,
                   auto_spend_12m = g.spend,
                   auto_visits_12m = g.visits_12m,
                   write_uid = %(uid)s,
                   write_date = NOW() AT TIME ZONE 'UTC'
              FROM graded g
             WHERE p.id = g.id
               AND (p.auto_value_grade, p.auto_lifecycle_stage, p.auto_segment_company_id,
                    p.auto_spend_12m, p.auto_visits_12m)
                   IS DISTINCT FROM (g.grade, g.stage, g.company_id, g.spend, g.visits_12m)
            """,
            rules=self._auto_crm_segment_rules_sql(),
            since=since,
            today=today,
            default=self.env.company.id,
            grade=SQL(grade),
            stage=SQL(stage),
            uid=self.env.uid,
        )

    @api.model
    def _auto_crm_segment_grade(self, today):
        """Grade every dealer customer (see ``_auto_crm_segment_grade_sql``): one statement. Returns the
        number of customers whose segment changed."""
        self.env.flush_all()
        self.env.cr.execute(self._auto_crm_segment_grade_sql(today))
        self._auto_crm_segment_invalidate()
        return self.env.cr.rowcount

    @api.model
    def _auto_crm_completeness_standard(self, company):
        """(partner fields, vehicle fields, profile counted) of a store's completeness standard: the
        stored columns its standard names."""
        Partner, Vehicle = self.env["res.partner"], self.env["auto_crm.vehicle"]
        partner_fields = tuple(
            Partner._fields[f.name]
            for f in company.completeness_partner_field_ids
            if f.name in Partner._fields and Partner._fields[f.name].store and Partner._fields[f.name].column_type
        )
        vehicle_fields = tuple(
            Vehicle._fields[f.name]
            for f in company.completeness_vehicle_field_ids
            if f.name in Vehicle._fields and Vehicle._fields[f.name].store and Vehicle._fields[f.name].column_type
        )
        return partner_fields, vehicle_fields, bool(company.completeness_profile)

    @api.model
    def _auto_crm_completeness(self, companies):
        """Score vehicles, then customers, of these stores, each against its own standard: two UPDATEs
        for all of them (a CASE over the stores' standards; stores of the same standard share a
        branch), each reading the vehicles once, whatever the number of stores."""
        standards = defaultdict(list)  # standard -> store ids
        for company in companies:
            standards[self._auto_crm_completeness_standard(company)].append(company.id)
        if not standards:
            return

        def score(table, flds):
            if not flds:
                return SQL("100.0")
            return SQL(
                "(100.0 * (%s) / %s)",
                SQL(" + ").join(SQL("(%s)::int", filled_sql(table, f)) for f in flds),
                len(flds),
            )

        def by_store(column, expression_of):
            # CASE <store> WHEN <its standard's stores> THEN <its expression> ... END
            return SQL(
                "CASE %s END",
                SQL(" ").join(
                    SQL("WHEN %s = ANY(%s) THEN %s", SQL(column), store_ids, expression_of(standard))
                    for standard, store_ids in standards.items()
                ),
            )

        store_ids = [store_id for ids in standards.values() for store_id in ids]
        vehicle_score = by_store(
            "owner.auto_segment_company_id", lambda standard: score("auto_crm_vehicle", standard[1])
        )
        self.env.cr.execute(
            SQL(
                """
                UPDATE auto_crm_vehicle AS auto_crm_vehicle
                   SET completeness_score = %(score)s,
                       write_uid = %(uid)s,
                       write_date = NOW() AT TIME ZONE 'UTC'
                  FROM res_partner owner
                 WHERE owner.id = auto_crm_vehicle.partner_id
                   AND owner.auto_segment_company_id = ANY(%(stores)s)
                   AND auto_crm_vehicle.completeness_score IS DISTINCT FROM %(score)s
                """,
                score=vehicle_score,
                stores=store_ids,
                uid=self.env.uid,
            )
        )

        def partner_score(standard):
            partner_fields, vehicle_fields, profile_counted = standard
            n_vehicle = len(vehicle_fields)
            total = len(partner_fields) + n_vehicle + (1 if profile_counted else 0)
            if not total:
                return SQL("100.0")
            filled = (
                SQL(" + ").join(SQL("(%s)::int", filled_sql("res_partner", f)) for f in partner_fields)
                if partner_fields
                else SQL("0")
            )
            profile = (
                SQL(
                    "(CASE res_partner.auto_profile_state WHEN 'confirmed' THEN 1.0 WHEN 'verified' THEN 0.5 "
                    "ELSE 0 END)"
                )
                if profile_counted
                else SQL("0")
            )
            return SQL(
                "ROUND((100.0 * ((%s) + %s + COALESCE(veh.avg_score, 0) / 100.0 * %s) / %s)::numeric, 1)",
                filled,
                profile,
                n_vehicle,
                total,
            )

        self.env.cr.execute(
            SQL(
                """
                UPDATE res_partner AS res_partner
                   SET auto_completeness_score = sub.score,
                       write_uid = %(uid)s,
                       write_date = NOW() AT TIME ZONE 'UTC'
                  FROM (
                        SELECT res_partner.id, %(expression)s AS score
                          FROM res_partner
                          LEFT JOIN (
                                SELECT partner_id, AVG(completeness_score) AS avg_score
                                  FROM auto_crm_vehicle
                                 WHERE active AND partner_id IS NOT NULL
                              GROUP BY partner_id
                          ) veh ON veh.partner_id = res_partner.id
                         WHERE res_partner.auto_customer AND res_partner.active
                           AND res_partner.auto_segment_company_id = ANY(%(stores)s)
                  ) sub
                 WHERE res_partner.id = sub.id AND res_partner.auto_completeness_score IS DISTINCT FROM sub.score
                """,
                expression=by_store("res_partner.auto_segment_company_id", partner_score),
                stores=store_ids,
                uid=self.env.uid,
            )
        )
