from odoo import _, api, fields, models
from odoo.exceptions import ValidationError

from ..lib import forecast
from .auto_crm_vehicle import MAX_KM
from .input_limits import check_vals

#: Plausible ranges of the plan's figures (km, months, years, km per day).
PLAN_RANGES = {
    "first_service_km": (1, MAX_KM),
    "first_service_months": (1, 120),
    "interval_km": (1, MAX_KM),
    "interval_months": (1, 120),
    "warranty_years": (0, 30),
    "warranty_km": (0, MAX_KM),
    "default_km_per_day": (0, 2000),
    "inspection_first_years": (1, 30),
    "inspection_second_years": (0, 30),
    "inspection_interval_months": (1, 60),
    "inspection_old_years": (1, 60),
    "inspection_old_interval_months": (1, 60),
}

INSPECTION_HELP = (
    "Periodic safety inspection (annual inspection) of a private car (non-operating small or mini passenger "
    "car, vans excepted), counted from its registration (the purchase date here). Default: the rule in force "
    "since 1 October 2022 (Ministry of Public Security and State Administration for Market Regulation, "
    "Opinions on Deepening the Reform of the Motor Vehicle Inspection System, 2022): no on-site inspection "
    "in the first 10 years except at year 6 and year 10, then every year, and every 6 months after 15 years "
    "(Article 16 of the Road Traffic Safety Law Implementing Regulations). Before the reform the car was "
    "exempt for 6 years only (second exemption year 0)."
)


class AutoCrmServicePlan(models.Model):
    """The maintenance, warranty and inspection schedule of a brand or model (or every car of a store)."""

    _name = "auto_crm.service.plan"
    _description = "Service Plan"
    _inherit = ["auto_crm.owned.mixin", "mail.thread"]
    #: Fields a person writes (auto_crm.owned.mixin); every other stored field is the add-on's.
    _user_fields = {
        "name",
        "sequence",
        "active",
        "company_id",
        "brand_id",
        "model_id",
        "first_service_km",
        "first_service_months",
        "interval_km",
        "interval_months",
        "warranty_years",
        "warranty_km",
        "default_km_per_day",
        "inspection_first_years",
        "inspection_second_years",
        "inspection_interval_months",
        "inspection_old_years",
        "inspection_old_interval_months",
        "note",
    }
    _order = "sequence, id"
    _check_company_auto = True

    name = fields.Char(required=True, translate=True, tracking=True)
    sequence = fields.Integer(default=10)
    active = fields.Boolean(default=True, tracking=True)
    company_id = fields.Many2one(
        "res.company",
        string="Store",
        index=True,
        tracking=True,
        help="The store this plan is for. Leave empty to share it across the group.",
    )
    brand_id = fields.Many2one(
        "fleet.vehicle.model.brand",
        tracking=True,
        help="Leave brand and model empty for the default plan of every car.",
    )
    model_id = fields.Many2one(
        "fleet.vehicle.model",
        tracking=True,
        domain="[('brand_id', '=?', brand_id)]",
        help="A model's plan comes before its brand's, which comes before the default plan.",
    )
    first_service_km = fields.Integer(string="First Maintenance (km)", default=5000, required=True, tracking=True)
    first_service_months = fields.Integer(
        string="First Maintenance (months)",
        default=6,
        required=True,
        tracking=True,
        help="Months after the purchase; the first maintenance is due at the kilometres or the months, "
        "whichever comes first.",
    )
    interval_km = fields.Integer(string="Maintenance Every (km)", default=10000, required=True, tracking=True)
    interval_months = fields.Integer(
        string="Maintenance Every (months)",
        default=12,
        required=True,
        tracking=True,
        help="After each maintenance the next is due at these kilometres more or these months later, "
        "whichever comes first.",
    )
    warranty_years = fields.Integer(string="Warranty (years)", default=3, required=True, tracking=True)
    warranty_km = fields.Integer(string="Warranty (km)", default=100000, required=True, tracking=True)
    default_km_per_day = fields.Float(
        string="Assumed km per Day",
        default=35.0,
        digits=(6, 1),
        required=True,
        tracking=True,
        help="The distance per day assumed for a car with fewer than two readings when no car of its model "
        "or store has a forecast of its own yet.",
    )
    inspection_first_years = fields.Integer(
        string="First Inspection (years)", default=6, required=True, tracking=True, help=INSPECTION_HELP
    )
    inspection_second_years = fields.Integer(
        string="Second Inspection (years)",
        default=10,
        required=True,
        tracking=True,
        help="The second exempt step (year 10 since the 2022 reform); 0 for none. " + INSPECTION_HELP,
    )
    inspection_interval_months = fields.Integer(
        string="Then Inspection Every (months)", default=12, required=True, tracking=True, help=INSPECTION_HELP
    )
    inspection_old_years = fields.Integer(
        string="Old Car From (years)", default=15, required=True, tracking=True, help=INSPECTION_HELP
    )
    inspection_old_interval_months = fields.Integer(
        string="Old Car Inspection Every (months)", default=6, required=True, tracking=True, help=INSPECTION_HELP
    )
    note = fields.Text(string="Notes")

    _sql_constraints = [
        (
            "auto_crm_service_plan_positive",
            "CHECK(first_service_km > 0 AND first_service_months > 0 AND interval_km > 0 AND interval_months > 0 "
            "AND warranty_years >= 0 AND warranty_km >= 0 AND default_km_per_day >= 0 "
            "AND inspection_first_years > 0 AND inspection_second_years >= 0 AND inspection_interval_months > 0 "
            "AND inspection_old_years > 0 AND inspection_old_interval_months > 0)",
            "Service plan: kilometres, months and years must be positive.",
        ),
    ]

    @api.depends("name", "brand_id", "model_id")
    def _compute_display_name(self):
        for plan in self:
            scope = plan.model_id.display_name or plan.brand_id.display_name
            plan.display_name = f"{plan.name} ({scope})" if scope and plan.name else plan.name or ""

    @api.onchange("model_id")
    def _onchange_model_id(self):
        if self.model_id:
            self.brand_id = self.model_id.brand_id

    # ------------------------------------------------------------------ constraints
    @api.constrains("brand_id", "model_id")
    def _check_model_brand(self):
        for plan in self:
            if plan.model_id and plan.brand_id and plan.model_id.brand_id != plan.brand_id:
                raise ValidationError(
                    _(
                        "Model: %(model)s is not a model of the brand %(brand)s (plan %(plan)s).",
                        model=plan.model_id.display_name,
                        brand=plan.brand_id.display_name,
                        plan=plan.name,
                    )
                )

    @api.constrains("company_id", "brand_id", "model_id", "active")
    def _check_unique_scope(self):
        for plan in self.filtered("active"):
            twin = self.search(
                [
                    ("id", "!=", plan.id),
                    ("company_id", "=", plan.company_id.id),
                    ("brand_id", "=", plan.brand_id.id),
                    ("model_id", "=", plan.model_id.id),
                ],
                limit=1,
            )
            if twin:
                raise ValidationError(
                    _(
                        "Brand and Model: the plan %(twin)s already covers the same store, brand and model; "
                        "archive it or change this one.",
                        twin=twin.display_name,
                    )
                )

    @api.constrains("inspection_first_years", "inspection_second_years", "inspection_old_years")
    def _check_inspection_years(self):
        for plan in self:
            if plan.inspection_second_years and plan.inspection_second_years <= plan.inspection_first_years:
                raise ValidationError(
                    _(
                        "Second Inspection (years): %(second)s must come after the first inspection "
                        "(%(first)s years), or be 0 for none.",
                        second=plan.inspection_second_years,
                        first=plan.inspection_first_years,
                    )
                )

    # ------------------------------------------------------------------ CRUD
    @api.model
    def _normalize_vals(self, vals):
        check_vals(self, [vals], PLAN_RANGES)
        if vals.get("model_id") and not vals.get("brand_id"):
            vals = dict(vals, brand_id=self.env["fleet.vehicle.model"].browse(vals["model_id"]).brand_id.id)
        return vals

    @api.model_create_multi
    def create(self, vals_list):
        return super().create([self._normalize_vals(vals) for vals in vals_list])

    def write(self, vals):
        return super().write(self._normalize_vals(vals))

    # ------------------------------------------------------------------ lookup
    @api.model
    def _plans_sql(self):
        """Every active plan as ``{id: row}`` (one query): the forecast works on rows, not records."""
        self.env.cr.execute(
            """
            SELECT id, company_id, brand_id, model_id, first_service_km, first_service_months, interval_km,
                   interval_months, default_km_per_day::float8 AS default_km_per_day, inspection_first_years,
                   inspection_second_years, inspection_interval_months, inspection_old_years,
                   inspection_old_interval_months
              FROM auto_crm_service_plan
             WHERE active
             ORDER BY sequence, id
            """
        )
        return self.env.cr.dictfetchall()

    @staticmethod
    def _pick(rows, company_id, brand_id, model_id):
        """The plan of a car among ``rows``: the model's, else the brand's, else the store's default,
        else the group's default; a store's own plan before a shared one of the same scope."""
        best, best_key = None, None
        for row in rows:
            if row["model_id"] and row["model_id"] != model_id:
                continue
            if row["brand_id"] and row["brand_id"] != brand_id:
                continue
            if row["company_id"] and row["company_id"] != company_id:
                continue
            key = (bool(row["model_id"]), bool(row["brand_id"]), bool(row["company_id"]))
            if best_key is None or key > best_key:
                best, best_key = row, key
        return best

    @api.model
    def _for_vehicle(self, vehicle):
        """The plan record that applies to a car (empty when the store has no plan at all)."""
        self.flush_model()
        row = self._pick(
            self.sudo()._plans_sql(), vehicle.company_id.id or None, vehicle.brand_id.id, vehicle.model_id.id
        )
        return self.browse(row["id"]) if row else self.browse()

    @staticmethod
    def _as_plan(row):
        return forecast.Plan(
            first_km=row["first_service_km"],
            first_months=row["first_service_months"],
            interval_km=row["interval_km"],
            interval_months=row["interval_months"],
        )

    @staticmethod
    def _as_inspection_rule(row):
        return forecast.InspectionRule(
            first_years=row["inspection_first_years"],
            second_years=row["inspection_second_years"],
            interval_months=row["inspection_interval_months"],
            old_years=row["inspection_old_years"],
            old_interval_months=row["inspection_old_interval_months"],
        )

    def _inspection_rule(self):
        self.ensure_one()
        return self._as_inspection_rule(self)

    def _next_inspection(self, registered, today):
        """The next on-site inspection of a private car registered on ``registered`` (lib/forecast.py)."""
        return forecast.next_inspection(self._inspection_rule(), registered, today)
