import logging
import math

from dateutil.relativedelta import relativedelta

from odoo import _, api, fields, models
from odoo.exceptions import UserError
from odoo.tools import SQL

_logger = logging.getLogger(__name__)

#: Members handled per batch by the nightly jobs (one set of grouped queries per batch).
BATCH_SIZE = 2000
#: Payment methods that are not the customer's money: such visits earn no points.
UNPAID_METHODS = ("warranty", "internal")


class AutoCrmLoyaltyMember(models.Model):
    _name = "auto_crm.loyalty.member"
    _description = "Loyalty Member"
    _inherit = ["mail.thread", "mail.activity.mixin", "auto_crm.sequence.mixin"]
    _order = "card_number desc, id desc"
    _rec_names_search = ["card_number", "partner_id.name", "partner_id.mobile"]
    _check_company_auto = True

    card_number = fields.Char(
        string="Member Card", required=True, copy=False, readonly=True, default="/", index="trigram"
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
    customer_manager_id = fields.Many2one(related="partner_id.customer_manager_id", string="Customer Manager")
    mobile = fields.Char(related="partner_id.mobile")
    date_joined = fields.Date(string="Member Since", default=fields.Date.context_today, readonly=True)
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
    points_balance = fields.Integer(compute="_compute_points", string="Points")
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

    # ------------------------------------------------------------------ computes
    @api.depends("card_number", "partner_id")
    def _compute_display_name(self):
        for member in self:
            member.display_name = f"{member.card_number} {member.partner_id.name or ''}".strip()

    @api.depends("tier_id")
    def _compute_tier_benefits(self):
        for member in self:
            member.tier_benefits = member.tier_id._benefits_text() if member.tier_id else False

    def _compute_points(self):
        Ledger = self.env["auto_crm.loyalty.ledger"].sudo()
        balances = dict(Ledger._read_group([("member_id", "in", self.ids)], ["member_id"], ["points:sum"]))
        today = fields.Date.context_today(self)
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
            key = member._origin
            member.points_balance = balances.get(key, 0)
            member.points_earned_period = earned.get(key, 0)

    @api.model
    def _group_expand_tiers(self, tiers, domain):
        programs = self.env["auto_crm.loyalty.program"].search([])
        return tiers | self.env["auto_crm.loyalty.tier"].search([("program_id", "in", programs.ids)])

    # ------------------------------------------------------------------ CRUD
    @api.model_create_multi
    def create(self, vals_list):
        Program = self.env["auto_crm.loyalty.program"]
        for vals in vals_list:
            if vals.get("card_number", "/") == "/":
                program = Program.browse(vals.get("program_id")).sudo()
                company = program.company_id or self.env.company
                vals["card_number"] = self._auto_crm_next_number("auto_crm.loyalty.member", company)
        members = super().create(vals_list)
        members._set_starting_tier()
        return members

    def write(self, vals):
        if ("partner_id" in vals or "program_id" in vals) and self.sudo().ledger_ids:
            raise UserError(
                _(
                    "Customer: a member with points cannot be moved to another customer or programme; "
                    "enrol the other customer instead."
                )
            )
        return super().write(vals)

    @api.ondelete(at_uninstall=False)
    def _unlink_except_ledger(self):
        if self.sudo().ledger_ids:
            raise UserError(_("Member Card: a member with points history is archived, never deleted."))

    def _set_starting_tier(self):
        today = fields.Date.context_today(self)
        for program, members in self.sudo().grouped("program_id").items():
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
    def _get_or_enroll(self, partner, program):
        member = (
            self.sudo()
            .with_context(active_test=False)
            .search([("partner_id", "=", partner.id), ("program_id", "=", program.id)], limit=1)
        )
        if not member and program.auto_enroll:
            member = self.sudo().create({"partner_id": partner.id, "program_id": program.id})
        return member

    # ------------------------------------------------------------------ posting
    def _lock_balances(self):
        """Lock the members' rows (so two postings for one member queue up) and return their balances."""
        if not self:
            return {}
        self.env["auto_crm.loyalty.ledger"].flush_model()
        self.env.cr.execute(
            SQL("SELECT id FROM auto_crm_loyalty_member WHERE id = ANY(%s) ORDER BY id FOR UPDATE", list(self.ids))
        )
        self.env.cr.execute(
            SQL(
                "SELECT member_id, COALESCE(SUM(points), 0) FROM auto_crm_loyalty_ledger "
                "WHERE member_id = ANY(%s) GROUP BY member_id",
                list(self.ids),
            )
        )
        balances = dict.fromkeys(self.ids, 0)
        balances.update(dict(self.env.cr.fetchall()))
        return balances

    def _post(self, vals_list):
        """Post ledger entries for these members, refusing any that would take a balance below zero."""
        members = self.browse({vals["member_id"] for vals in vals_list})
        balances = members._lock_balances()
        for vals in vals_list:
            balances[vals["member_id"]] += vals["points"]
            if balances[vals["member_id"]] < 0:
                member = self.browse(vals["member_id"]).sudo()
                raise UserError(
                    _(
                        "Points: %(member)s has %(balance)s points; %(points)s cannot be taken. A balance never "
                        "goes below zero.",
                        member=member.display_name,
                        balance=balances[vals["member_id"]] - vals["points"],
                        points=-vals["points"],
                    )
                )
        entries = self.env["auto_crm.loyalty.ledger"].sudo().with_context(auto_crm_loyalty_post=True).create(vals_list)
        # Balances and the visits' point figures are computed from the ledger, not stored.
        members.invalidate_recordset(["points_balance", "points_earned_period"])
        self.env["auto_crm.service.visit"].invalidate_model(
            [
                "loyalty_points_balance",
                "loyalty_points_redeemed",
                "loyalty_redeemed_value",
                "loyalty_points_earned",
                "amount_due",
                "is_settled",
            ]
        )
        self.env["auto_crm.loyalty.ledger"].invalidate_model(["is_reversed"])
        return entries

    def _post_reversals(self, entries, reason):
        entries = entries.sudo()
        return self._post(
            [
                {
                    "member_id": entry.member_id.id,
                    "kind": entry.kind,
                    "points": -entry.points,
                    "amount": -entry.amount,
                    "visit_id": entry.visit_id.id,
                    "reversal_of_id": entry.id,
                    "reason": reason,
                }
                for entry in entries
            ]
        )

    def _redeem(self, points, visit=None, reason=None):
        """Redeem points (against a visit when given). Refused clearly above the balance.
        Private: callers check the user's rights (see the visit's ``_loyalty_redeem``)."""
        self.ensure_one()
        if points <= 0:
            raise UserError(_("Points: redeem at least one point."))
        program = self.sudo().program_id
        return self._post(
            [
                {
                    "member_id": self.id,
                    "kind": "redeem",
                    "points": -points,
                    "amount": points * program.point_value,
                    "visit_id": visit.id if visit else False,
                    "reason": reason,
                }
            ]
        )

    def action_adjust(self, points, reason):
        self.ensure_one()
        if not self.env.user.has_group("auto_crm.group_manager"):
            raise UserError(_("Points: only after-sales managers adjust points by hand."))
        # The manager's own rights on this member (its store) decide, not the ledger's sudo.
        self.check_access("write")
        if not (reason or "").strip():
            raise UserError(_("Reason: say why the points of %s are adjusted.", self.display_name))
        if not points:
            raise UserError(_("Points: an adjustment moves at least one point."))
        return self._post([{"member_id": self.id, "kind": "adjust", "points": points, "reason": reason.strip()}])

    # ------------------------------------------------------------------ visits
    @api.model
    def _earn_for_visits(self, visits):
        """Delivered visits earn points once per delivery."""
        visits = visits.sudo().filtered(
            lambda v: v.partner_id and v.amount_paid > 0 and v.payment_method not in UNPAID_METHODS
        )
        if not visits:
            return self.env["auto_crm.loyalty.ledger"]
        Ledger = self.env["auto_crm.loyalty.ledger"].sudo()
        earns = Ledger.search([("visit_id", "in", visits.ids), ("kind", "=", "earn")])
        vals_list = []
        for visit in visits:
            program = self.env["auto_crm.loyalty.program"]._for_company(visit.company_id)
            if not program:
                continue
            points = math.floor(visit.amount_paid * program.earn_rate + 1e-9)
            visit_earns = earns.filtered(lambda e, v=visit: e.visit_id == v)
            if points <= 0 or sum(visit_earns.mapped("points")) > 0:
                # Nothing to earn, or this delivery is already rewarded and not reversed.
                continue
            member = self._get_or_enroll(visit.partner_id, program)
            if not member or not member.active:
                continue
            vals_list.append(
                {
                    "member_id": member.id,
                    "kind": "earn",
                    "points": points,
                    "amount": visit.amount_paid,
                    "visit_id": visit.id,
                    "visit_seq": len(visit_earns.filtered(lambda e: not e.reversal_of_id)) + 1,
                    "reason": _("Visit %s delivered", visit.name),
                }
            )
        if not vals_list:
            return Ledger
        entries = self._post(vals_list)
        entries.member_id._evaluate_tiers(upgrade_only=True)
        return entries

    @api.model
    def _reverse_for_visits(self, visits, kinds, reason):
        """Reverse the visits' entries of these kinds that are not reversed yet."""
        Ledger = self.env["auto_crm.loyalty.ledger"].sudo()
        entries = Ledger.search([("visit_id", "in", visits.ids), ("kind", "in", kinds), ("reversal_of_id", "=", False)])
        open_entries = entries - Ledger.search([("reversal_of_id", "in", entries.ids)]).reversal_of_id
        if not open_entries:
            return Ledger
        return self.browse()._post_reversals(open_entries, reason)

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
        today = fields.Date.context_today(self)
        self.env.flush_all()
        History = self.env["auto_crm.loyalty.tier.history"].sudo()
        basis_labels = dict(self.env["auto_crm.loyalty.program"]._fields["tier_basis"]._description_selection(self.env))
        changed = 0
        for program, members in self.sudo().grouped("program_id").items():
            tiers = program.tier_ids.sorted("threshold")
            if not tiers:
                continue
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
    def _expire_points(self, today=None):
        """Expire points older than the programme allows, oldest first, in one statement per programme:
        expiring = points earned before the cut-off minus everything taken since the start (redeemed,
        expired, reversed, negative adjustments), never more than the balance. Safe to run twice."""
        today = today or fields.Date.context_today(self)
        self.env.flush_all()
        posted = 0
        for program in self.env["auto_crm.loyalty.program"].sudo().search([("expiry_months", ">", 0)]):
            # One programme's failure is recorded on it and does not stop the others.
            try:
                with self.env.cr.savepoint():
                    cutoff = today - relativedelta(months=program.expiry_months)
                    self.env.cr.execute(
                        SQL(
                            """
                            INSERT INTO auto_crm_loyalty_ledger
                                (member_id, partner_id, program_id, company_id, date, kind, points, reason, user_id,
                                 create_uid, create_date, write_uid, write_date)
                            SELECT m.id, m.partner_id, m.program_id, m.company_id, %(today)s, 'expire', -t.expiring,
                                   %(reason)s, %(uid)s, %(uid)s, NOW() AT TIME ZONE 'UTC', %(uid)s, NOW() AT TIME ZONE 'UTC'
                              FROM (
                                SELECT member_id,
                                       LEAST(
                                         COALESCE(SUM(points) FILTER (WHERE points > 0 AND date < %(cutoff)s), 0)
                                           + COALESCE(SUM(points) FILTER (WHERE points < 0), 0),
                                         SUM(points)
                                       ) AS expiring
                                  FROM auto_crm_loyalty_ledger
                                 WHERE program_id = %(program)s
                                 GROUP BY member_id
                              ) t
                              JOIN auto_crm_loyalty_member m ON m.id = t.member_id
                             WHERE t.expiring > 0
                            ON CONFLICT DO NOTHING
                            """,
                            today=today,
                            cutoff=cutoff,
                            program=program.id,
                            uid=self.env.uid,
                            reason=_("Points earned before %s expired", cutoff),
                        )
                    )
                    posted += self.env.cr.rowcount
            except Exception as error:  # any failure of one store is reported, not raised
                _logger.warning("Loyalty points expiry failed for programme %s: %s", program.id, error)
                program.segment_last_error = _("Points expiry: %s", error)
        self.env["auto_crm.loyalty.ledger"].invalidate_model()
        self.invalidate_model(["points_balance"])
        return posted

    @api.model
    def _cron_loyalty_nightly(self):
        """Expire points, then evaluate every member's tier, in batches; one bad batch never stops the rest."""
        # Each programme expires in its own savepoint (see _expire_points).
        self._expire_points()
        member_ids = self.sudo().search([]).ids
        done = 0
        for start in range(0, len(member_ids), BATCH_SIZE):
            batch = self.sudo().browse(member_ids[start : start + BATCH_SIZE])
            try:
                with self.env.cr.savepoint():
                    batch._evaluate_tiers()
            except Exception as error:
                _logger.warning(
                    "Loyalty tier evaluation failed for members %s..%s: %s", batch[:1].id, batch[-1:].id, error
                )
                self.env["auto_crm.loyalty.program"].sudo().search([]).write(
                    {"segment_last_error": _("Tier evaluation: %s", error)}
                )
            done += len(batch)
            self.env["ir.cron"]._notify_progress(done=done, remaining=len(member_ids) - done)
        return True

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
