
from dateutil.relativedelta import relativedelta

from odoo import _, api, fields, models
from odoo.exceptions import UserError
from odoo.tools import SQL
from odoo.tools.sql import create_index

from .auto_crm_job_run import JobStep
from .auto_crm_service_visit import UNPAID_METHODS
from .input_limits import check_vals

#: Members handled per batch by the nightly jobs (one set of grouped queries per batch).
BATCH_SIZE = 2000


class AutoCrmLoyaltyMember(models.Model):
    """A customer's membership of a store's programme, and its tier. Points are posted by the ledger
    (``auto_crm.loyalty.ledger``), which alone writes the stored balance, in the same transaction as
    each entry: the balance always equals the sum of the member's entries."""

    _name = "auto_crm.loyalty.member"
    _description = "Loyalty Member"
    #: Fields a person writes (auto_crm.owned.mixin); every other stored field is the add-on's.
    _user_fields = {
        "active", "partner_id", "program_id",
    }
    _inherit = ["auto_crm.owned.mixin", "mail.thread", "mail.activity.mixin", "auto_crm.sequence.mixin"]
    _order = "card_number desc, id desc"
    _rec_names_search = ["card_number", "partner_id.name", "partner_id.mobile"]
    _check_company_auto = True

    card_number = fields.Char(
        string="Member Card", required=True, copy=False, readonly=True, default="/", index="trigram", size=64
    )
    active = fields.Boolean(default=True, tracking=True)
    partner_id = fields.Many2one(
        "res.partner",
        string="Customer",
        required=True,
        index=True,
        tracking=True,
        ondelete="restrict",
        check_company=True,
    )
    program_id = fields.Many2one(
        "auto_crm.loyalty.program",
        string="Programme",
        required=True,
        index=True,
        ondelete="restrict",
        default=lambda self: self.env["auto_crm.loyalty.program"].search(
            [("company_id", "=", self.env.company.id)], limit=1
        ),
    )
    company_id = fields.Many2one(related="program_id.company_id", store=True, string="Store", index=True)
    currency_id = fields.Many2one(related="company_id.currency_id")
    customer_manager_id = fields.Many2one(related="partner_id.auto_customer_manager_id", string="Customer Manager")
    mobile = fields.Char(related="partner_id.mobile")
    date_joined = fields.Date(string="Member Since", default=lambda self: self.env.company._auto_crm_today(), readonly=True)
    tier_id = fields.Many2one(
        "auto_crm.loyalty.tier",
        string="Tier",
        readonly=True,
        index=True,
        group_expand="_group_expand_tiers",
        domain="[('program_id', '=', program_id)]",
    )
    tier_date = fields.Date(string="Tier Since", readonly=True)
    tier_review_date = fields.Date(
        string="Tier Review",
        readonly=True,
        help="End of the qualification period: the member can move down a tier only from this date.",
    )
    tier_benefits = fields.Char(compute="_compute_tier_benefits", string="Benefits")
    points_balance = fields.Integer(
        string="Points",
        required=True,
        readonly=True,
        default=0,
        copy=False,
        help="The sum of the member's ledger entries, kept by the ledger itself.",
    )
    points_earned_period = fields.Integer(compute="_compute_points", string="Points Earned (period)")
    ledger_ids = fields.One2many("auto_crm.loyalty.ledger", "member_id", string="Points Ledger")
    tier_history_ids = fields.One2many("auto_crm.loyalty.tier.history", "member_id", string="Tier History")
    color = fields.Integer(related="tier_id.color")

    _sql_constraints = [
        (
            "auto_crm_loyalty_member_uniq",
            "unique(partner_id, program_id)",
            "Customer: is already a member of this programme.",
        ),
        (
            "auto_crm_loyalty_member_card_uniq",
            "unique(card_number, company_id)",
            "Member Card: numbers are unique per store.",
        ),
    ]

    def init(self):
        # The members' kanban (a column per tier) and list, in their order.
        create_index(
            self.env.cr,
            "auto_crm_loyalty_member_tier_card_idx",
            self._table,
            ["tier_id", "card_number DESC", "id DESC"],
        )
        create_index(self.env.cr, "auto_crm_loyalty_member_card_idx", self._table, ["card_number DESC", "id DESC"])

    # ------------------------------------------------------------------ computes
    @api.depends("card_number", "partner_id")
    def _compute_display_name(self):
        for member in self:
            member.display_name = f"{member.card_number} {member.partner_id.name or ''}".strip()

    @api.depends("tier_id")
    def _compute_tier_benefits(self):
        for member in self:
            member.tier_benefits = member.tier_id._benefits_text() if member.tier_id else False

    @api.depends("ledger_ids.points")
    def _compute_points(self):
        Ledger = self.env["auto_crm.loyalty.ledger"].sudo()
        today = self.env.company._auto_crm_today()
        earned = {}
        for program in self.program_id:
            since = today - relativedelta(months=program.qualification_months)
            earned.update(
                Ledger._read_group(
                    [
                        ("member_id", "in", self.filtered(lambda m, p=program: m.program_id == p).ids),
                        ("kind", "=", "earn"),
                        ("date", ">=", since),
                    ],
                    ["member_id"],
                    ["points:sum"],
                )
            )
        for member in self:
            member.points_earned_period = earned.get(member._origin, 0)

    @api.model
    def _group_expand_tiers(self, tiers, domain):
        programs = self.env["auto_crm.loyalty.program"].search([])
        return tiers | self.env["auto_crm.loyalty.tier"].search([("program_id", "in", programs.ids)])

    # ------------------------------------------------------------------ CRUD
    @api.model_create_multi
    def create(self, vals_list):
        check_vals(self, vals_list)
        Program = self.env["auto_crm.loyalty.program"]
        for vals in vals_list:
            self._check_balance_not_written(vals)
            if vals.get("card_number", "/") == "/":
                program = Program.browse(vals.get("program_id")).sudo()
                company = program.company_id or self.env.company
                self._owned_fill(
                    vals, "card_number", self._auto_crm_next_number("auto_crm.loyalty.member", company)
                )
        members = super().create(vals_list)
        members._set_starting_tier()
        return members

    def write(self, vals):
        check_vals(self, [vals])
        self._check_balance_not_written(vals)
        if ("partner_id" in vals or "program_id" in vals) and self.sudo().ledger_ids:
            raise UserError(
                _(
                    "Customer: a member with points cannot be moved to another customer or programme; "
                    "enrol the other customer instead."
                )
            )
        return super().write(vals)

    @api.model
    def _check_balance_not_written(self, vals):
        """The balance is the ledger's: it moves only with an entry (``Ledger._post``, in SQL), so that it
        always equals the sum of the entries. Nobody writes it, not the administrator, not sudo."""
        if "points_balance" in vals:
            raise UserError(
                _("Points: the balance moves only with a ledger entry; ask a manager for an adjustment with a reason.")
            )

    @api.ondelete(at_uninstall=False)
    def _unlink_except_ledger(self):
        if self.sudo().ledger_ids:
            raise UserError(_("Member Card: a member with points history is archived, never deleted."))

    def _set_starting_tier(self):
        for program, members in self.sudo().grouped("program_id").items():
            today = (program.company_id or self.env.company)._auto_crm_today()
            start = program.tier_ids.sorted("threshold")[:1]
            if start:
                members.filtered(lambda m: not m.tier_id).write(
                    {
                        "tier_id": start.id,
                        "tier_date": today,
                        "tier_review_date": today + relativedelta(months=program.qualification_months),
                    }
                )

    @api.model
    def _get_or_enroll(self, pairs):
        """{(partner id, programme id): member} for these (partner, programme) pairs, archived members
        included; a customer who is not a member yet is enrolled where the programme enrols automatically.
        One search and one create, however many pairs."""
        pairs = list(dict.fromkeys((partner, program) for partner, program in pairs))
        if not pairs:
            return {}
        Member = self.sudo().with_context(active_test=False)
        found = Member.search(
            [
                ("partner_id", "in", list({partner.id for partner, _program in pairs})),
                ("program_id", "in", list({program.id for _partner, program in pairs})),
            ]
        )
        members = {(member.partner_id.id, member.program_id.id): member for member in found}
        missing = [
            (partner, program)
            for partner, program in pairs
            if (partner.id, program.id) not in members and program.auto_enroll
        ]
        if missing:
            created = Member.create(
                [{"partner_id": partner.id, "program_id": program.id} for partner, program in missing]
            )
            members.update(((member.partner_id.id, member.program_id.id), member) for member in created)
        return members

    # ------------------------------------------------------------------ points
    def action_adjust(self, points, reason):
        """A manager adds or takes points, with a reason. Returns an action (a recordset, or None, cannot
        travel over XML-RPC: the client would get an error after the posting is committed, and retry)."""
        self.ensure_one()
        if not self.env.user.has_group("auto_crm.group_manager"):
            raise UserError(_("Points: only after-sales managers adjust points by hand."))
        # The manager's own rights on this member (its store) decide, not the ledger's sudo.
        self.check_access("write")
        self.env["auto_crm.loyalty.ledger"]._post_adjust(self, points, reason)
        return {"type": "ir.actions.client", "tag": "soft_reload"}

    # ------------------------------------------------------------------ tiers
    def _tier_metrics(self, program, today):
        """{member id: points earned or money paid over the qualification period}, one grouped query."""
        since = today - relativedelta(months=program.qualification_months)
        if program.tier_basis == "points":
            query = SQL(
                "SELECT member_id, SUM(points) FROM auto_crm_loyalty_ledger "
                "WHERE member_id = ANY(%s) AND kind = 'earn' AND date >= %s GROUP BY member_id",
                list(self.ids),
                since,
            )
        else:
            query = SQL(
                "SELECT m.id, SUM(v.amount_paid) FROM auto_crm_loyalty_member m "
                "JOIN auto_crm_service_visit v ON v.partner_id = m.partner_id AND v.company_id = %s "
                "WHERE m.id = ANY(%s) AND v.state = 'followup' AND v.date_delivered >= %s "
                "AND COALESCE(v.payment_method, '') NOT IN %s GROUP BY m.id",
                program.company_id.id,
                list(self.ids),
                since,
                UNPAID_METHODS,
            )
        self.env.cr.execute(query)
        return dict(self.env.cr.fetchall())

    def _evaluate_tiers(self, upgrade_only=False):
        """Move members between tiers: up at once, down only when their qualification period ends.
        Set-based: one metrics query per programme and batch, one write per new tier."""
        self.env.flush_all()
        History = self.env["auto_crm.loyalty.tier.history"].sudo()
        basis_labels = dict(self.env["auto_crm.loyalty.program"]._fields["tier_basis"]._description_selection(self.env))
        changed = 0
        for program, members in self.sudo().grouped("program_id").items():
            tiers = program.tier_ids.sorted("threshold")
            if not tiers:
                continue
            today = (program.company_id or self.env.company)._auto_crm_today()
            metrics = members._tier_metrics(program, today)
            review = today + relativedelta(months=program.qualification_months)
            moves = {}  # new tier -> members
            extend = self.browse()
            history = []
            for member in members:
                value = metrics.get(member.id) or 0
                qualified = tiers.filtered(lambda t, value=value: t.threshold <= value)[-1:] or tiers[:1]
                current = member.tier_id
                if current and qualified.threshold == current.threshold:
                    if member.tier_review_date and member.tier_review_date <= today and not upgrade_only:
                        extend |= member
                    continue
                up = not current or qualified.threshold > current.threshold
                if not up and (upgrade_only or (member.tier_review_date and member.tier_review_date > today)):
                    continue
                moves.setdefault(qualified, self.browse())
                moves[qualified] |= member
                history.append(
                    {
                        "member_id": member.id,
                        "date": today,
                        "old_tier_id": current.id,
                        "new_tier_id": qualified.id,
                        "direction": "up" if up else "down",
                        "metric": value,
                        "reason": _(
                            "%(basis)s over %(months)s months: %(value)s; %(tier)s from %(threshold)s",
                            basis=basis_labels[program.tier_basis],
                            months=program.qualification_months,
                            value=format(value, ",.0f"),
                            tier=qualified.name,
                            threshold=format(qualified.threshold, ",.0f"),
                        )
                        + ("" if up else _(" (qualification period ended)")),
                    }
                )
            for tier, moved in moves.items():
                moved.write({"tier_id": tier.id, "tier_date": today, "tier_review_date": review})
            if extend:
                extend.write({"tier_review_date": review})
            if history:
                History.create(history)
            changed += len(history)
        return changed

    # ------------------------------------------------------------------ nightly
    @api.model
    def _cron_loyalty_nightly(self):
        """Expire points (one statement per programme), then evaluate every member's tier, in batches.
        Batches, savepoints, retries and the run log are the job runner's (auto_crm.job.run): a
        failing programme or member is recorded on the run, the rest runs. True when nothing failed."""
        Ledger = self.env["auto_crm.loyalty.ledger"]
        run = self.env["auto_crm.job.run"]._run_job(
            "loyalty_nightly",
            [
                JobStep(
                    units=lambda: Ledger._expiring_programs(),
                    process=lambda batch: [Ledger._post_expiry_program(program, program.company_id._auto_crm_today()) for program in batch],
                    batch_size=1,
                ),
                JobStep(
                    units=lambda: self.sudo().search([]).ids,
                    process=lambda batch: self.sudo().browse(batch)._evaluate_tiers(),
                    model=self._name,
                    batch_size=BATCH_SIZE,
                ),
            ],
        )
        # Expiry inserts in SQL, past the ORM: what is cached of the entries and the balances is stale.
        Ledger.invalidate_model()
        self.invalidate_model(["ledger_ids", "points_balance"])
        self.env["auto_crm.loyalty.program"].invalidate_model(["loyalty_run_id"])
        return run.state == "done"

    # ------------------------------------------------------------------ actions
    def action_open_adjust(self):
        self.ensure_one()
        return {
            "type": "ir.actions.act_window",
            "name": _("Adjust Points"),
            "res_model": "auto_crm.loyalty.points.wizard",
            "view_mode": "form",
            "target": "new",
            "context": {"default_member_id": self.id, "default_operation": "adjust"},
        }

    def action_view_ledger(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id("auto_crm.auto_crm_loyalty_ledger_action")
        action["domain"] = [("member_id", "=", self.id)]
        action["context"] = {}
        return action
