from odoo import _, api, fields, models
from odoo.exceptions import AccessError, UserError, ValidationError

from .input_limits import check_vals

TIER_BASIS = [
    ("points", "Points earned"),
    ("spend", "Paid spend"),
]
#: The programme's rates (NaN and infinity are refused whatever the range).
PROGRAM_RANGES = {"earn_rate": (0, None), "point_value": (0, None)}


class AutoCrmLoyaltyProgram(models.Model):
    _name = "auto_crm.loyalty.program"
    _description = "Loyalty Programme"
    #: Fields a person writes (auto_crm.owned.mixin); every other stored field is the add-on's.
    _user_fields = {
        "name",
        "active",
        "company_id",
        "auto_enroll",
        "earn_rate",
        "point_value",
        "expiry_months",
        "tier_basis",
        "qualification_months",
        "tier_ids",
        "is_group_program",
    }
    _inherit = ["auto_crm.owned.mixin", "mail.thread", "mail.activity.mixin"]
    _order = "company_id, id"
    _check_company_auto = True

    name = fields.Char(required=True, tracking=True, default=lambda self: _("Member Programme"))
    active = fields.Boolean(default=True, tracking=True)
    company_id = fields.Many2one(
        "res.company", string="Store", required=True, default=lambda self: self.env.company, index=True
    )
    currency_id = fields.Many2one(related="company_id.currency_id")
    is_group_program = fields.Boolean(
        string="Group Programme",
        tracking=True,
        help="Group programme: points earned and redeemed at every store of the group. The programme belongs "
        "to the dealer group (the parent company of its stores); each member has one balance and one ledger, "
        "and each ledger line records the store where it happened.",
    )
    store_ids = fields.Many2many(
        "res.company",
        compute="_compute_store_ids",
        string="Stores",
        help="The stores whose visits earn and redeem in this programme.",
    )

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

    # ---------------------------------------------------------------- nightly runs (from the job run log)
    segments_run_id = fields.Many2one(
        "auto_crm.job.run", compute="_compute_nightly_runs", string="Last Segments Run", groups="auto_crm.group_manager"
    )
    loyalty_run_id = fields.Many2one(
        "auto_crm.job.run", compute="_compute_nightly_runs", string="Last Loyalty Run", groups="auto_crm.group_manager"
    )

    _sql_constraints = [
        ("auto_crm_loyalty_program_company_uniq", "unique(company_id)", "Each store has one loyalty programme."),
        (
            "auto_crm_loyalty_program_rates",
            "CHECK(earn_rate >= 0 AND point_value >= 0)",
            "Points per Currency Unit and Value of a Point cannot be negative.",
        ),
    ]

    @api.model_create_multi
    def create(self, vals_list):
        check_vals(self, vals_list, PROGRAM_RANGES)
        return super().create(vals_list)

    @api.constrains("expiry_months", "qualification_months")
    def _check_periods(self):
        for program in self:
            if program.expiry_months < 0:
                raise ValidationError(_("Points Expire After: months cannot be negative."))
            if program.qualification_months < 1:
                raise ValidationError(_("Qualification Period: must be at least one month."))

    @api.depends("company_id", "is_group_program")
    def _compute_store_ids(self):
        for program in self:
            program.store_ids = program._covered_companies()

    def _covered_companies(self):
        """The companies whose customers, visits and ledger lines this programme covers: its store, or for
        a group programme the group company and every store below it."""
        self.ensure_one()
        company = self.company_id.sudo()
        if not company:
            return company
        if not self.is_group_program:
            return company
        return company.search([("id", "child_of", company.id)])

    @api.constrains("is_group_program", "company_id", "active")
    def _check_one_programme_per_store(self):
        """A store belongs to at most one active programme: its own or its group's."""
        Program = self.sudo().with_context(active_test=True)
        for program in self.sudo():
            if program.is_group_program and not program.company_id.child_ids:
                raise ValidationError(
                    _(
                        "Group Programme: %(company)s has no stores below it; a group programme belongs to a "
                        "dealer group (the parent company of its stores).",
                        company=program.company_id.name,
                    )
                )
            if not program.active:
                continue
            covered = program._covered_companies()
            others = Program.search(
                [
                    ("id", "!=", program.id),
                    "|",
                    ("company_id", "in", covered.ids),
                    "&",
                    ("is_group_program", "=", True),
                    ("company_id", "in", program.company_id.parent_ids.ids),
                ]
            )
            for other in others:
                shared = covered & other._covered_companies()
                if shared:
                    raise ValidationError(
                        _(
                            "Group Programme: the store %(store)s would belong to two active programmes, "
                            "%(program)s and %(other)s; a store belongs to at most one (its own or its group's). "
                            "Archive one of them first.",
                            store=shared[0].name,
                            program=program.name,
                            other=other.display_name,
                        )
                    )

    def write(self, vals):
        check_vals(self, [vals], PROGRAM_RANGES)
        if "is_group_program" in vals or "company_id" in vals:
            moved = self.filtered(
                lambda p: p.is_group_program != vals.get("is_group_program", p.is_group_program)
                or p.company_id.id != vals.get("company_id", p.company_id.id)
            )
            if moved and self.env["auto_crm.loyalty.member"].sudo().with_context(active_test=False).search_count(
                [("program_id", "in", moved.ids)], limit=1
            ):
                raise UserError(
                    _(
                        "Group Programme: a programme with members keeps its store and scope; start a new "
                        "programme and move the members with their points instead."
                    )
                )
        return super().write(vals)

    def _compute_member_count(self):
        counts = dict(
            self.env["auto_crm.loyalty.member"]._read_group(
                [("program_id", "in", self.ids)], ["program_id"], ["__count"]
            )
        )
        for program in self:
            program.member_count = counts.get(program, 0)

    def _compute_nightly_runs(self):
        # The nightly jobs run for every store at once: the last run of each, read once for all programmes.
        Run = self.env["auto_crm.job.run"].sudo()
        segments = Run.search([("job", "=", "partner_segments"), ("state", "!=", "skipped")], limit=1)
        loyalty = Run.search([("job", "=", "loyalty_nightly"), ("state", "!=", "skipped")], limit=1)
        self.segments_run_id = segments
        self.loyalty_run_id = loyalty

    @api.depends("name", "company_id")
    def _compute_display_name(self):
        for program in self:
            program.display_name = f"{program.name} ({program.company_id.name})" if program.company_id else program.name

    @api.model
    def _for_company(self, company):
        """The active programme of a store: its own, else the group programme of its nearest dealer group
        (an empty recordset when the store has none)."""
        return self._programs_for_companies(company).get(company.sudo(), self.sudo().browse())

    @api.model
    def _programs_for_companies(self, companies):
        """{company: active programme} for these stores, their own or their nearest group's (stores without
        one are left out). One search, however many stores."""
        companies = companies.sudo()
        if not companies:
            return {}
        programs = self.sudo().search([("company_id", "in", companies.parent_ids.ids)])
        by_company = {program.company_id: program for program in programs}
        result = {}
        for company in companies:
            own = by_company.get(company)
            if own:
                result[company] = own
                continue
            # The nearest group above the store with a group programme (parent_ids: the root first).
            for parent in reversed(company.parent_ids[:-1]):
                program = by_company.get(parent)
                if program and program.is_group_program:
                    result[company] = program
                    break
        return result

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
