import uuid

from dateutil.relativedelta import relativedelta

from odoo import _, api, fields, models
from odoo.exceptions import UserError
from odoo.tools import SQL
from odoo.tools.sql import create_index

from .auto_crm_job_run import JobStep
from .auto_crm_service_visit import UNPAID_METHODS
from .input_limits import check_vals


class AutoCrmLoyaltyMember(models.Model):
    """A customer's membership of a store's programme, and its tier. Points are posted by the ledger
    (``auto_crm.loyalty.ledger``), which alone writes the stored balance, in the same transaction as
    each entry: the balance always equals the sum of the member's entries."""

    _name = "auto_crm.loyalty.member"
    _description = "Loyalty Member"
    #: Fields a person writes (auto_crm.owned.mixin); every other stored field is the add-on's.
    _user_fields = {
        "active",
        "partner_id",
        "program_id",
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
        default=lambda self: self.env["auto_crm.loyalty.program"]._for_company(self.env.company).id,
    )
    company_id = fields.Many2one(
        "res.company",
        compute="_compute_company_id",
        store=True,
        precompute=True,
        string="Store",
        index=True,
        help="The programme's store; in a group programme, the member's home store (the customer's store, "
        "or the group when the customer belongs to the whole group). Points are earned and redeemed at every "
        "store of a group programme whatever the home store.",
    )
    currency_id = fields.Many2one(related="company_id.currency_id")
    customer_manager_id = fields.Many2one(related="partner_id.auto_customer_manager_id", string="Customer Manager")
    mobile = fields.Char(related="partner_id.mobile")
    date_joined = fields.Date(
        string="Member Since", default=lambda self: self.env.company._auto_crm_today(), readonly=True
    )
    tier_id = fields.Many2one(
        "auto_crm.loyalty.tier",
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
    tier_history_ids = fields.One2many("auto_crm.loyalty.tier.history", "member_id")
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
    @api.depends("program_id.company_id", "program_id.is_group_program", "partner_id.company_id")
    def _compute_company_id(self):
        for member in self:
            program = member.program_id.sudo()
            home = program.company_id
            if program.is_group_program:
                store = member.partner_id.sudo().company_id
                if store and store in program._covered_companies():
                    home = store
            member.company_id = home

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
                self._owned_fill(vals, "card_number", self._auto_crm_next_number("auto_crm.loyalty.member", company))
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

    # ------------------------------------------------------------------ customer transfer
    def _transfer_to_company(self, company, reason):
        """Move these memberships to the programme of ``company`` (the store a customer is transferred to),
        for the customer transfer's ``_after_transfer`` hook. Private: the transfer checks the rights.

        Each member's points leave its programme with an adjustment (the out line, at its store) and
        arrive at the member of the same customer in the new store's programme (the in line, at the new
        store, pointing at the out line), enrolled when need be; the old member is archived. Posted lines
        are never changed. Points move one for one. All or nothing: a refusal leaves no line written.

        Nothing moves when the new store shares the member's programme (a group programme), nor when the
        new store has no active programme (the points stay where they are). Returns the members that
        now hold the points (``{old member: new member}``)."""
        reason = (reason or "").strip()
        if not reason:
            raise UserError(_("Reason: say why the customer's points move to another store."))
        target = self.env["auto_crm.loyalty.program"]._for_company(company)
        try:
            with self.env.cr.savepoint():
                moved = self._transfer_points(target, company, reason)
        except Exception:
            # Rolled back to the savepoint: what the cache holds of balances and entries is stale.
            self.env.invalidate_all()
            raise
        return moved

    def _transfer_points(self, target, company, reason):
        """The body of ``_transfer_to_company``, within its savepoint."""
        Ledger = self.env["auto_crm.loyalty.ledger"]
        moved = {}
        for member in self.sudo():
            if not target or member.program_id == target:
                # A shared (group) programme, or nowhere to go: the points stay, one ledger.
                moved[member] = member
                continue
            # Lock first: the balance moved is the committed one (a concurrent posting makes this
            # transaction fail and retry, as every posting does).
            balance = Ledger._lock_balances(member)[member.id]
            new = self._get_or_enroll_anyway(member.partner_id, target)
            if balance:
                out = Ledger._post(
                    [
                        {
                            "member_id": member.id,
                            "kind": "adjust",
                            "points": -balance,
                            "reason": _(
                                "Transferred to %(store)s: %(reason)s", store=company.sudo().name, reason=reason
                            ),
                            "company_id": member.company_id.id,
                        }
                    ]
                )
                Ledger._post(
                    [
                        {
                            "member_id": new.id,
                            "kind": "adjust",
                            "points": balance,
                            "reason": _(
                                "Transferred from %(store)s: %(reason)s", store=member.company_id.name, reason=reason
                            ),
                            "company_id": company.id,
                            "transfer_of_id": out.id,
                        }
                    ]
                )
                new._evaluate_tiers(upgrade_only=True)
            member.write({"active": False})
            moved[member] = new
        return moved

    @api.model
    def _get_or_enroll_anyway(self, partner, program):
        """The member of ``partner`` in ``program``, enrolled (or re-activated) whatever the programme's
        automatic enrolment says: a transferred customer keeps a card."""
        member = (
            self.sudo()
            .with_context(active_test=False)
            .search([("partner_id", "=", partner.id), ("program_id", "=", program.id)], limit=1)
        )
        if not member:
            return self.sudo().create({"partner_id": partner.id, "program_id": program.id})
        if not member.active:
            member.active = True
        return member

    # ------------------------------------------------------------------ tiers
    @api.model
    def _tier_metrics_join(self, program, since):
        """SQL joined to the member ``m`` whose ``SUM(x.value)`` is its points earned, or money paid, over
        the qualification period (from ``since``): the ledger by its member index, or the store's visits
        by their customer index, so that the join stays cheap whatever plan the statistics suggest."""
        if program.tier_basis == "points":
            return SQL(
                "LEFT JOIN (SELECT member_id, points AS value FROM auto_crm_loyalty_ledger "
                "WHERE kind = 'earn' AND date >= %s) x ON x.member_id = m.id",
                since,
            )
        return SQL(
            "LEFT JOIN (SELECT partner_id, amount_paid AS value FROM auto_crm_service_visit "
            "WHERE company_id = ANY(%s) AND state = 'followup' AND date_delivered >= %s "
            "AND COALESCE(payment_method, '') NOT IN %s) x ON x.partner_id = m.partner_id",
            # a group programme counts the money paid at every store of the group
            program._covered_companies().ids,
            since,
            UNPAID_METHODS,
        )

    @api.model
    def _evaluate_program_tiers_sql(self, program, today, member_ids=None, upgrade_only=False):
        """One statement that moves the programme's active members (or ``member_ids``) between tiers
        and records each move: the qualifying tier is a CASE over the programme's thresholds on the
        metrics of one aggregate; a member moves up at once, down only when its review date has come
        (never when ``upgrade_only``); a member qualifying again for its tier once its review date has
        come keeps it for another period, without history. The UPDATE and the INSERT of the history
        rows share one evaluation (a materialised CTE). Returns one row: (members written, changes
        recorded)."""
        tiers = program.tier_ids.sorted("threshold")
        since = today - relativedelta(months=program.qualification_months)
        review = today + relativedelta(months=program.qualification_months)
        basis = dict(program._fields["tier_basis"]._description_selection(self.env))[program.tier_basis]
        # The reason of each move, in the language of the run; SQL puts the member's value in place of
        # the marker.
        marker = f"\x1f{uuid.uuid4().hex}\x1f"
        reasons = []
        for tier in tiers:
            reason = _(
                "%(basis)s over %(months)s months: %(value)s; %(tier)s from %(threshold)s",
                basis=basis,
                months=program.qualification_months,
                value=marker,
                tier=tier.name,
                threshold=format(tier.threshold, ",.0f"),
            )
            reasons.append(SQL("(%s, %s, %s)", tier.id, reason, reason + _(" (qualification period ended)")))
        # The highest tier whose threshold the value reaches; below every threshold, the lowest tier.
        whens = [SQL("WHEN x.value >= %s THEN %s", tier.threshold, tier.id) for tier in tiers[1:][::-1]]
        qualified = SQL("CASE %s ELSE %s END", SQL(" ").join(whens), tiers[0].id) if whens else SQL("%s", tiers[0].id)
        members = SQL("m.id = ANY(%s)", list(member_ids)) if member_ids is not None else SQL("m.active")
        if upgrade_only:
            down = extend = SQL("FALSE")
        else:
            down = SQL("(e.review_date IS NULL OR e.review_date <= %s)", today)
            extend = SQL("(e.review_date IS NOT NULL AND e.review_date <= %s)", today)
        return SQL(
            """
            WITH reasons(tier_id, reason_up, reason_down) AS (VALUES %(reasons)s),
            measured AS (
                SELECT m.id, m.partner_id, m.company_id, m.tier_id AS old_tier_id,
                       m.tier_review_date AS review_date, COALESCE(SUM(x.value), 0) AS value
                  FROM auto_crm_loyalty_member m
                  %(metrics)s
                 WHERE m.program_id = %(program)s AND %(members)s
              GROUP BY m.id
            ),
            evaluated AS (
                SELECT x.*, ct.threshold AS old_threshold, %(qualified)s AS new_tier_id
                  FROM measured x
                  LEFT JOIN auto_crm_loyalty_tier ct ON ct.id = x.old_tier_id
            ),
            decided AS MATERIALIZED (
                SELECT e.*,
                       CASE
                           WHEN e.old_tier_id IS NOT NULL AND t.threshold = e.old_threshold THEN
                               CASE WHEN %(extend)s THEN 'extend' END
                           WHEN e.old_tier_id IS NULL OR t.threshold > e.old_threshold THEN 'up'
                           WHEN %(down)s THEN 'down'
                       END AS move
                  FROM evaluated e
                  JOIN auto_crm_loyalty_tier t ON t.id = e.new_tier_id
            ),
            moved AS (
                UPDATE auto_crm_loyalty_member m
                   SET tier_id = CASE WHEN d.move = 'extend' THEN m.tier_id ELSE d.new_tier_id END,
                       tier_date = CASE WHEN d.move = 'extend' THEN m.tier_date ELSE %(today)s END,
                       tier_review_date = %(review)s,
                       write_uid = %(uid)s,
                       write_date = NOW() AT TIME ZONE 'UTC'
                  FROM decided d
                 WHERE m.id = d.id AND d.move IS NOT NULL
             RETURNING m.id
            ),
            history AS (
                INSERT INTO auto_crm_loyalty_tier_history
                    (member_id, partner_id, company_id, date, old_tier_id, new_tier_id, direction, metric,
                     reason, create_uid, create_date, write_uid, write_date)
                SELECT d.id, d.partner_id, d.company_id, %(today)s, d.old_tier_id, d.new_tier_id, d.move, d.value,
                       replace(CASE d.move WHEN 'up' THEN r.reason_up ELSE r.reason_down END, %(marker)s,
                               to_char(d.value, 'FM999,999,999,999,990')),
                       %(uid)s, NOW() AT TIME ZONE 'UTC', %(uid)s, NOW() AT TIME ZONE 'UTC'
                  FROM decided d
                  JOIN reasons r ON r.tier_id = d.new_tier_id
                 WHERE d.move IN ('up', 'down')
             RETURNING member_id
            )
            SELECT (SELECT COUNT(*) FROM moved), (SELECT COUNT(*) FROM history)
            """,
            reasons=SQL(", ").join(reasons),
            metrics=self._tier_metrics_join(program, since),
            qualified=qualified,
            program=program.id,
            members=members,
            extend=extend,
            down=down,
            today=today,
            review=review,
            uid=self.env.uid,
            marker=marker,
        )

    @api.model
    def _evaluate_program_tiers(self, program, member_ids=None, upgrade_only=False):
        """Move the programme's active members (or ``member_ids``) between tiers (see
        ``_evaluate_program_tiers_sql``): one statement. Returns the number of tier changes recorded."""
        program = program.sudo()
        if not program.tier_ids:
            return 0
        today = (program.company_id or self.env.company)._auto_crm_today()
        self.env.cr.execute(self._evaluate_program_tiers_sql(program, today, member_ids, upgrade_only))
        _written, changed = self.env.cr.fetchone()
        return changed

    def _evaluate_tiers(self, upgrade_only=False):
        """Move these members between tiers: up at once, down only when their qualification period ends.
        Set-based: one statement per programme (``_evaluate_program_tiers``)."""
        self.env.flush_all()
        changed = 0
        for program, members in self.sudo().grouped("program_id").items():
            changed += self._evaluate_program_tiers(program, members.ids, upgrade_only)
        self._tiers_invalidate()
        return changed

    @api.model
    def _tiers_invalidate(self):
        """Tiers written in SQL, past the ORM: what is cached of them is stale. Nothing stored depends on
        a member's tier (the visit's tier and benefits are computed when read)."""
        self.invalidate_model(
            [
                "tier_id",
                "tier_date",
                "tier_review_date",
                "tier_benefits",
                "color",
                "tier_history_ids",
                "write_uid",
                "write_date",
            ]
        )
        self.env["auto_crm.loyalty.tier.history"].invalidate_model()
        self.env["auto_crm.service.visit"].invalidate_model(
            ["loyalty_member_id", "loyalty_tier_id", "loyalty_benefits", "loyalty_points_balance"]
        )

    # ------------------------------------------------------------------ nightly
    @api.model
    def _tier_programs(self):
        """The programmes whose members the nightly job evaluates: those with tiers and active members."""
        self.env.cr.execute(
            """
            SELECT p.id FROM auto_crm_loyalty_program p
             WHERE EXISTS (SELECT 1 FROM auto_crm_loyalty_tier t WHERE t.program_id = p.id AND t.active)
               AND EXISTS (SELECT 1 FROM auto_crm_loyalty_member m WHERE m.program_id = p.id AND m.active)
          ORDER BY p.id
            """
        )
        return self.env["auto_crm.loyalty.program"].sudo().browse([row[0] for row in self.env.cr.fetchall()])

    @api.model
    def _cron_loyalty_nightly(self):
        """Expire points, then evaluate every active member's tier: one statement per programme for each
        (a constant number of queries whatever the number of members). The lock, the savepoints and the
        run log are the job runner's (auto_crm.job.run): a failing programme is recorded on the run, the
        rest runs. True when nothing failed."""
        Ledger = self.env["auto_crm.loyalty.ledger"]
        run = self.env["auto_crm.job.run"]._run_job(
            "loyalty_nightly",
            [
                JobStep(
                    units=lambda: Ledger._expiring_programs(),
                    process=lambda batch: [
                        Ledger._post_expiry_program(program, program.company_id._auto_crm_today()) for program in batch
                    ],
                    batch_size=1,
                ),
                JobStep(
                    units=self._tier_programs,
                    process=lambda batch: [self._evaluate_program_tiers(program) for program in batch],
                    batch_size=1,
                ),
            ],
        )
        # Expiry and tiers write in SQL, past the ORM: what is cached of the entries, the balances and
        # the tiers is stale.
        Ledger.invalidate_model()
        self.invalidate_model(["ledger_ids", "points_balance"])
        self._tiers_invalidate()
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
