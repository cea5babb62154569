import math

from dateutil.relativedelta import relativedelta

from odoo import _, api, fields, models
from odoo.exceptions import UserError
from odoo.tools import SQL
from odoo.tools.sql import create_index

from .auto_crm_service_visit import UNPAID_METHODS

ENTRY_KINDS = [
    ("earn", "Earned"),
    ("redeem", "Redeemed"),
    ("expire", "Expired"),
    ("adjust", "Adjustment"),
]


class AutoCrmLoyaltyLedger(models.Model):
    """Append-only points ledger: a member's balance is the sum of its entries.

    Every posting happens here (``_post_earn``, ``_post_reversal``, ``_post_redeem``, ``_post_adjust``,
    ``_post_expiry``), after the caller checked the user's rights: the members' rows are locked, their
    stored balances checked, the entries created and the balances moved by the entries' points, in the
    same transaction; the member then re-evaluates its tier after earnings. The visits' figures follow
    the entries and the balances by dependency.

    Concurrency (Odoo runs REPEATABLE READ): every posting UPDATEs its members' rows. Of two transactions
    posting for one member at once, the second to lock the row gets a serialization failure once the
    first commits (PostgreSQL never hands it the stale balance of its snapshot); Odoo's RPC layer retries
    it, and the retry sees the first posting: a redemption the balance no longer covers is refused.

    Nothing posted is ever changed or deleted. A mistake is corrected by a reversing entry: the same
    kind, the opposite points, ``reversal_of_id`` pointing at the entry it cancels. Database
    indexes make "exactly once" hold even for concurrent transactions:

    * an entry is reversed at most once (unique ``reversal_of_id``);
    * a visit's n-th delivery earns at most once (unique ``visit_id, visit_seq`` among earnings);
    * a member's points expire at most once a day (unique ``member_id, date`` among expiries).
    """

    _name = "auto_crm.loyalty.ledger"
    _description = "Loyalty Points Ledger Entry"
    _inherit = ["auto_crm.owned.mixin"]
    #: Fields a person writes (auto_crm.owned.mixin); every other stored field is the add-on's.
    _user_fields = ()
    _order = "date desc, id desc"
    _check_company_auto = True

    member_id = fields.Many2one(
        "auto_crm.loyalty.member", required=True, ondelete="restrict", index=True, readonly=True
    )
    partner_id = fields.Many2one(related="member_id.partner_id", store=True, string="Customer", index=True)
    program_id = fields.Many2one(related="member_id.program_id", store=True, string="Programme")
    company_id = fields.Many2one(
        "res.company",
        string="Store",
        required=True,
        index=True,
        readonly=True,
        help="The store where the entry happened: the visit's store for earnings and redemptions, the "
        "member's store otherwise. In a group programme a member's lines come from every store of the group.",
    )
    transfer_of_id = fields.Many2one(
        "auto_crm.loyalty.ledger",
        string="Transferred From",
        readonly=True,
        index="btree_not_null",
        ondelete="restrict",
        help="For the points a customer brought from another store's programme: the entry that took them there.",
    )
    currency_id = fields.Many2one(related="company_id.currency_id")
    date = fields.Date(
        required=True, default=lambda self: self.env.company._auto_crm_today(), readonly=True, index=True
    )
    kind = fields.Selection(ENTRY_KINDS, required=True, readonly=True, index=True)
    points = fields.Integer(required=True, readonly=True, aggregator="sum")
    amount = fields.Monetary(
        readonly=True,
        help="Earned: the money paid the points were earned on. Redeemed: what the points were worth. "
        "A reversal carries the opposite amount.",
    )
    visit_id = fields.Many2one(
        "auto_crm.service.visit",
        string="Service Visit",
        readonly=True,
        index=True,
        ondelete="restrict",
        check_company=True,
    )
    visit_seq = fields.Integer(
        string="Delivery Number",
        readonly=True,
        help="For earnings: the how-many-th delivery of the visit this entry rewards.",
    )
    reversal_of_id = fields.Many2one(
        "auto_crm.loyalty.ledger", string="Reverses", readonly=True, index=True, ondelete="restrict"
    )
    reversed_by_ids = fields.One2many("auto_crm.loyalty.ledger", "reversal_of_id")
    is_reversed = fields.Boolean(compute="_compute_is_reversed", string="Reversed", compute_sudo=True)
    reason = fields.Char(readonly=True)
    user_id = fields.Many2one("res.users", string="Posted By", default=lambda self: self.env.user, readonly=True)

    _sql_constraints = [
        ("auto_crm_loyalty_ledger_points_nonzero", "CHECK(points <> 0)", "Points: an entry moves at least one point."),
        (
            "auto_crm_loyalty_ledger_sign",
            "CHECK(kind = 'adjust'"
            " OR (reversal_of_id IS NULL"
            " AND ((kind = 'earn' AND points > 0) OR (kind IN ('redeem', 'expire') AND points < 0)))"
            " OR (reversal_of_id IS NOT NULL"
            " AND ((kind = 'earn' AND points < 0) OR (kind IN ('redeem', 'expire') AND points > 0))))",
            "Points: earnings are positive, redemptions and expiries negative, reversals the opposite.",
        ),
        (
            "auto_crm_loyalty_ledger_reversal_uniq",
            "unique(reversal_of_id)",
            "Points: an entry can be reversed only once.",
        ),
    ]

    def init(self):
        # A member's statement (the member form's ledger) and the ledger list, in their order.
        create_index(
            self.env.cr, "auto_crm_loyalty_ledger_member_date_idx", self._table, ["member_id", "date DESC", "id DESC"]
        )
        create_index(self.env.cr, "auto_crm_loyalty_ledger_date_idx", self._table, ["date DESC", "id DESC"])
        cr = self.env.cr
        cr.execute(
            "CREATE UNIQUE INDEX IF NOT EXISTS auto_crm_loyalty_ledger_earn_once "
            "ON auto_crm_loyalty_ledger (visit_id, visit_seq) WHERE kind = 'earn' AND reversal_of_id IS NULL"
        )
        cr.execute(
            "CREATE UNIQUE INDEX IF NOT EXISTS auto_crm_loyalty_ledger_expire_once "
            "ON auto_crm_loyalty_ledger (member_id, date) WHERE kind = 'expire' AND reversal_of_id IS NULL"
        )

    @api.depends("reversed_by_ids")
    def _compute_is_reversed(self):
        for entry in self:
            entry.is_reversed = bool(entry.reversed_by_ids)

    @api.depends("kind", "points", "member_id")
    def _compute_display_name(self):
        kinds = dict(self._fields["kind"]._description_selection(self.env))
        for entry in self:
            entry.display_name = (
                f"{entry.member_id.card_number or ''} {kinds.get(entry.kind, '')} {entry.points:+d}".strip()
            )

    @api.model_create_multi
    def create(self, vals_list):
        if not self.env.su and not self.env.context.get("auto_crm_loyalty_post"):
            raise UserError(
                _(
                    "Points Ledger: entries are posted by the programme (visits, redemptions, expiry, a manager's "
                    "adjustment with a reason), not created by hand."
                )
            )
        return super().create(vals_list)

    # Append-only: no super() on purpose, nothing posted is ever changed.
    def write(self, vals):  # pylint: disable=method-required-super
        raise UserError(_("Points Ledger: posted entries are never changed; correct a mistake with a reversing entry."))

    @api.ondelete(at_uninstall=False)
    def _unlink_never(self):
        raise UserError(_("Points Ledger: posted entries are never deleted; correct a mistake with a reversing entry."))

    def action_reverse(self):
        """A manager reverses entries (a wrong adjustment, say) with a reversing entry each. Returns an
        action, never the entries (a recordset cannot travel over XML-RPC)."""
        if not self.env.user.has_group("auto_crm.group_manager"):
            raise UserError(_("Points Ledger: only after-sales managers reverse entries."))
        for entry in self:
            if entry.reversal_of_id or entry.is_reversed:
                raise UserError(_("Points Ledger: %s is a reversal or already reversed.", entry.display_name))
        self._reverse(_("Reversed by %s", self.env.user.name))
        return {"type": "ir.actions.client", "tag": "soft_reload"}

    # ------------------------------------------------------------------ posting
    @api.model
    def _lock_balances(self, members):
        """Lock the members' rows, in id order, and return their stored balances {member id: points}.

        The lock is the conflict: when another transaction changed one of these rows (posted for the
        member) after this transaction's snapshot, PostgreSQL refuses the lock with a serialization
        failure instead of returning a stale balance, and the RPC layer retries the whole request."""
        if not members:
            return {}
        self.env.cr.execute(
            SQL(
                "SELECT id, points_balance FROM auto_crm_loyalty_member WHERE id = ANY(%s) ORDER BY id FOR UPDATE",
                list(members.ids),
            )
        )
        return dict(self.env.cr.fetchall())

    @api.model
    def _post(self, vals_list):
        """Post entries and move the members' stored balances by their points, in this transaction;
        refuse, writing nothing, any entry that takes points a member does not have."""
        Member = self.env["auto_crm.loyalty.member"]
        members = Member.browse(dict.fromkeys(vals["member_id"] for vals in vals_list))
        balances = self._lock_balances(members)
        vals_list = [self._with_store(vals) for vals in vals_list]
        for vals in vals_list:
            balance = balances[vals["member_id"]]
            balances[vals["member_id"]] = balance + vals["points"]
            # Taking is refused below zero; giving never is (a member overdrawn before 18.0.1.1.0 can be
            # given points back).
            if vals["points"] < 0 and balance + vals["points"] < 0:
                raise UserError(
                    _(
                        "Points: %(member)s has %(balance)s points; %(points)s cannot be taken. A balance never "
                        "goes below zero.",
                        member=Member.browse(vals["member_id"]).sudo().display_name,
                        balance=balance,
                        points=-vals["points"],
                    )
                )
        # The visits' figures and is_reversed depend on the entries: creating them refreshes the cache.
        entries = self.sudo().with_context(auto_crm_loyalty_post=True).create(vals_list)
        moves = {}
        for vals in vals_list:
            moves[vals["member_id"]] = moves.get(vals["member_id"], 0) + vals["points"]
        self.env.cr.execute(
            SQL(
                "UPDATE auto_crm_loyalty_member m SET points_balance = m.points_balance + d.points "
                "FROM unnest(%s::int[], %s::int[]) AS d(id, points) WHERE m.id = d.id "
                "RETURNING m.id, m.points_balance",
                list(moves),
                list(moves.values()),
            )
        )
        # Written past the ORM: put the new balances in the cache and tell what depends on them (the
        # visits' figures) that they changed.
        stored = dict(self.env.cr.fetchall())
        self.env.cache.update(members, Member._fields["points_balance"], [stored[mid] for mid in members.ids])
        members.modified(["points_balance"])
        return entries

    @api.model
    def _with_store(self, vals):
        """``vals`` with the store where the entry happens: given, else the visit's, else the member's."""
        if vals.get("company_id"):
            return vals
        visit = self.env["auto_crm.service.visit"].browse(vals.get("visit_id")).sudo()
        member = self.env["auto_crm.loyalty.member"].browse(vals["member_id"]).sudo()
        return dict(vals, company_id=(visit.company_id or member.company_id).id)

    def _reverse(self, reason):
        """Post a reversing entry for each of these entries: the same kind, the opposite points and amount."""
        return self._post(
            [
                {
                    "member_id": entry.member_id.id,
                    "kind": entry.kind,
                    "points": -entry.points,
                    "amount": -entry.amount,
                    "visit_id": entry.visit_id.id,
                    "company_id": entry.company_id.id,
                    "reversal_of_id": entry.id,
                    "reason": reason,
                }
                for entry in self.sudo()
            ]
        )

    @api.model
    def _post_earn(self, visits):
        """Delivered visits earn points on the money paid, once per delivery; a customer who is not a
        member yet is enrolled where the programme says so, and earning members move up a tier at once."""
        visits = visits.sudo().filtered(
            lambda v: v.partner_id and v.amount_paid > 0 and v.payment_method not in UNPAID_METHODS
        )
        if not visits:
            return self.browse()
        # A store's own programme, or its group's: points earned at any store of a group land on one member.
        programs = self.env["auto_crm.loyalty.program"]._programs_for_companies(visits.company_id)
        due = []  # (visit, programme, points, delivery number)
        for visit in visits:
            program = programs.get(visit.company_id)
            if not program:
                continue
            points = math.floor(visit.amount_paid * program.earn_rate + 1e-9)
            earns = visit.loyalty_ledger_ids.filtered(lambda e: e.kind == "earn")
            if points <= 0 or sum(earns.mapped("points")) > 0:
                # Nothing to earn, or this delivery is already rewarded and not reversed.
                continue
            due.append((visit, program, points, len(earns.filtered(lambda e: not e.reversal_of_id)) + 1))
        members = self.env["auto_crm.loyalty.member"]._get_or_enroll(
            [(visit.partner_id, program) for visit, program, _points, _seq in due]
        )
        vals_list = []
        for visit, program, points, seq in due:
            member = members.get((visit.partner_id.id, program.id))
            if not member or not member.active:
                continue
            vals_list.append(
                {
                    "member_id": member.id,
                    "kind": "earn",
                    "points": points,
                    "amount": visit.amount_paid,
                    "visit_id": visit.id,
                    "visit_seq": seq,
                    "reason": _("Visit %s delivered", visit.name),
                }
            )
        if not vals_list:
            return self.browse()
        entries = self._post(vals_list)
        entries.member_id._evaluate_tiers(upgrade_only=True)
        return entries

    @api.model
    def _post_reversal(self, visits, kinds, reason):
        """Reverse the visits' entries of these kinds that are not reversed yet."""
        entries = visits.sudo().loyalty_ledger_ids.filtered(
            lambda e: e.kind in kinds and not e.reversal_of_id and not e.reversed_by_ids
        )
        if not entries:
            return self.browse()
        return entries._reverse(reason)

    @api.model
    def _post_redeem(self, member, points, visit=None, reason=None):
        """Redeem a member's points (against a visit when given). Refused clearly above the balance.
        Private: callers check the user's rights (see the visit's ``_loyalty_redeem``)."""
        member.ensure_one()
        if points <= 0:
            raise UserError(_("Points: redeem at least one point."))
        return self._post(
            [
                {
                    "member_id": member.id,
                    "kind": "redeem",
                    "points": -points,
                    "amount": points * member.sudo().program_id.point_value,
                    "visit_id": visit.id if visit else False,
                    "reason": reason,
                }
            ]
        )

    @api.model
    def _post_adjust(self, member, points, reason):
        """A manager's adjustment, with its reason. Private: the member's ``action_adjust`` checks the rights."""
        member.ensure_one()
        if not (reason or "").strip():
            raise UserError(_("Reason: say why the points of %s are adjusted.", member.display_name))
        if not points:
            raise UserError(_("Points: an adjustment moves at least one point."))
        # At a store of a group programme, the adjustment is that store's; else the member's store.
        store = self.env.company
        if store not in member.sudo().program_id._covered_companies():
            store = member.sudo().company_id
        return self._post(
            [
                {
                    "member_id": member.id,
                    "kind": "adjust",
                    "points": points,
                    "reason": reason.strip(),
                    "company_id": store.id,
                }
            ]
        )

    @api.model
    def _post_expiry(self, today=None):
        """Expire points older than the programme allows, in every programme (see ``_post_expiry_program``).
        Safe to run twice. The nightly job runs the programmes one by one through the job runner."""
        self.env.flush_all()
        posted = sum(
            self._post_expiry_program(program, today or program.company_id._auto_crm_today())
            for program in self._expiring_programs()
        )
        return posted

    @api.model
    def _expiring_programs(self):
        return self.env["auto_crm.loyalty.program"].sudo().search([("expiry_months", ">", 0)])

    @api.model
    def _post_expiry_program(self, program, today):
        """Expire the points of one programme, oldest first, in one statement: expiring = points earned
        before the cut-off minus everything taken since the start (redeemed, expired, reversed, negative
        adjustments), never more than the balance; the members' stored balances move in the same
        statement. Returns the number of entries posted."""
        # The members who may lose points are locked first: a posting committed meanwhile for one of
        # them is a serialization failure (the transaction is retried), never a stale balance.
        self.env.cr.execute(
            SQL(
                "SELECT id FROM auto_crm_loyalty_member WHERE program_id = %s AND points_balance > 0 "
                "ORDER BY id FOR UPDATE",
                program.id,
            )
        )
        cutoff = today - relativedelta(months=program.expiry_months)
        self.env.cr.execute(
            SQL(
                """
                WITH expired AS (
                INSERT INTO auto_crm_loyalty_ledger
                    (member_id, partner_id, program_id, company_id, date, kind, points, reason, user_id,
                     create_uid, create_date, write_uid, write_date)
                SELECT m.id, m.partner_id, m.program_id, m.company_id, %(today)s, 'expire', -t.expiring,
                       %(reason)s, %(uid)s,
                       %(uid)s, NOW() AT TIME ZONE 'UTC', %(uid)s, NOW() AT TIME ZONE 'UTC'
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
                RETURNING member_id, points
                )
                UPDATE auto_crm_loyalty_member m
                   SET points_balance = m.points_balance + expired.points
                  FROM expired
                 WHERE m.id = expired.member_id
                RETURNING m.id
                """,
                today=today,
                cutoff=cutoff,
                program=program.id,
                uid=self.env.uid,
                reason=_("Points earned before %s expired", cutoff),
            )
        )
        expired = [row[0] for row in self.env.cr.fetchall()]
        # Inserted in SQL, past the ORM: what is cached of the entries and the members' figures is stale.
        self.invalidate_model()
        Member = self.env["auto_crm.loyalty.member"]
        Member.invalidate_model(["ledger_ids", "points_balance", "points_earned_period"])
        Member.browse(expired).modified(["points_balance"])
        return len(expired)
