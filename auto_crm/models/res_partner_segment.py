import logging

from dateutil.relativedelta import relativedelta

from odoo import _, api, fields, models
from odoo.tools import SQL

_logger = logging.getLogger(__name__)

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
#: Customers handled per batch by the nightly segmentation (one grouped query per batch).
SEGMENT_BATCH_SIZE = 5000


def grade_value(spend, visits, program):
    """Customer value grade from 12-month paid spend and delivered visits: A when either reaches the
    A thresholds, B when either reaches the B thresholds, C otherwise."""
    if spend >= program.value_a_spend or visits >= program.value_a_visits:
        return "A"
    if spend >= program.value_b_spend or visits >= program.value_b_visits:
        return "B"
    return "C"


def lifecycle_stage(visits_total, last_delivered, today, program):
    """potential (never served) -> new (1 delivered visit) -> satisfied (came back) -> retained -> loyal
    by delivered visits; at risk / lost when the last delivery is older than the configured days."""
    if not visits_total:
        return "potential"
    idle = (today - last_delivered).days
    if idle > program.lost_days:
        return "lost"
    if idle > program.at_risk_days:
        return "at_risk"
    if visits_total >= program.loyal_visits:
        return "loyal"
    if visits_total >= program.retained_visits:
        return "retained"
    if visits_total >= program.satisfied_visits:
        return "satisfied"
    return "new"


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
    _inherit = "res.partner"

    value_grade = fields.Selection(
        GRADES,
        string="Value Grade",
        groups="auto_crm.group_agent",
        readonly=True,
        index=True,
        copy=False,
        help="A/B/C from the paid spend and delivered visits of the last 12 months (computed nightly).",
    )
    prospect_confidence = fields.Boolean(string="Confidence", help="The prospect trusts the store / brand.")
    prospect_need = fields.Boolean(string="Need", help="The prospect has a real need (service due, car to replace).")
    prospect_purchasing_power = fields.Boolean(string="Purchasing Power", help="The prospect can pay for it.")
    prospect_grade = fields.Selection(
        GRADES,
        string="Prospect Grade",
        compute="_compute_prospect_grade",
        store=True,
        index=True,
        help="A: confidence, need and purchasing power. B: need and purchasing power. "
        "C: confidence and purchasing power.",
    )
    lifecycle_stage = fields.Selection(
        LIFECYCLE_STAGES,
        string="Lifecycle Stage",
        readonly=True,
        index=True,
        copy=False,
        help="Computed nightly from delivered visits: potential, new, satisfied, retained, loyal; at risk "
        "and lost when no visit for the programme's days.",
    )
    lifecycle_stage_date = fields.Date(string="Stage Since", readonly=True, copy=False)
    completeness_score = fields.Float(
        string="Completeness (%)",
        readonly=True,
        copy=False,
        aggregator="avg",
        digits=(5, 1),
        help="Share of the store's completeness standard this archive meets (customer fields, the vehicles' "
        "fields and the archive confirmation), computed nightly.",
    )
    spend_12m = fields.Monetary(
        string="Spend (12 months)",
        readonly=True,
        copy=False,
        currency_field="auto_segment_currency_id",
        groups="auto_crm.group_agent",
    )
    visits_12m = fields.Integer(string="Visits (12 months)", readonly=True, copy=False)
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
    loyalty_member_ids = fields.One2many("auto_crm.loyalty.member", "partner_id", string="Memberships")

    @api.depends("prospect_confidence", "prospect_need", "prospect_purchasing_power")
    def _compute_prospect_grade(self):
        for partner in self:
            confidence, need, power = (
                partner.prospect_confidence,
                partner.prospect_need,
                partner.prospect_purchasing_power,
            )
            if confidence and need and power:
                partner.prospect_grade = "A"
            elif need and power:
                partner.prospect_grade = "B"
            elif confidence and power:
                partner.prospect_grade = "C"
            else:
                partner.prospect_grade = False

    # ------------------------------------------------------------------ nightly segmentation
    @api.model
    def _auto_crm_programs(self, company_ids):
        """{company id: programme or an unsaved one holding the default settings}."""
        Program = self.env["auto_crm.loyalty.program"].sudo()
        programs = {p.company_id.id: p for p in Program.search([("company_id", "in", list(company_ids))])}
        missing = [company_id for company_id in company_ids if company_id not in programs]
        if missing:
            defaults = Program.default_get(list(Program._fields))
            for company_id in missing:
                programs[company_id] = Program.new(dict(defaults, company_id=company_id))
        return programs

    @api.model
    def _cron_auto_crm_segments(self):
        """Grade, stage and score every dealer customer. Set-based: per batch one grouped query reads
        the figures and one UPDATE ... FROM (VALUES ...) writes what changed; completeness is one
        UPDATE per store. A failing batch is logged and recorded on the programmes, the rest runs."""
        self.env.flush_all()
        today = fields.Date.context_today(self)
        self.env.cr.execute("SELECT id FROM res_partner WHERE is_auto_customer AND active ORDER BY id")
        partner_ids = [row[0] for row in self.env.cr.fetchall()]
        errors = []
        done = 0
        for start in range(0, len(partner_ids), SEGMENT_BATCH_SIZE):
            batch = partner_ids[start : start + SEGMENT_BATCH_SIZE]
            try:
                with self.env.cr.savepoint():
                    self._auto_crm_segment_batch(batch, today)
            except Exception as error:
                _logger.warning("Customer segmentation failed for customers %s..%s: %s", batch[0], batch[-1], error)
                errors.append(
                    _(
                        "Segments of customers %(first)s..%(last)s: %(error)s",
                        first=batch[0],
                        last=batch[-1],
                        error=error,
                    )
                )
            done += len(batch)
            self.env["ir.cron"]._notify_progress(done=done, remaining=len(partner_ids) - done)
        self.env.cr.execute(
            "SELECT DISTINCT auto_segment_company_id FROM res_partner WHERE is_auto_customer AND active "
            "AND auto_segment_company_id IS NOT NULL"
        )
        companies = {row[0] for row in self.env.cr.fetchall()}
        for company_id, program in self._auto_crm_programs(companies).items():
            try:
                with self.env.cr.savepoint():
                    self._auto_crm_completeness(company_id, program)
            except Exception as error:
                _logger.warning("Completeness scoring failed for store %s: %s", company_id, error)
                errors.append(_("Completeness of store %(store)s: %(error)s", store=company_id, error=error))
        self.invalidate_model(
            [
                "value_grade",
                "lifecycle_stage",
                "lifecycle_stage_date",
                "completeness_score",
                "spend_12m",
                "visits_12m",
                "auto_segment_company_id",
            ]
        )
        self.env["auto_crm.vehicle"].invalidate_model(["completeness_score"])
        self.env["auto_crm.loyalty.program"].sudo().search([]).write(
            {"segment_last_run": fields.Datetime.now(), "segment_last_error": "\n".join(errors) or False}
        )
        return not errors

    @api.model
    def _auto_crm_segment_batch(self, partner_ids, today):
        since = today - relativedelta(months=12)
        self.env.cr.execute(
            SQL(
                """
                SELECT p.id, COALESCE(p.company_id, lv.company_id, %(default)s),
                       COALESCE(s.spend, 0), COALESCE(s.visits_12m, 0), COALESCE(s.visits, 0), s.last_delivered,
                       p.value_grade, p.lifecycle_stage, p.auto_segment_company_id, p.spend_12m, p.visits_12m
                  FROM res_partner p
                  LEFT JOIN (
                        SELECT DISTINCT ON (partner_id) partner_id, company_id
                          FROM auto_crm_service_visit
                         WHERE partner_id = ANY(%(ids)s) AND state != 'cancel'
                      ORDER BY partner_id, date_appointment DESC, id DESC
                  ) lv ON lv.partner_id = p.id
                  LEFT JOIN (
                        SELECT partner_id,
                               SUM(amount_paid) FILTER (WHERE date_delivered >= %(since)s) AS spend,
                               COUNT(*) FILTER (WHERE date_delivered >= %(since)s) AS visits_12m,
                               COUNT(*) AS visits,
                               MAX(date_delivered)::date AS last_delivered
                          FROM auto_crm_service_visit
                         WHERE partner_id = ANY(%(ids)s) AND state = 'followup' AND date_delivered IS NOT NULL
                      GROUP BY partner_id
                  ) s ON s.partner_id = p.id
                 WHERE p.id = ANY(%(ids)s)
                """,
                ids=partner_ids,
                since=since,
                default=self.env.company.id,
            )
        )
        rows = self.env.cr.fetchall()
        programs = self._auto_crm_programs({row[1] for row in rows})
        changes = []
        for (
            pid,
            company_id,
            spend,
            visits_12m,
            visits,
            last_delivered,
            grade,
            stage,
            store,
            old_spend,
            old_visits,
        ) in rows:
            program = programs[company_id]
            new_grade = grade_value(spend, visits_12m, program)
            new_stage = lifecycle_stage(visits, last_delivered, today, program)
            if (new_grade, new_stage, company_id, float(spend), visits_12m) != (
                grade,
                stage,
                store,
                float(old_spend or 0),
                old_visits or 0,
            ):
                changes.append(
                    SQL(
                        "(%s, %s, %s, %s, %s, %s, %s)",
                        pid,
                        new_grade,
                        new_stage,
                        new_stage != stage,
                        company_id,
                        spend,
                        visits_12m,
                    )
                )
        if not changes:
            return 0
        self.env.cr.execute(
            SQL(
                """
                UPDATE res_partner p
                   SET value_grade = v.grade,
                       lifecycle_stage = v.stage,
                       lifecycle_stage_date = CASE WHEN v.moved OR p.lifecycle_stage_date IS NULL
                                                   THEN %(today)s ELSE p.lifecycle_stage_date END,
                       auto_segment_company_id = v.company_id,
                       spend_12m = v.spend,
                       visits_12m = v.visits
                  FROM (VALUES %(values)s) AS v(id, grade, stage, moved, company_id, spend, visits)
                 WHERE p.id = v.id
                """,
                today=today,
                values=SQL(", ").join(changes),
            )
        )
        return len(changes)

    @api.model
    def _auto_crm_completeness(self, company_id, program):
        """Score vehicles, then customers, of one store against its standard: two UPDATEs."""
        Partner, Vehicle = self.env["res.partner"], self.env["auto_crm.vehicle"]
        partner_fields = [
            Partner._fields[f.name] for f in program.completeness_partner_field_ids if f.name in Partner._fields
        ]
        vehicle_fields = [
            Vehicle._fields[f.name] for f in program.completeness_vehicle_field_ids if f.name in Vehicle._fields
        ]
        partner_fields = [f for f in partner_fields if f.store and f.column_type]
        vehicle_fields = [f for f in vehicle_fields if f.store and f.column_type]

        def score(table, flds):
            if not flds:
                return SQL("100.0")
            return SQL(
                "(100.0 * (%s) / %s)",
                SQL(" + ").join(SQL("(%s)::int", filled_sql(table, f)) for f in flds),
                len(flds),
            )

        self.env.cr.execute(
            SQL(
                """
                UPDATE auto_crm_vehicle AS auto_crm_vehicle
                   SET completeness_score = %(score)s
                  FROM res_partner owner
                 WHERE owner.id = auto_crm_vehicle.partner_id
                   AND owner.auto_segment_company_id = %(company)s
                   AND auto_crm_vehicle.completeness_score IS DISTINCT FROM %(score)s
                """,
                score=score("auto_crm_vehicle", vehicle_fields),
                company=company_id,
            )
        )
        n_partner, n_vehicle = len(partner_fields), len(vehicle_fields)
        n_archive = 1 if program.completeness_archive else 0
        total = n_partner + n_vehicle + n_archive
        partner_filled = (
            SQL(" + ").join(SQL("(%s)::int", filled_sql("res_partner", f)) for f in partner_fields)
            if partner_fields
            else SQL("0")
        )
        archive = (
            SQL("(CASE res_partner.archive_state WHEN 'confirmed' THEN 1.0 WHEN 'verified' THEN 0.5 ELSE 0 END)")
            if n_archive
            else SQL("0")
        )
        expression = (
            SQL(
                "ROUND((100.0 * ((%s) + %s + COALESCE(veh.avg_score, 0) / 100.0 * %s) / %s)::numeric, 1)",
                partner_filled,
                archive,
                n_vehicle,
                total,
            )
            if total
            else SQL("100.0")
        )
        self.env.cr.execute(
            SQL(
                """
                UPDATE res_partner AS res_partner
                   SET completeness_score = sub.score
                  FROM (
                        SELECT res_partner.id, %(expression)s AS score
                          FROM res_partner
                          LEFT JOIN (
                                SELECT partner_id, AVG(completeness_score) AS avg_score
                                  FROM auto_crm_vehicle
                                 WHERE active AND partner_id IS NOT NULL
                              GROUP BY partner_id
                          ) veh ON veh.partner_id = res_partner.id
                         WHERE res_partner.is_auto_customer AND res_partner.active
                           AND res_partner.auto_segment_company_id = %(company)s
                  ) sub
                 WHERE res_partner.id = sub.id AND res_partner.completeness_score IS DISTINCT FROM sub.score
                """,
                expression=expression,
                company=company_id,
            )
        )


class AutoCrmVehicle(models.Model):
    _inherit = "auto_crm.vehicle"

    completeness_score = fields.Float(
        string="Completeness (%)",
        readonly=True,
        copy=False,
        aggregator="avg",
        digits=(5, 1),
        help="Share of the store's vehicle completeness standard this record meets, computed nightly.",
    )
