from odoo import _, api, fields, models
from odoo.exceptions import AccessError, ValidationError

TIER_BASIS = [
    ("points", "Points earned"),
    ("spend", "Paid spend"),
]

#: Fields a complete customer archive holds when a store has not chosen its own.
DEFAULT_PARTNER_FIELDS = ["mobile", "birthday", "occupation", "city", "customer_manager_id", "preferred_channel"]
DEFAULT_VEHICLE_FIELDS = ["plate", "model_id", "purchase_date", "engine_number"]
#: Field types a completeness standard can count (a value in the record's own table).
COUNTABLE_TTYPES = (
    "char",
    "text",
    "html",
    "date",
    "datetime",
    "integer",
    "float",
    "monetary",
    "selection",
    "many2one",
    "boolean",
)


class AutoCrmLoyaltyProgram(models.Model):
    _name = "auto_crm.loyalty.program"
    _description = "Loyalty Programme and Segmentation Settings"
    _inherit = ["mail.thread", "mail.activity.mixin"]
    _order = "company_id, id"
    _check_company_auto = True

    name = fields.Char(required=True, tracking=True, default=lambda self: _("Member Programme"))
    active = fields.Boolean(default=True, tracking=True)
    company_id = fields.Many2one(
        "res.company", string="Store", required=True, default=lambda self: self.env.company, index=True
    )
    currency_id = fields.Many2one(related="company_id.currency_id")

    # ---------------------------------------------------------------- points
    auto_enroll = fields.Boolean(
        string="Enrol Automatically",
        default=True,
        tracking=True,
        help="A dealer customer who is not yet a member becomes one when a paid visit is delivered.",
    )
    earn_rate = fields.Float(
        string="Points per Currency Unit",
        default=0.1,
        digits=(12, 4),
        tracking=True,
        help="Points earned per unit of money paid for a delivered visit (0.1 = one point per 10 yuan). "
        "Visits paid by warranty or internally earn nothing.",
    )
    point_value = fields.Monetary(
        string="Value of a Point",
        default=0.1,
        tracking=True,
        help="What one point is worth when it is redeemed against a visit.",
    )
    expiry_months = fields.Integer(
        string="Points Expire After (months)",
        default=24,
        tracking=True,
        help="Points expire this many months after they were earned, oldest first. 0 = never.",
    )
    tier_basis = fields.Selection(
        TIER_BASIS,
        string="Tier Qualification",
        default="spend",
        required=True,
        tracking=True,
        help="Tiers are reached on the points earned, or on the money paid, over the qualification period.",
    )
    qualification_months = fields.Integer(
        string="Qualification Period (months)",
        default=12,
        tracking=True,
        help="The rolling period the tier thresholds are measured over. A member moves up as soon as a "
        "threshold is crossed and moves down only when the period since the last tier change ends.",
    )
    tier_ids = fields.One2many("auto_crm.loyalty.tier", "program_id", string="Tiers", copy=True)
    member_count = fields.Integer(compute="_compute_member_count", string="Members")

    # ---------------------------------------------------------------- segmentation
    value_a_spend = fields.Monetary(string="Grade A: Spend (12 months)", default=10000, tracking=True)
    value_a_visits = fields.Integer(string="Grade A: Visits (12 months)", default=4, tracking=True)
    value_b_spend = fields.Monetary(string="Grade B: Spend (12 months)", default=3000, tracking=True)
    value_b_visits = fields.Integer(string="Grade B: Visits (12 months)", default=2, tracking=True)
    satisfied_visits = fields.Integer(
        string="Satisfied from (visits)",
        default=2,
        tracking=True,
        help="Delivered visits in total from which a customer who came back counts as satisfied.",
    )
    retained_visits = fields.Integer(string="Retained from (visits)", default=3, tracking=True)
    loyal_visits = fields.Integer(string="Loyal from (visits)", default=6, tracking=True)
    at_risk_days = fields.Integer(
        string="At Risk after (days)",
        default=180,
        tracking=True,
        help="Days without a delivered visit after which a customer is at risk.",
    )
    lost_days = fields.Integer(
        string="Lost after (days)",
        default=365,
        tracking=True,
        help="Days without a delivered visit after which a customer is lost.",
    )
    service_interval_months = fields.Integer(
        string="Service Interval (months)",
        default=6,
        tracking=True,
        help="Retention: a vehicle is due for service this many months after the month of its last delivered visit.",
    )
    return_grace_months = fields.Integer(
        string="Return Grace (months)",
        default=1,
        tracking=True,
        help="Retention: a due vehicle counts as returned when it is received in its due month or up "
        "to this many months later.",
    )

    # ---------------------------------------------------------------- data quality
    completeness_partner_field_ids = fields.Many2many(
        "ir.model.fields",
        "auto_crm_loyalty_program_partner_field_rel",
        string="Customer Fields",
        domain=[("model", "=", "res.partner"), ("store", "=", True), ("ttype", "in", COUNTABLE_TTYPES)],
        default=lambda self: self._default_fields("res.partner", DEFAULT_PARTNER_FIELDS),
        help="Fields a complete customer archive holds.",
    )
    completeness_vehicle_field_ids = fields.Many2many(
        "ir.model.fields",
        "auto_crm_loyalty_program_vehicle_field_rel",
        string="Vehicle Fields",
        domain=[("model", "=", "auto_crm.vehicle"), ("store", "=", True), ("ttype", "in", COUNTABLE_TTYPES)],
        default=lambda self: self._default_fields("auto_crm.vehicle", DEFAULT_VEHICLE_FIELDS),
        help="Fields a complete vehicle record holds.",
    )
    completeness_archive = fields.Boolean(
        string="Count Archive Confirmation",
        default=True,
        help="A filed archive counts as one more complete item, a verified one as half.",
    )
    segment_last_run = fields.Datetime(string="Last Nightly Run", readonly=True, copy=False)
    segment_last_error = fields.Text(string="Last Nightly Error", readonly=True, copy=False)

    _sql_constraints = [
        ("auto_crm_loyalty_program_company_uniq", "unique(company_id)", "Each store has one loyalty programme."),
        (
            "auto_crm_loyalty_program_rates",
            "CHECK(earn_rate >= 0 AND point_value >= 0)",
            "Points per Currency Unit and Value of a Point cannot be negative.",
        ),
    ]

    @api.model
    def _default_fields(self, model, names):
        return self.env["ir.model.fields"].search([("model", "=", model), ("name", "in", names)]).ids

    @api.constrains(
        "expiry_months",
        "qualification_months",
        "at_risk_days",
        "lost_days",
        "service_interval_months",
        "return_grace_months",
        "satisfied_visits",
        "retained_visits",
        "loyal_visits",
    )
    def _check_periods(self):
        for program in self:
            if min(program.expiry_months, program.return_grace_months) < 0:
                raise ValidationError(_("Points Expire After: months cannot be negative."))
            if program.qualification_months < 1 or program.service_interval_months < 1:
                raise ValidationError(_("Qualification Period: the periods must be at least one month."))
            if not 0 < program.at_risk_days < program.lost_days:
                raise ValidationError(_("At Risk after: must be more than 0 days and fewer than Lost after."))
            if not 1 < program.satisfied_visits <= program.retained_visits <= program.loyal_visits:
                raise ValidationError(
                    _("Satisfied from: the visit counts must grow: 2 or more for satisfied, then retained, then loyal.")
                )

    @api.constrains("completeness_partner_field_ids", "completeness_vehicle_field_ids")
    def _check_completeness_fields(self):
        for program in self:
            fields_ = program.completeness_partner_field_ids | program.completeness_vehicle_field_ids
            wrong = fields_.filtered(
                lambda f: (
                    f.model not in ("res.partner", "auto_crm.vehicle") or not f.store or f.ttype not in COUNTABLE_TTYPES
                )
            )
            if wrong:
                raise ValidationError(
                    _(
                        "Customer Fields: %s cannot be counted (only stored fields of customers and vehicles "
                        "holding a single value).",
                        ", ".join(wrong.mapped("field_description")),
                    )
                )
            if program.completeness_partner_field_ids.filtered(lambda f: f.model != "res.partner"):
                raise ValidationError(_("Customer Fields: only customer fields belong here."))
            if program.completeness_vehicle_field_ids.filtered(lambda f: f.model != "auto_crm.vehicle"):
                raise ValidationError(_("Vehicle Fields: only vehicle fields belong here."))

    def _compute_member_count(self):
        counts = dict(
            self.env["auto_crm.loyalty.member"]._read_group(
                [("program_id", "in", self.ids)], ["program_id"], ["__count"]
            )
        )
        for program in self:
            program.member_count = counts.get(program, 0)

    @api.depends("name", "company_id")
    def _compute_display_name(self):
        for program in self:
            program.display_name = f"{program.name} ({program.company_id.name})" if program.company_id else program.name

    @api.model
    def _for_company(self, company):
        """The active programme of a store (an empty recordset when the store has none)."""
        return self.sudo().search([("company_id", "=", company.id)], limit=1)

    def action_view_members(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id("auto_crm.auto_crm_loyalty_member_action")
        action["domain"] = [("program_id", "=", self.id)]
        action["context"] = {"default_program_id": self.id}
        return action

    def action_run_nightly(self):
        if not self.env.user.has_group("auto_crm.group_admin"):
            raise AccessError(_("Only dealer administrators can run the nightly computation by hand."))
        self.env["res.partner"]._cron_auto_crm_segments()
        self.env["auto_crm.loyalty.member"]._cron_loyalty_nightly()
        return True
