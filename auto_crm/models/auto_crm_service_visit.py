import subprocess
from datetime import datetime, time, timedelta

import pytz
from dateutil.relativedelta import relativedelta

from odoo import _, api, fields, models
from odoo.exceptions import UserError, ValidationError
from odoo.osv import expression
from odoo.tools import SQL, float_compare
from odoo.tools.misc import (
    babel_locale_parse,
    format_amount,
    format_date,
    format_datetime,
    formatLang,
    posix_to_ldml,
)
from odoo.tools.sql import create_index

from ..lib.workflow import VISIT_INITIAL, VISIT_TRANSITIONS
from .auto_crm_vehicle import MAX_KM
from .input_limits import check_vals

#: The six steps of a service visit, in order, then the cancelled state.
STATES = [
    ("appointment", "Appointment"),
    ("reception", "Reception"),
    ("repair", "Repair"),
    ("inspection", "Inspection"),
    ("delivery", "Settlement & Delivery"),
    ("followup", "Follow-up"),
    ("cancel", "Cancelled"),
]
STEPS = [code for code, _label in STATES if code != "cancel"]
#: Stages at which points can still be redeemed against a visit.
REDEEMABLE_STATES = ("appointment", "reception", "repair", "inspection", "delivery")

#: The date field stamped when a visit enters each state.
STATE_DATES = {
    "reception": "date_reception",
    "repair": "date_repair",
    "inspection": "date_inspection",
    "delivery": "date_settlement",
    "followup": "date_delivered",
    "cancel": "date_cancel",
}

VISIT_TYPES = [
    ("maintenance", "Maintenance"),
    ("repair", "Repair"),
    ("warranty", "Warranty"),
    ("accident", "Accident"),
    ("recall", "Recall"),
    ("inspection", "Inspection"),
]
PAYMENT_METHODS = [
    ("cash", "Cash"),
    ("card", "Bank card"),
    ("mobile", "Mobile payment"),
    ("transfer", "Bank transfer"),
    ("insurance", "Insurance company"),
    ("warranty", "Manufacturer warranty"),
    ("internal", "Internal"),
]
#: Payment methods that are not the customer's money: such visits earn no points.
UNPAID_METHODS = ("warranty", "internal")
#: Plausible range of the numbers typed on a visit.
VISIT_RANGES = {"mileage_in": (0, MAX_KM), "amount_paid": (0, None)}
#: The money of a visit: frozen once it is delivered (follow-up); Re-open Settlement corrects it.
MONEY_FIELDS = ("line_ids", "payment_method", "amount_paid", "amount_labour", "amount_parts", "amount_total")
#: Computed from the lines: nobody writes them.
COMPUTED_AMOUNTS = ("amount_labour", "amount_parts", "amount_total")
#: Appointments and promised deliveries lie from this year to this many years ahead.
FIRST_VISIT_YEAR = 2000
PLANNING_YEARS_AHEAD = 2
#: The workshop board (its default filter "On the Board") shows the open visits and those delivered
#: in the store's last this many days; the older history is one click away (the Delivered filter).
OPEN_STATES = ("appointment", "reception", "repair", "inspection", "delivery")
BOARD_DELIVERED_DAYS = 7
#: The promised delivery as a commitment (the workshop board's card colour, progress bar and "Late"
#: filter): an open visit with a promise is on time, at risk (within the store's margin before it,
#: ``res.company.promise_risk_minutes``) or late (past it); delivered and cancelled visits are closed.
LATENESS = [
    ("no_promise", "No Promise"),
    ("on_time", "On Time"),
    ("at_risk", "At Risk of Delay"),
    ("late", "Late"),
    ("closed", "Closed"),
]


_PATCHED_QT = []


def _wkhtmltopdf_patched_qt():
    """Whether the wkhtmltopdf Odoo runs is built with its patched Qt (headers and footers work); asked once."""
    if not _PATCHED_QT:
        try:
            from odoo.addons.base.models.ir_actions_report import _get_wkhtmltopdf_bin

            out = subprocess.run([_get_wkhtmltopdf_bin(), "--version"], capture_output=True, timeout=30, check=False)
            _PATCHED_QT.append(b"patched qt" in out.stdout.lower())
        except (OSError, subprocess.SubprocessError):
            _PATCHED_QT.append(False)
    return _PATCHED_QT[0]


class AutoCrmServiceVisit(models.Model):
    _name = "auto_crm.service.visit"
    _description = "Service Visit"
    #: Fields a person writes (auto_crm.owned.mixin); every other stored field is the add-on's.
    _user_fields = {
        "company_id",
        "state",
        "partner_id",
        "vehicle_id",
        "advisor_id",
        "technician_id",
        "visit_type",
        "mileage_in",
        "customer_request",
        "work_content",
        "inspection_note",
        "cancel_reason",
        "date_appointment",
        "date_promised",
        "line_ids",
        "payment_method",
        "amount_paid",
        "kanban_state",
        "color",
    }
    _inherit = [
        "auto_crm.owned.mixin",
        "mail.thread",
        "mail.activity.mixin",
        "auto_crm.sequence.mixin",
        "auto_crm.workflow.mixin",
    ]
    _order = "date_appointment desc, id desc"
    _check_company_auto = True
    _rec_names_search = ["name", "vehicle_id.plate", "vehicle_id.vin", "partner_id.name"]

    _workflow_transitions = VISIT_TRANSITIONS
    _workflow_initial_states = VISIT_INITIAL
    _workflow_stamps = STATE_DATES
    _workflow_counters = {("inspection", "repair"): "inspection_failures"}
    #: Re-opened: the cancellation is undone; back from follow-up: no longer counted as delivered.
    _workflow_clear = {
        "appointment": ("date_cancel", "cancel_reason"),
        ("followup", "delivery"): ("date_delivered",),
    }
    _workflow_kanban_hidden = ("cancel",)
    _workflow_kanban_folded = ("followup", "cancel")

    name = fields.Char(
        string="Repair Order",
        required=True,
        copy=False,
        readonly=True,
        default="/",
        index="trigram",
        size=64,
        help="Repair order (work order) number from the store's own sequence.",
    )
    company_id = fields.Many2one(
        "res.company", string="Store", required=True, default=lambda self: self.env.company, index=True
    )
    currency_id = fields.Many2one(related="company_id.currency_id")
    state = fields.Selection(
        STATES,
        string="Stage",
        required=True,
        default="appointment",
        tracking=True,
        copy=False,
        group_expand="_group_expand_states",
    )
    partner_id = fields.Many2one(
        "res.partner", string="Customer", required=True, tracking=True, index=True, check_company=True
    )
    vehicle_id = fields.Many2one(
        "auto_crm.vehicle",
        required=True,
        tracking=True,
        index=True,
        check_company=True,
        domain="[('partner_id', '=?', partner_id)]",
    )
    brand_id = fields.Many2one(related="vehicle_id.brand_id", store=True, string="Brand")
    advisor_id = fields.Many2one(
        "res.users",
        string="Service Advisor",
        tracking=True,
        default=lambda self: self.env.user,
        domain="[('share', '=', False)]",
        index=True,
    )
    technician_id = fields.Many2one("res.users", tracking=True, domain="[('share', '=', False)]", index=True)
    visit_type = fields.Selection(VISIT_TYPES, required=True, default="maintenance", tracking=True)
    mileage_in = fields.Integer(string="Mileage In (km)", tracking=True)
    customer_request = fields.Text()
    work_content = fields.Text(string="Work Done")
    inspection_note = fields.Text(string="Inspection Notes")
    inspection_failures = fields.Integer(
        readonly=True, copy=False, help="Times the quality check sent the car back to repair."
    )
    cancel_reason = fields.Char(tracking=True, copy=False)

    date_appointment = fields.Datetime(string="Appointment", default=fields.Datetime.now, required=True, tracking=True)
    date_reception = fields.Datetime(string="Received", readonly=True, copy=False)
    date_repair = fields.Datetime(string="Repair Started", readonly=True, copy=False)
    date_inspection = fields.Datetime(string="Inspected", readonly=True, copy=False)
    date_settlement = fields.Datetime(string="Ready for Delivery", readonly=True, copy=False)
    date_delivered = fields.Datetime(string="Delivered", readonly=True, copy=False, index=True)
    date_cancel = fields.Datetime(string="Cancelled On", readonly=True, copy=False)
    date_promised = fields.Datetime(string="Promised Delivery")

    line_ids = fields.One2many("auto_crm.service.visit.line", "visit_id", string="Work and Parts", copy=True)
    amount_labour = fields.Monetary(compute="_compute_amounts", store=True, string="Labour")
    amount_parts = fields.Monetary(compute="_compute_amounts", store=True, string="Parts")
    amount_total = fields.Monetary(compute="_compute_amounts", store=True, string="Total", tracking=True)
    payment_method = fields.Selection(PAYMENT_METHODS, tracking=True)
    amount_paid = fields.Monetary(string="Amount Settled", tracking=True, copy=False)
    is_settled = fields.Boolean(compute="_compute_is_settled", string="Settled")
    odometer_reading_id = fields.Many2one("auto_crm.vehicle.odometer", readonly=True, copy=False)
    kanban_state = fields.Selection(
        [("normal", "In progress"), ("blocked", "Blocked"), ("done", "Ready")],
        default="normal",
        copy=False,
    )
    color = fields.Integer()
    on_board = fields.Boolean(
        string="On the Board",
        compute="_compute_on_board",
        search="_search_on_board",
        help="Open visits and the visits delivered in the store's last 7 days.",
    )
    vehicle_history_ids = fields.Many2many(
        "auto_crm.service.visit",
        compute="_compute_vehicle_history_ids",
    )

    _sql_constraints = [
        ("auto_crm_visit_name_company_uniq", "unique(name, company_id)", "Repair order numbers are unique per store."),
        ("auto_crm_visit_mileage_positive", "CHECK(mileage_in >= 0)", "Mileage In cannot be negative."),
        ("auto_crm_visit_paid_positive", "CHECK(amount_paid >= 0)", "Amount Settled cannot be negative."),
    ]

    def init(self):
        # The workshop board: a column (state) in the board's order; the list and the calendar: the
        # order alone. Delivered in the last days (the board's default filter): date_delivered's index.
        # The (state, ...) index replaces the plain state index.
        self.env.cr.execute("DROP INDEX IF EXISTS auto_crm_service_visit__state_index")
        create_index(
            self.env.cr,
            "auto_crm_service_visit_state_appointment_idx",
            self._table,
            ["state", "date_appointment DESC", "id DESC"],
        )
        create_index(
            self.env.cr, "auto_crm_service_visit_appointment_idx", self._table, ["date_appointment DESC", "id DESC"]
        )
        # The same per store (a store's advisors, the store rule): in a group of stores, a store's board
        # and lists read their own store's rows, not every store's open visits filtered afterwards
        # (measured at 685,000 visits in 20 stores: the board's SQL 2.5x faster). The store-less
        # indexes above stay for those who work across stores.
        create_index(
            self.env.cr,
            "auto_crm_service_visit_company_state_appointment_idx",
            self._table,
            ["company_id", "state", "date_appointment DESC", "id DESC"],
        )
        create_index(
            self.env.cr,
            "auto_crm_service_visit_company_appointment_idx",
            self._table,
            ["company_id", "date_appointment DESC", "id DESC"],
        )
        create_index(
            self.env.cr,
            "auto_crm_service_visit_company_delivered_idx",
            self._table,
            ["company_id", "date_delivered"],
            where="state = 'followup'",
        )
        # Visits delivered before the stamp existed (an upgrade) get it from their dates, once.
        self.env.cr.execute(
            """UPDATE auto_crm_service_visit SET delivered_on_time = (date_delivered <= date_promised)
                WHERE state = 'followup' AND delivered_on_time IS NULL
                  AND date_delivered IS NOT NULL AND date_promised IS NOT NULL"""
        )
        # The board's "Late" / "At Risk" filters: a range on the promise of the open visits.
        create_index(
            self.env.cr,
            "auto_crm_service_visit_open_promised_idx",
            self._table,
            ["date_promised", "id"],
            where="state IN ('appointment', 'reception', 'repair', 'inspection', 'delivery')",
        )

    # ------------------------------------------------------------------ computes
    @api.depends("line_ids.subtotal", "line_ids.line_type")
    def _compute_amounts(self):
        for visit in self:
            labour = sum(visit.line_ids.filtered(lambda l: l.line_type == "labour").mapped("subtotal"))
            parts = sum(visit.line_ids.filtered(lambda l: l.line_type == "part").mapped("subtotal"))
            visit.amount_labour = labour
            visit.amount_parts = parts
            visit.amount_total = labour + parts

    def _board_delivered_since(self, stores):
        """{store: the UTC moment from which a delivered visit stays on the board}: midnight of the
        store's day BOARD_DELIVERED_DAYS days ago, in the store's time zone."""
        since = {}
        for store in stores:
            day = store._auto_crm_today() - timedelta(days=BOARD_DELIVERED_DAYS)
            local = pytz.timezone(store._auto_crm_tz_name()).localize(datetime.combine(day, time.min))
            since[store] = local.astimezone(pytz.utc).replace(tzinfo=None)
        return since

    @api.depends("state", "date_delivered", "company_id")
    def _compute_on_board(self):
        since = self._board_delivered_since(self.company_id)
        for visit in self:
            cutoff = since.get(visit.company_id)
            visit.on_board = visit.state in OPEN_STATES or bool(
                visit.state == "followup" and cutoff and visit.date_delivered and visit.date_delivered >= cutoff
            )

    def _search_on_board(self, operator, value):
        """The board's default filter, on indexed columns: the open states (the (state, appointment)
        index) or delivered since the store's cut-off (date_delivered's index), per store the user
        works in."""
        if operator not in ("=", "!=") or not isinstance(value, bool):
            raise UserError(_("On the Board: search with 'is set' or 'is not set' only."))
        since = self._board_delivered_since(self.env.user.company_ids | self.env.companies)
        by_day = {}
        for store, moment in since.items():
            by_day.setdefault(moment, []).append(store.id)
        recent = expression.OR(
            [[("company_id", "in", ids), ("date_delivered", ">=", moment)] for moment, ids in by_day.items()]
        )
        domain = expression.OR([[("state", "in", OPEN_STATES)], expression.AND([[("state", "=", "followup")], recent])])
        return domain if (operator == "=") == value else ["!", *expression.normalize_domain(domain)]

    @api.depends("vehicle_id")
    def _compute_vehicle_history_ids(self):
        for visit in self:
            visit.vehicle_history_ids = visit.vehicle_id.visit_ids - visit._origin

    @api.depends("name", "vehicle_id")
    def _compute_display_name(self):
        for visit in self:
            visit.display_name = (
                f"{visit.name} - {visit.vehicle_id.plate or visit.vehicle_id.vin}" if visit.vehicle_id else visit.name
            )

    @api.onchange("vehicle_id")
    def _onchange_vehicle_id(self):
        if self.vehicle_id and self.vehicle_id.partner_id and self.vehicle_id.partner_id != self.partner_id:
            # Only a different owner: re-assigning the same customer would reset what the advisor just
            # typed in the customer's fields on this form (mobile, consent).
            self.partner_id = self.vehicle_id.partner_id
        if self.vehicle_id and not self.mileage_in:
            self.mileage_in = self.vehicle_id.odometer

    # ------------------------------------------------------------------ constraints
    @api.constrains("vehicle_id", "partner_id")
    def _check_vehicle_owner(self):
        for visit in self:
            owner = visit.vehicle_id.partner_id
            if owner and owner != visit.partner_id and visit.state not in ("followup", "cancel"):
                raise ValidationError(
                    _(
                        "Vehicle: %(vehicle)s belongs to %(owner)s, not to %(customer)s. Change the "
                        "vehicle's owner first if the car changed hands.",
                        vehicle=visit.vehicle_id.display_name,
                        owner=owner.display_name,
                        customer=visit.partner_id.display_name,
                    )
                )

    @api.constrains("date_appointment", "date_promised")
    def _check_planning_dates(self):
        now = fields.Datetime.now()
        first = datetime(FIRST_VISIT_YEAR, 1, 1)
        last = now + relativedelta(years=PLANNING_YEARS_AHEAD)
        for visit in self:
            for name in ("date_appointment", "date_promised"):
                value = visit[name]
                if value and not first <= value <= last:
                    raise ValidationError(
                        _(
                            "%(field)s: %(date)s is not a plausible date for %(visit)s; enter a date from "
                            "%(first)s to %(last)s (at most %(years)s years ahead).",
                            field=self._fields[name]._description_string(self.env),
                            date=fields.Datetime.context_timestamp(visit, value).date(),
                            visit=visit.name,
                            first=first.date(),
                            last=last.date(),
                            years=PLANNING_YEARS_AHEAD,
                        )
                    )

    @api.constrains("amount_paid", "amount_total")
    def _check_amount_paid(self, paid=None):
        """Refuse paying more than is left to pay (``paid``: the amount about to be written)."""
        for visit in self:
            rounding = visit.currency_id.rounding or 0.01
            left = visit.amount_total - visit.loyalty_redeemed_value
            amount = visit.amount_paid if paid is None else paid
            if float_compare(amount, left, precision_rounding=rounding) > 0:
                raise ValidationError(
                    _(
                        "Amount Settled: %(paid)s is more than the %(left)s left to pay on %(visit)s (total "
                        "%(total)s, of which points paid %(points)s).",
                        paid=visit._money(amount),
                        left=visit._money(left),
                        visit=visit.name,
                        total=visit._money(visit.amount_total),
                        points=visit._money(visit.loyalty_redeemed_value),
                    )
                )

    def _check_money_open(self):
        """Refuse changing the money of a delivered visit: Re-open Settlement first."""
        delivered = self.filtered(lambda v: v.state == "followup")
        if delivered:
            raise UserError(
                _(
                    "Amount Settled: %s is delivered and its settlement is closed; a manager re-opens the "
                    "settlement (Re-open Settlement) to correct its work, parts or payment.",
                    delivered[0].name,
                )
            )

    # ------------------------------------------------------------------ CRUD
    @api.model_create_multi
    def create(self, vals_list):
        check_vals(self, vals_list, VISIT_RANGES)
        for vals in vals_list:
            for fname in COMPUTED_AMOUNTS:
                if fname in vals:
                    raise UserError(self._amount_computed_message(fname))
        for vals in vals_list:
            if vals.get("name", "/") == "/":
                company = self.env["res.company"].browse(vals.get("company_id")) or self.env.company
                self._owned_fill(vals, "name", self._auto_crm_next_number("auto_crm.service.visit", company))
        return super().create(vals_list)

    def write(self, vals):
        # Only the limits of the values; the workflow's guard is the mixin's write().
        check_vals(self, [vals], VISIT_RANGES)
        for fname in COMPUTED_AMOUNTS:
            if fname in vals:
                raise UserError(self._amount_computed_message(fname))
        if any(fname in vals for fname in MONEY_FIELDS):
            self._check_money_open()
        if "date_promised" in vals:
            self._board_check_promise_open()
        if "amount_paid" in vals and "line_ids" not in vals:
            # Before writing (the constraint also runs when the lines change the total).
            self._check_amount_paid(float(vals["amount_paid"] or 0.0))
        return super().write(vals)

    def _amount_computed_message(self, fname):
        return _(
            "%s: it is the sum of the visit's work and parts lines; change the lines instead.",
            self._fields[fname].get_description(self.env)["string"],
        )

    @api.ondelete(at_uninstall=False)
    def _unlink_except_started(self):
        for visit in self:
            if visit.state != "appointment" or visit.date_reception or visit.date_delivered or visit.loyalty_ledger_ids:
                raise UserError(
                    _(
                        "Stage: %s has started; cancel it instead of deleting it, so its history is kept.",
                        visit.name,
                    )
                )

    # ------------------------------------------------------------------ workflow
    def _workflow_refused_message(self, old, new):
        return _(
            "Stage: %(visit)s cannot go from %(old)s to %(new)s. The steps are appointment, "
            "reception, repair, inspection, settlement & delivery, follow-up; none is skipped.",
            visit=self.name,
            old=self._workflow_state_label(old),
            new=self._workflow_state_label(new),
        )

    def _workflow_denied_message(self, old, new):
        if new == "cancel":
            return _("Only service advisors and managers can cancel a service visit.")
        return _("Only after-sales managers can re-open a cancelled or delivered service visit.")

    def _workflow_initial_message(self, state):
        return _(
            "Stage: a new visit starts at the appointment or at reception, not at '%s'.", dict(STATES).get(state, state)
        )

    def _workflow_check(self, old, new, vals):
        if new == "reception" and vals.get("mileage_in", self.mileage_in) <= 0:
            raise UserError(_("Mileage In: record the odometer reading of %s when the car is received.", self.name))
        if new == "reception" and not self.odometer_reading_id:
            conflict = self._odometer_conflict(vals.get("mileage_in", self.mileage_in))
            if conflict:
                raise ValidationError(conflict)
        if (old, new) == ("inspection", "repair") and not vals.get("inspection_note", self.inspection_note):
            raise UserError(_("Inspection Notes: say what failed the inspection of %s.", self.name))
        if new == "cancel" and not vals.get("cancel_reason", self.cancel_reason):
            raise UserError(_("Cancel Reason: say why %s is cancelled.", self.name))
        if new == "followup" and not self.is_settled:
            raise UserError(
                _(
                    "Amount Settled: %(visit)s cannot be delivered before it is settled: %(paid)s of "
                    "%(total)s paid, payment method %(method)s.",
                    visit=self.name,
                    paid=self._money(self.amount_paid),
                    total=self._money(self.amount_total),
                    method=dict(PAYMENT_METHODS).get(self.payment_method) or _("not set"),
                )
            )

    def _on_enter_state(self, state):
        """Side effects of entering a state, after it is written and stamped (the stamps, the
        cleared cancellation and the inspection failures are the mixin's tables above)."""
        if not self:
            return
        self._board_stamp_delivery(state)
        if state in ("reception", "followup"):
            self._post_callback_warning()
        if state == "reception":
            self._record_odometer()
        # Points follow the visit: delivered (follow-up) earns; back to settlement takes the earning
        # back; cancelled returns the points redeemed on it. Each exactly once (the ledger's indexes).
        Ledger = self.env["auto_crm.loyalty.ledger"]
        if state == "followup":
            Ledger._post_earn(self)
        elif state == "delivery":
            Ledger._post_reversal(self, ["earn"], _("Visit re-opened for settlement"))
        elif state == "cancel":
            Ledger._post_reversal(self, ["earn", "redeem"], _("Visit cancelled"))

    def _record_odometer(self):
        Odometer = self.env["auto_crm.vehicle.odometer"].sudo()
        for visit in self.filtered(lambda v: v.mileage_in and not v.odometer_reading_id):
            reading = Odometer.create(
                {
                    "vehicle_id": visit.vehicle_id.id,
                    "date": visit.company_id._auto_crm_today(visit.date_reception),
                    "value": visit.mileage_in,
                    "source": "visit",
                    "visit_id": visit.id,
                }
            )
            visit._owned_write({"odometer_reading_id": reading.id})

    def action_receive(self):
        self.write({"state": "reception"})
        return self._callback_warning_action()

    def action_start_repair(self):
        self.write({"state": "repair"})

    def action_request_inspection(self):
        self.write({"state": "inspection"})

    def action_inspection_pass(self):
        self.write({"state": "delivery"})

    def action_inspection_fail(self):
        self.write({"state": "repair"})

    def action_settle(self):
        for visit in self:
            if visit.state != "delivery":
                raise UserError(_("Stage: %s can only be settled at settlement & delivery.", visit.name))
            if not visit.payment_method:
                raise UserError(_("Payment Method: choose how %s is paid before settling it.", visit.name))
            # What points did not pay is paid now.
            visit.amount_paid = visit.amount_due

    def action_deliver(self):
        self.write({"state": "followup"})
        return self._callback_warning_action()

    def action_cancel(self):
        self.write({"state": "cancel"})

    def action_reopen(self):
        self.write({"state": "appointment"})

    def action_reopen_delivery(self):
        self.write({"state": "delivery"})

    # ------------------------------------------------------------------ workshop board: the promised time

    lateness = fields.Selection(
        LATENESS,
        string="Promise Status",
        compute="_compute_lateness",
        search="_search_lateness",
        help="Open visits with a promised delivery: on time, at risk (within the store's margin before the "
        "promise, Settings > Dealer CRM) or late (the promise has passed).",
    )
    delivered_on_time = fields.Boolean(
        string="Delivered on Time",
        readonly=True,
        copy=False,
        help="Stamped at delivery: the car was delivered at or before the promised time.",
    )
    board_phone = fields.Char(compute="_compute_board_phone", string="Customer Phone")

    @api.depends("state", "date_promised", "company_id.promise_risk_minutes")
    def _compute_lateness(self):
        now = fields.Datetime.now()
        for visit in self:
            if visit.state not in OPEN_STATES:
                visit.lateness = "closed"
            elif not visit.date_promised:
                visit.lateness = "no_promise"
            elif visit.date_promised < now:
                visit.lateness = "late"
            elif visit.date_promised <= now + timedelta(minutes=visit.company_id.promise_risk_minutes):
                visit.lateness = "at_risk"
            else:
                visit.lateness = "on_time"

    def _search_lateness(self, operator, value):
        """The board's "Late" and "At Risk" filters: ranges on the promise of the open visits (the
        partial index of open promises), with each store's margin; the same clock as the card's."""
        if operator not in ("=", "!=", "in", "not in"):
            raise UserError(_("Promise Status: search with 'is', 'is not', 'is in' or 'is not in' only."))
        values = {value} if operator in ("=", "!=") else set(value)
        unknown = values - set(dict(LATENESS))
        if unknown:
            raise UserError(_("Promise Status: %s is not a promise status.", ", ".join(map(str, sorted(unknown)))))
        if operator in ("!=", "not in"):
            # The other statuses, not a negated range (a negated range drops the visits without a promise).
            values = set(dict(LATENESS)) - values
        now = fields.Datetime.now()
        stores = self.env["res.company"].sudo().with_context(active_test=False)
        margins = stores._read_group([], ["promise_risk_minutes"], ["id:array_agg"])

        def risk(op):
            return expression.OR(
                [
                    [("company_id", "in", ids), ("date_promised", op, now + timedelta(minutes=minutes or 0))]
                    for minutes, ids in margins
                ]
            )

        is_open = [("state", "in", OPEN_STATES)]
        domains = {
            "closed": [("state", "not in", OPEN_STATES)],
            "no_promise": [*is_open, ("date_promised", "=", False)],
            "late": [*is_open, ("date_promised", "<", now)],
            "at_risk": [*is_open, ("date_promised", ">=", now), *risk("<=")],
            "on_time": [*is_open, *risk(">")],
        }
        return expression.OR([domains[status] for status in values]) if values else expression.FALSE_DOMAIN

    def _read_group_groupby(self, groupby_spec, query):
        """The promise status as SQL, so that the board's progress bar (a read_group on it) and the
        "Promise Status" grouping count in the database, as Odoo does for ``activity_state``."""
        if groupby_spec != "lateness":
            return super()._read_group_groupby(groupby_spec, query)
        self.check_field_access_rights("read", ["lateness"])
        self.flush_model(["company_id"])
        self.env["res.company"].flush_model(["promise_risk_minutes"])
        table = self._table
        store = query.left_join(table, "company_id", "res_company", "id", "promise_store")
        promised = self._field_to_sql(table, "date_promised", query)
        now = fields.Datetime.now()
        return SQL(
            """CASE WHEN %(state)s NOT IN %(open)s THEN 'closed'
                    WHEN %(promised)s IS NULL THEN 'no_promise'
                    WHEN %(promised)s < %(now)s THEN 'late'
                    WHEN %(promised)s <= %(now)s + make_interval(mins => COALESCE(%(margin)s, 0)) THEN 'at_risk'
                    ELSE 'on_time' END""",
            state=self._field_to_sql(table, "state", query),
            open=OPEN_STATES,
            promised=promised,
            now=now,
            margin=SQL.identifier(store, "promise_risk_minutes"),
        )

    @api.depends("partner_id.mobile", "partner_id.phone")
    def _compute_board_phone(self):
        for visit in self:
            visit.board_phone = visit.partner_id.mobile or visit.partner_id.phone

    def _board_stamp_delivery(self, state):
        """Delivered: on time when the car left at or before the promise (no promise: not on time, and
        out of the on-time rate). Back from delivery (Re-open Settlement): the stamp goes."""
        if state == "followup":
            on_time = self.filtered(
                lambda v: v.date_promised and v.date_delivered and v.date_delivered <= v.date_promised
            )
            (self - on_time)._owned_write({"delivered_on_time": False})
            on_time._owned_write({"delivered_on_time": True})
        else:
            self.filtered("delivered_on_time")._owned_write({"delivered_on_time": False})

    def _board_check_promise_open(self):
        """The promise of a delivered visit is the measure of its delivery: it stays as it was."""
        delivered = self.filtered(lambda v: v.state == "followup")
        if delivered:
            raise UserError(
                _(
                    "Promised Delivery: %s is delivered; the promise it was delivered against stays on record. A "
                    "manager re-opens the settlement (Re-open Settlement) to correct it.",
                    delivered[0].name,
                )
            )

    # ------------------------------------------------------------------ loyalty

    loyalty_ledger_ids = fields.One2many("auto_crm.loyalty.ledger", "visit_id", string="Points Ledger", readonly=True)
    loyalty_member_id = fields.Many2one(
        "auto_crm.loyalty.member", compute="_compute_loyalty", string="Member Card", compute_sudo=True
    )
    loyalty_tier_id = fields.Many2one(
        "auto_crm.loyalty.tier", compute="_compute_loyalty", string="Member Tier", compute_sudo=True
    )
    loyalty_benefits = fields.Char(compute="_compute_loyalty", string="Member Benefits", compute_sudo=True)
    loyalty_points_balance = fields.Integer(compute="_compute_loyalty", string="Points Available", compute_sudo=True)
    loyalty_points_redeemed = fields.Integer(
        compute="_compute_loyalty_visit", string="Points Redeemed", compute_sudo=True
    )
    loyalty_redeemed_value = fields.Monetary(
        compute="_compute_loyalty_visit", string="Paid with Points", compute_sudo=True
    )
    loyalty_points_earned = fields.Integer(compute="_compute_loyalty_visit", string="Points Earned", compute_sudo=True)
    amount_due = fields.Monetary(compute="_compute_loyalty_visit", compute_sudo=True)

    @api.depends(
        "partner_id",
        "company_id",
        "partner_id.auto_loyalty_member_ids.points_balance",
        "partner_id.auto_loyalty_member_ids.tier_id",
    )
    def _compute_loyalty(self):
        Member = self.env["auto_crm.loyalty.member"]
        # The store's own programme or its group's (a group member earns and redeems at every store).
        programs = self.env["auto_crm.loyalty.program"]._programs_for_companies(self.company_id)
        # A store without an active programme still shows its members (an archived programme's).
        bare = self.company_id.filtered(lambda c: c not in programs)
        members = Member.search(
            [
                ("partner_id", "in", self.partner_id.ids),
                "|",
                ("program_id", "in", [p.id for p in programs.values()]),
                ("company_id", "in", bare.ids),
            ]
        )
        for visit in self:
            program = programs.get(visit.company_id)
            member = members.filtered(
                lambda m, v=visit, p=program: m.partner_id == v.partner_id
                and (m.program_id == p if p else m.company_id == v.company_id)
            )[:1]
            visit.loyalty_member_id = member
            visit.loyalty_tier_id = member.tier_id
            visit.loyalty_benefits = member.tier_benefits
            visit.loyalty_points_balance = member.points_balance

    @api.depends("amount_total", "loyalty_ledger_ids.kind", "loyalty_ledger_ids.points", "loyalty_ledger_ids.amount")
    def _compute_loyalty_visit(self):
        for visit in self:
            # A reversal flips both the points and the amount of what it reverses: sums are net.
            redeemed = earned = 0
            value = 0.0
            for entry in visit.loyalty_ledger_ids:
                if entry.kind == "redeem":
                    redeemed += entry.points
                    value += entry.amount
                elif entry.kind == "earn":
                    earned += entry.points
            visit.loyalty_points_redeemed = -redeemed
            visit.loyalty_redeemed_value = value
            visit.loyalty_points_earned = earned
            visit.amount_due = max(visit.amount_total - value, 0.0)

    @api.depends("amount_paid", "amount_total", "payment_method", "currency_id", "loyalty_redeemed_value")
    def _compute_is_settled(self):
        """Settled when what was paid plus what points paid covers the total."""
        for visit in self:
            rounding = visit.currency_id.rounding or 0.01
            visit.is_settled = bool(visit.payment_method) and (
                float_compare(
                    visit.amount_paid + visit.loyalty_redeemed_value, visit.amount_total, precision_rounding=rounding
                )
                >= 0
            )

    def _loyalty_redeem(self, points):
        """Redeem points of the visit's customer against this visit."""
        self.ensure_one()
        if not self.env.user.has_group("auto_crm.group_advisor"):
            raise UserError(_("Points: only service advisors and managers redeem points against a visit."))
        self.check_access("write")
        if self.state not in REDEEMABLE_STATES:
            raise UserError(
                _("Points: points are redeemed before %s is delivered, and never on a cancelled visit.", self.name)
            )
        member = self.loyalty_member_id
        if not member:
            raise UserError(
                _("Member Card: %s is not a member of this store's programme.", self.partner_id.display_name)
            )
        if points > member.sudo().points_balance:
            raise UserError(
                _(
                    "Points: %(customer)s has %(balance)s points available (Points Available), fewer than the "
                    "%(points)s points asked.",
                    customer=self.partner_id.display_name,
                    balance=member.sudo().points_balance,
                    points=points,
                )
            )
        value = points * member.program_id.point_value
        rounding = self.currency_id.rounding or 0.01
        if float_compare(self.loyalty_redeemed_value + value, self.amount_total, precision_rounding=rounding) > 0:
            raise UserError(
                _(
                    "Points: %(points)s points are worth %(value)s, more than the %(due)s left to pay " "on %(visit)s.",
                    points=points,
                    value=self._money(value),
                    due=self._money(self.amount_due),
                    visit=self.name,
                )
            )
        return self.env["auto_crm.loyalty.ledger"]._post_redeem(
            member, points, visit=self, reason=_("Redeemed on %s", self.name)
        )

    def action_open_redeem(self):
        self.ensure_one()
        if self.currency_id.is_zero(self.amount_due):
            raise UserError(
                _("Amount Due: nothing is left to pay on %s; there is nothing to redeem points on.", self.name)
            )
        return {
            "type": "ir.actions.act_window",
            "name": _("Redeem Points"),
            "res_model": "auto_crm.loyalty.points.wizard",
            "view_mode": "form",
            "target": "new",
            "context": {
                "default_visit_id": self.id,
                "default_member_id": self.loyalty_member_id.id,
                "default_operation": "redeem",
            },
        }

    # ------------------------------------------------------------------ the desk: the customer's consent
    # The customer's mobile and callback preferences at the desk: written through to the customer (the
    # partner's own write, rights and field owners apply), and a warning when the customer will not be
    # called back after this visit, and why.
    partner_mobile = fields.Char(related="partner_id.mobile", readonly=False, string="Customer Mobile")
    partner_callback_consent = fields.Boolean(
        related="partner_id.auto_callback_consent", readonly=False, string="Customer Agrees to Callbacks"
    )
    partner_do_not_disturb = fields.Boolean(
        related="partner_id.auto_do_not_disturb", readonly=False, string="Customer Do Not Disturb"
    )
    partner_do_not_disturb_reason = fields.Char(
        related="partner_id.auto_do_not_disturb_reason", readonly=False, string="Customer Do Not Disturb Reason"
    )
    callback_warning = fields.Char(
        compute="_compute_callback_warning",
        help="Why the customer will not be called back after this visit (empty when they will).",
    )

    @api.depends(
        "state",
        "company_id",
        "partner_id.phone",
        "partner_mobile",
        "partner_callback_consent",
        "partner_do_not_disturb",
        "partner_do_not_disturb_reason",
    )
    def _compute_callback_warning(self):
        for visit in self:
            reasons = visit._callback_blockers() if visit.state != "cancel" else []
            if not reasons:
                visit.callback_warning = False
                continue
            text = reasons[0]
            for reason in reasons[1:]:
                text = _("%(reasons)s; %(reason)s", reasons=text, reason=reason)
            visit.callback_warning = _(
                "%(customer)s will not be called back after this visit: %(reasons)s.",
                customer=visit.partner_id.display_name,
                reasons=text,
            )

    def _callback_blockers(self):
        """The reasons the callback engine will not call this visit's customer after delivery: the
        customer's (``res.partner._auto_crm_callback_blockers``, the engine's consent and do-not-disturb
        rule) and the store's (no active rule calls after a delivered visit)."""
        self.ensure_one()
        if not self.partner_id:
            return []
        # The visit's own copies of the customer's fields: the form shows the warning while they are typed.
        reasons = self.partner_id._auto_crm_callback_blocker_texts(
            self.partner_do_not_disturb,
            self.partner_do_not_disturb_reason,
            self.partner_callback_consent,
            self.partner_mobile or self.partner_id.phone,
        )
        rules = (
            self.env["auto_crm.callback.rule"]
            .sudo()
            .search_count(
                [("trigger", "=", "service_delivered"), ("company_id", "in", [False, self.company_id.id])], limit=1
            )
        )
        if not rules:
            reasons.append(_("no active callback rule of the store calls customers after a delivered visit"))
        return reasons

    def _post_callback_warning(self):
        """A note in the chatter at reception and delivery when the customer will not be called back."""
        for visit in self:
            if visit.callback_warning:
                visit.message_post(body=visit.callback_warning, subtype_xmlid="mail.mt_note")

    def _callback_warning_action(self):
        """The button's answer: a warning the advisor sees when a customer will not be called back."""
        warnings = [visit.callback_warning for visit in self if visit.callback_warning]
        if not warnings:
            return None
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {
                "title": _("No callback after this visit"),
                "message": "\n".join(warnings),
                "type": "warning",
                "sticky": False,
                "next": {"type": "ir.actions.client", "tag": "soft_reload"},
            },
        }

    # ------------------------------------------------------------------ the desk: errors in the customer's terms
    def _money(self, amount):
        """An amount as the store writes it (its currency's symbol and decimals, the user's separators)."""
        self.ensure_one()
        currency = self.currency_id or self.env.company.currency_id
        return format_amount(self.env, amount or 0.0, currency)

    def _odometer_conflict(self, mileage, day=None):
        """The sentence refusing ``mileage`` as this visit's odometer reading on ``day`` (the store's
        day of reception by default), or False: the rule of the vehicle's readings
        (``auto_crm.vehicle.odometer._check_not_going_back``), worded for the visit's own field."""
        self.ensure_one()
        if not (self.vehicle_id and mileage):
            return False
        day = day or self.company_id._auto_crm_today(self.date_reception or None)
        readings = (
            self.vehicle_id.sudo()
            .odometer_ids.filtered(lambda r: r.id != self.odometer_reading_id.id)
            .sorted(lambda r: (r.date, r.id))
        )
        before = readings.filtered(lambda r: r.date <= day)[-1:]
        after = readings.filtered(lambda r: r.date > day)[:1]
        label = self._fields["mileage_in"]._description_string(self.env)
        if before and mileage < before.value:
            return _(
                "%(field)s: %(mileage)s km is lower than the %(previous)s km already read on %(date)s for %(vehicle)s. "
                "Check the odometer; if it was replaced, record the replacement on the vehicle first.",
                field=label,
                mileage=formatLang(self.env, mileage, digits=0),
                previous=formatLang(self.env, before.value, digits=0),
                date=format_date(self.env, before.date),
                vehicle=self.vehicle_id.display_name,
            )
        if after and not after.is_replacement and after.value < mileage:
            return _(
                "%(field)s: %(mileage)s km is higher than the %(next)s km read later, on %(date)s, for %(vehicle)s.",
                field=label,
                mileage=formatLang(self.env, mileage, digits=0),
                next=formatLang(self.env, after.value, digits=0),
                date=format_date(self.env, after.date),
                vehicle=self.vehicle_id.display_name,
            )
        return False

    @api.onchange("mileage_in")
    def _onchange_mileage_in_odometer(self):
        """Warn while typing: the same rule as at Receive Car."""
        conflict = self._odometer_conflict(self.mileage_in)
        if conflict:
            return {"warning": {"title": _("Odometer reading"), "message": conflict}}

    # ------------------------------------------------------------------ the desk: printed papers
    def _report_letterhead_in_body(self):
        """Whether the repair order and the settlement statement print the store's letterhead in the page
        itself: Debian's wkhtmltopdf (unpatched Qt) ignores the separate header and footer pages that
        ``web.external_layout`` gives it, so the store's name and address would be lost."""
        return not _wkhtmltopdf_patched_qt()

    def _report_datetime(self, value):
        """A moment as printed on the papers: the store's time zone, the language's date and short time
        (no seconds; "2026年03月02日 10时05分" in Chinese)."""
        self.ensure_one()
        if not value:
            return ""
        Lang = self.env["res.lang"]
        lang = Lang._get_data(code=self.env.lang or "en_US") or Lang._get_data(code="en_US")
        pattern = posix_to_ldml(f"{lang.date_format} {lang.short_time_format}", locale=babel_locale_parse(lang.code))
        return format_datetime(self.env, value, tz=self.company_id._auto_crm_tz_name(), dt_format=pattern)
