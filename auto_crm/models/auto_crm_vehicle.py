import pytz
from dateutil.relativedelta import relativedelta

from odoo import _, api, fields, models
from odoo.exceptions import UserError, ValidationError
from odoo.osv import expression
from odoo.tools import SQL
from odoo.tools.sql import create_index

from ..lib import forecast as forecastlib
from ..lib import vin as vinlib
from .auto_crm_job_run import JobStep
from .input_limits import check_vals

SEGMENTS = [
    ("in_warranty", "In warranty"),
    ("out_of_warranty", "Out of warranty"),
    ("old", "Old car"),
]
#: A car this many years old or more counts as an old car, whatever its warranty.
OLD_CAR_YEARS = 6
#: The earliest plausible model year; the latest is next year (cars are sold a model year ahead).
FIRST_MODEL_YEAR = 1950
#: The highest plausible distance on an odometer, in km (readings, mileages on a car or a visit).
MAX_KM = 2_000_000
#: Mileage fields of the vehicle and their plausible range.
MILEAGE_RANGES = {"first_service_mileage": (0, MAX_KM), "warranty_end_mileage": (0, MAX_KM)}
#: Where a car's usual km per day come from (service forecast).
FORECAST_SOURCES = [
    ("own", "Its own readings"),
    ("model", "Average of its model"),
    ("store", "Average of its store"),
    ("plan", "Assumed by the service plan"),
]
#: The car's fields the service forecast depends on (besides its readings).
FORECAST_INPUTS = {"purchase_date", "model_id", "brand_id", "company_id", "active"}
#: Cars forecast per batch by the nightly job (one fetch and one UPDATE each).
FORECAST_BATCH = 2000


class AutoCrmVehicle(models.Model):
    _name = "auto_crm.vehicle"
    _description = "Customer Vehicle"
    #: Fields a person writes (auto_crm.owned.mixin); every other stored field is the add-on's.
    _user_fields = {
        "vin",
        "active",
        "company_id",
        "partner_id",
        "brand_id",
        "model_id",
        "plate",
        "engine_number",
        "gearbox_number",
        "color",
        "model_year",
        "purchase_date",
        "sold_here",
        "first_service_date",
        "first_service_mileage",
        "warranty_end_date",
        "warranty_end_mileage",
        "insurance_expiry",
        "note",
        "odometer_ids",
        "ownership_ids",
    }
    _inherit = ["auto_crm.owned.mixin", "mail.thread", "mail.activity.mixin"]
    _order = "plate, vin"
    _rec_names_search = ["vin", "plate", "model_id.name", "partner_id.name"]
    _check_company_auto = True

    vin = fields.Char(
        string="VIN",
        required=True,
        tracking=True,
        size=17,
        help="Vehicle identification number (chassis number): 17 characters, no I, O or Q, check digit in position 9.",
    )
    active = fields.Boolean(default=True, tracking=True)
    company_id = fields.Many2one(
        "res.company",
        string="Store",
        default=lambda self: self.env.company,
        index=True,
        help="The store that keeps this car's record. Leave empty to share it across the group.",
    )
    partner_id = fields.Many2one(
        "res.partner",
        string="Owner",
        tracking=True,
        index=True,
        check_company=True,
        domain="[('is_company', '=', False)]",
    )
    brand_id = fields.Many2one("fleet.vehicle.model.brand", tracking=True)
    model_id = fields.Many2one(
        "fleet.vehicle.model",
        tracking=True,
        domain="[('brand_id', '=?', brand_id)]",
    )
    plate = fields.Char(string="Licence Plate", tracking=True, index="trigram", size=32)
    engine_number = fields.Char(tracking=True)
    gearbox_number = fields.Char(tracking=True)
    color = fields.Char(string="Body Colour")
    model_year = fields.Integer(
        string="Model Year (number)",
        help=f"The model year, from {FIRST_MODEL_YEAR} to next year (0 when not known).",
    )
    model_year_pick = fields.Selection(
        selection="_model_year_selection",
        string="Model Year",
        compute="_compute_model_year_pick",
        inverse="_inverse_model_year_pick",
        help="The model year, empty when not known (forms show this rather than a model year 0).",
    )
    purchase_date = fields.Date(tracking=True)
    sold_here = fields.Boolean(
        string="Sold by This Store",
        tracking=True,
        help="The car was sold by this store. Cars bought elsewhere are recorded at their first visit.",
    )
    first_service_date = fields.Date(string="First Maintenance Date")
    first_service_mileage = fields.Integer(string="First Maintenance Mileage (km)")
    warranty_end_date = fields.Date(tracking=True)
    warranty_end_mileage = fields.Integer(string="Warranty End Mileage (km)")
    insurance_expiry = fields.Date(tracking=True)
    note = fields.Html()

    odometer_ids = fields.One2many("auto_crm.vehicle.odometer", "vehicle_id", string="Odometer Readings")
    odometer = fields.Integer(
        string="Odometer (km)",
        compute="_compute_odometer",
        store=True,
        aggregator="avg",
        help="The latest odometer reading.",
    )
    odometer_date = fields.Date(string="Odometer Read On", compute="_compute_odometer", store=True)
    ownership_ids = fields.One2many("auto_crm.vehicle.ownership", "vehicle_id", string="Ownership History")
    visit_ids = fields.One2many("auto_crm.service.visit", "vehicle_id", string="Service Visits")
    visit_count = fields.Integer(compute="_compute_visit_count")
    service_history_ids = fields.One2many(
        "auto_crm.vehicle.service.history",
        "vehicle_id",
        string="Group Service History",
        readonly=True,
        help="The car's visits at every store of the dealer group that shares its archive: dates, work "
        "done and mileage, without prices.",
    )
    car_age_years = fields.Integer(
        string="Car Age (years)", compute="_compute_segment", help="Whole years since purchase."
    )
    segment = fields.Selection(
        SEGMENTS,
        compute="_compute_segment",
        search="_search_segment",
        help="In warranty while the warranty end date is not passed; old from "
        f"{OLD_CAR_YEARS} years after purchase; out of warranty otherwise.",
    )

    _sql_constraints = [
        (
            "auto_crm_vehicle_mileage_positive",
            "CHECK(first_service_mileage >= 0 AND warranty_end_mileage >= 0)",
            "Mileages cannot be negative.",
        ),
        (
            "auto_crm_vehicle_model_year_range",
            f"CHECK(model_year = 0 OR model_year >= {FIRST_MODEL_YEAR})",
            f"Model Year: a model year is {FIRST_MODEL_YEAR} or later.",
        ),
    ]

    def init(self):
        # A VIN names one physical car: unique among active vehicles, whatever the store.
        self.env.cr.execute(
            "CREATE UNIQUE INDEX IF NOT EXISTS auto_crm_vehicle_vin_active_uniq ON auto_crm_vehicle (vin) WHERE active"
        )
        # The vehicle list in its order (the plate's trigram index serves searches, not sorting).
        create_index(self.env.cr, "auto_crm_vehicle_plate_vin_idx", self._table, ["plate", "vin", "id"])
        self._care_init_indexes()

    # ------------------------------------------------------------------ computes
    @api.depends("vin", "plate", "model_id")
    def _compute_display_name(self):
        for vehicle in self:
            label = vehicle.plate or vehicle.vin or _("New vehicle")
            if vehicle.model_id:
                label = f"{label} ({vehicle.model_id.display_name})"
            vehicle.display_name = label

    @api.model
    def _model_year_selection(self):
        last = self.env.company._auto_crm_today().year + 1
        return [(str(year), str(year)) for year in range(last, FIRST_MODEL_YEAR - 1, -1)]

    @api.depends("model_year")
    def _compute_model_year_pick(self):
        for vehicle in self:
            vehicle.model_year_pick = str(vehicle.model_year) if vehicle.model_year else False

    def _inverse_model_year_pick(self):
        for vehicle in self:
            vehicle.model_year = int(vehicle.model_year_pick) if vehicle.model_year_pick else 0

    @api.depends("odometer_ids.value", "odometer_ids.date")
    def _compute_odometer(self):
        for vehicle in self:
            last = vehicle.odometer_ids.sorted(lambda r: (r.date, r.id or 0))[-1:]
            vehicle.odometer = last.value
            vehicle.odometer_date = last.date

    def _compute_visit_count(self):
        counts = dict(
            self.env["auto_crm.service.visit"]._read_group(
                [("vehicle_id", "in", self.ids)], ["vehicle_id"], ["__count"]
            )
        )
        for vehicle in self:
            vehicle.visit_count = counts.get(vehicle, 0)

    @api.depends("purchase_date", "warranty_end_date")
    @api.depends_context("date")
    def _compute_segment(self):
        today = self.env.company._auto_crm_today()
        for vehicle in self:
            age = relativedelta(today, vehicle.purchase_date).years if vehicle.purchase_date else 0
            vehicle.car_age_years = age
            vehicle.segment = self._segment_of(vehicle.purchase_date, vehicle.warranty_end_date, today)

    @api.model
    def _segment_of(self, purchase_date, warranty_end_date, today):
        """The car's segment; none (False) for a car whose purchase date and warranty end are both
        unknown: a new record is not "out of warranty" until someone says so."""
        if purchase_date and purchase_date <= today - relativedelta(years=OLD_CAR_YEARS):
            return "old"
        if warranty_end_date and warranty_end_date >= today:
            return "in_warranty"
        if not purchase_date and not warranty_end_date:
            return False
        return "out_of_warranty"

    def _search_segment(self, operator, value):
        if operator not in ("=", "!=", "in", "not in"):
            raise ValidationError(_("Segment: the search operator %s is not supported.", operator))
        today = self.env.company._auto_crm_today()
        old_limit = today - relativedelta(years=OLD_CAR_YEARS)
        young = expression.OR([[("purchase_date", "=", False)], [("purchase_date", ">", old_limit)]])
        known = expression.OR([[("purchase_date", "!=", False)], [("warranty_end_date", "!=", False)]])
        domains = {
            "old": [("purchase_date", "<=", old_limit)],
            "in_warranty": expression.AND([young, [("warranty_end_date", ">=", today)]]),
            "out_of_warranty": expression.AND(
                [
                    young,
                    known,
                    expression.OR([[("warranty_end_date", "=", False)], [("warranty_end_date", "<", today)]]),
                ]
            ),
            False: [("purchase_date", "=", False), ("warranty_end_date", "=", False)],
        }
        if value is False:
            value = [False]
        values = {value} if isinstance(value, str) else set(value or ())
        if operator in ("!=", "not in"):
            # The segments partition the vehicles: "not X" is "one of the others".
            values = set(domains) - values
        selected = [domains[val] for val in sorted(values, key=str) if val in domains]
        return expression.OR(selected) if selected else expression.FALSE_DOMAIN

    # ------------------------------------------------------------------ constraints
    @api.constrains("vin", "active")
    def _check_vin(self):
        for vehicle in self:
            self._validate_vin(vehicle.vin)

    @api.model
    def _validate_vin(self, vin):
        """The normalised VIN, or a ValidationError naming the broken rule (a long value is not echoed whole)."""
        vin = vinlib.normalize(vin)
        try:
            return vinlib.validate(vin)
        except vinlib.VinError as error:
            shown = vin if len(vin or "") <= vinlib.VIN_LENGTH + 3 else f"{vin[: vinlib.VIN_LENGTH]}…"
            raise ValidationError(
                _("VIN %(vin)s: %(reason)s.", vin=shown, reason=self._vin_error_text(error))
            ) from None

    @api.constrains("model_year")
    def _check_model_year(self):
        for vehicle in self:
            self._validate_model_year(vehicle.model_year)

    @api.model
    def _validate_model_year(self, year):
        """0 (not known) or a year from FIRST_MODEL_YEAR to next year."""
        last = self.env.company._auto_crm_today().year + 1
        if year and not FIRST_MODEL_YEAR <= year <= last:
            raise ValidationError(
                _(
                    "Model Year: %(year)s is not a plausible model year; enter a year from %(first)s to %(last)s.",
                    year=year,
                    first=FIRST_MODEL_YEAR,
                    last=last,
                )
            )

    @api.model
    def _vin_error_text(self, error):
        """The broken VIN rule, in the user's language."""
        texts = {
            "length": _("a VIN has 17 characters, this one has %(length)s"),
            "forbidden": _("the letters I, O and Q are not used in a VIN (found %(letters)s)"),
            "character": _("the character %(char)s at position %(position)s is not allowed in a VIN"),
            "check_digit": _("the check digit in position 9 should be %(expected)s, not %(found)s"),
        }
        return texts[error.code] % error.params if error.code in texts else str(error)

    @api.model
    def _check_vin_available(self, vins, exclude=None):
        """Refuse VINs another active vehicle has, before the unique index does it less kindly."""
        vins = [vin for vin in vins if vin]
        if not vins:
            return
        if len(set(vins)) < len(vins):
            raise ValidationError(_("VIN: the same VIN appears twice in what is being saved."))
        domain = [("vin", "in", vins), ("active", "=", True)]
        if exclude:
            domain.append(("id", "not in", exclude.ids))
        duplicate = self.sudo().with_context(active_test=False).search(domain, limit=1)
        if duplicate:
            raise ValidationError(
                _(
                    "VIN %s: another active vehicle already has this VIN (maybe in another store). "
                    "Archive the old record or open it instead.",
                    duplicate.vin,
                )
            )

    @api.constrains("purchase_date", "warranty_end_date", "first_service_date")
    def _check_dates(self):
        for vehicle in self:
            if (
                vehicle.purchase_date
                and vehicle.warranty_end_date
                and vehicle.warranty_end_date < vehicle.purchase_date
            ):
                raise ValidationError(
                    _("Warranty End Date: %s cannot be before the purchase date.", vehicle.display_name)
                )
            if (
                vehicle.purchase_date
                and vehicle.first_service_date
                and vehicle.first_service_date < vehicle.purchase_date
            ):
                raise ValidationError(
                    _("First Maintenance Date: %s cannot be before the purchase date.", vehicle.display_name)
                )

    @api.onchange("model_id")
    def _onchange_model_id(self):
        if self.model_id:
            self.brand_id = self.model_id.brand_id

    # ------------------------------------------------------------------ CRUD
    @api.model
    def _normalize_vals(self, vals):
        """Normalised values, refused before anything is converted (the VIN field holds 17 characters
        and would cut a longer VIN silently)."""
        vals = dict(vals)
        if vals.get("vin"):
            vals["vin"] = self._validate_vin(vals["vin"])
        if "model_year" in vals and isinstance(vals["model_year"], int):
            self._validate_model_year(vals["model_year"])
        check_vals(self, [vals], MILEAGE_RANGES)
        if vals.get("plate"):
            vals["plate"] = vals["plate"].strip().upper()
        if vals.get("model_id") and not vals.get("brand_id"):
            vals["brand_id"] = self.env["fleet.vehicle.model"].browse(vals["model_id"]).brand_id.id
        return vals

    @api.model_create_multi
    def create(self, vals_list):
        vals_list = [self._normalize_vals(vals) for vals in vals_list]
        self._check_vin_available([vals.get("vin") for vals in vals_list if vals.get("active", True)])
        vehicles = super().create(vals_list)
        self.env["auto_crm.vehicle.ownership"].sudo().create(
            [
                {
                    "vehicle_id": vehicle.id,
                    "partner_id": vehicle.partner_id.id,
                    "date_start": vehicle.purchase_date or self.env.company._auto_crm_today(),
                }
                for vehicle in vehicles
                if vehicle.partner_id
            ]
        )
        vehicles._care_forecast_refresh()
        return vehicles

    def write(self, vals):
        vals = self._normalize_vals(vals)
        if vals.get("vin") or vals.get("active"):
            staying_active = self if vals.get("active") else self.filtered("active")
            vins = [vals["vin"]] * len(staying_active) if vals.get("vin") else staying_active.mapped("vin")
            self._check_vin_available(vins, exclude=self)
        changed = self.browse()
        if "partner_id" in vals:
            changed = self.filtered(lambda v: v.partner_id.id != vals["partner_id"])
        result = super().write(vals)
        if changed:
            changed._record_owner_change()
        if FORECAST_INPUTS & set(vals):
            self._care_forecast_refresh()
        return result

    def _record_owner_change(self):
        """Close the current ownership and open the new owner's (a car changing hands)."""
        today = self.env.company._auto_crm_today()
        Ownership = self.env["auto_crm.vehicle.ownership"].sudo()
        for ownership in Ownership.search([("vehicle_id", "in", self.ids), ("date_end", "=", False)]):
            ownership.date_end = max(today, ownership.date_start)
        Ownership.create(
            [
                {"vehicle_id": vehicle.id, "partner_id": vehicle.partner_id.id, "date_start": today}
                for vehicle in self
                if vehicle.partner_id
            ]
        )

    @api.model
    def name_create(self, name):
        """A car is created with its VIN: the quick create of a many2one cannot make one. Say so, and
        how (the visit's "Create and edit..." opens the form with the typed plate)."""
        raise UserError(
            _(
                'VIN: a vehicle is created with its VIN; use "Create and edit..." to enter the car %s ' "with its VIN.",
                name,
            )
        )

    # ------------------------------------------------------------------ actions
    def action_view_visits(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id("auto_crm.auto_crm_service_visit_action")
        action["domain"] = [("vehicle_id", "=", self.id)]
        action["context"] = {"default_vehicle_id": self.id, "default_partner_id": self.partner_id.id}
        return action

    completeness_score = fields.Float(
        string="Completeness (%)",
        readonly=True,
        copy=False,
        aggregator="avg",
        digits=(5, 1),
        help="Share of the store's vehicle completeness standard this record meets, computed nightly.",
    )

    # ------------------------------------------------------------------ service forecast (care)
    # The next service by mileage or time (lib/forecast.py), stored and written only by the add-on:
    # when a reading arrives (auto_crm.vehicle.odometer) and nightly (_cron_service_forecast), set-based:
    # one query fetching a batch's cars with their readings and last service, one for the fallback
    # averages (once per run in the nightly job), one UPDATE writing the batch back.
    next_service_date = fields.Date(
        string="Next Service",
        readonly=True,
        copy=False,
        index="btree_not_null",
        help="The earlier of the day the car is expected to reach the next service mileage and the day the "
        "plan's months run out.",
    )
    next_service_mileage = fields.Integer(string="Next Service Mileage (km)", readonly=True, copy=False)
    km_per_day = fields.Float(
        string="Usual km per Day",
        readonly=True,
        copy=False,
        digits=(6, 1),
        aggregator="avg",
        help="The median of the rates between every two readings of the same odometer (Theil-Sen), over the "
        "last 24 readings; the model's or the store's average when the car has fewer than two readings.",
    )
    km_per_day_source = fields.Selection(FORECAST_SOURCES, string="km per Day From", readonly=True, copy=False)
    service_forecast_note = fields.Text(string="How the Forecast Was Made", readonly=True, copy=False)
    next_inspection_date = fields.Date(
        string="Next Annual Inspection",
        readonly=True,
        copy=False,
        index="btree_not_null",
        help="The next on-site inspection of a private car by its service plan, counted from the purchase date.",
    )
    service_forecast_display = fields.Char(string="Next Service Forecast", compute="_compute_service_forecast_display")

    @api.depends("next_service_date", "next_service_mileage")
    @api.depends_context("date")
    def _compute_service_forecast_display(self):
        for vehicle in self:
            if not vehicle.next_service_date:
                vehicle.service_forecast_display = _("No forecast yet")
                continue
            today = (vehicle.company_id or self.env.company)._auto_crm_today()
            days = (vehicle.next_service_date - today).days
            if days > 0:
                when = _("in %s days", days)
            elif days == 0:
                when = _("today")
            else:
                when = _("overdue by %s days", -days)
            km = format(vehicle.next_service_mileage, ",")
            vehicle.service_forecast_display = _(
                "next service ~%(date)s, at %(km)s km, %(when)s", date=vehicle.next_service_date, km=km, when=when
            )

    @api.onchange("purchase_date", "model_id", "brand_id")
    def _onchange_care_plan(self):
        """Propose the warranty end and the first maintenance of the car's service plan (only where
        empty: what a person typed stays)."""
        if not self.purchase_date:
            return
        plan = self.env["auto_crm.service.plan"]._for_vehicle(self)
        if not plan:
            return
        if not self.warranty_end_date and plan.warranty_years:
            self.warranty_end_date = self.purchase_date + relativedelta(years=plan.warranty_years, days=-1)
        if not self.warranty_end_mileage and plan.warranty_km:
            self.warranty_end_mileage = plan.warranty_km
        if not self.first_service_date:
            self.first_service_date = self.purchase_date + relativedelta(months=plan.first_service_months)
        if not self.first_service_mileage:
            self.first_service_mileage = plan.first_service_km

    def _care_init_indexes(self):
        # The fallback averages read the cars with a rate of their own, by model and by store.
        create_index(
            self.env.cr,
            "auto_crm_vehicle_own_rate_model_idx",
            self._table,
            ["model_id", "km_per_day"],
            where="km_per_day_source = 'own'",
        )
        create_index(
            self.env.cr,
            "auto_crm_vehicle_own_rate_company_idx",
            self._table,
            ["company_id", "km_per_day"],
            where="km_per_day_source = 'own'",
        )

    @api.model
    def _care_averages(self, model_ids=None, company_ids=None):
        """``({model_id: km/day}, {company_id: km/day})``: the average rate of the cars with readings of
        their own, per model and per store (one query; all models and stores when no ids are given)."""
        self.env.cr.execute(
            SQL(
                """
                SELECT 'model', model_id, AVG(km_per_day) FROM auto_crm_vehicle
                 WHERE km_per_day_source = 'own' AND active AND model_id IS NOT NULL %s
                 GROUP BY model_id
                UNION ALL
                SELECT 'company', company_id, AVG(km_per_day) FROM auto_crm_vehicle
                 WHERE km_per_day_source = 'own' AND active AND company_id IS NOT NULL %s
                 GROUP BY company_id
                """,
                SQL("AND model_id = ANY(%s)", list(model_ids)) if model_ids is not None else SQL(),
                SQL("AND company_id = ANY(%s)", list(company_ids)) if company_ids is not None else SQL(),
            )
        )
        by_model, by_company = {}, {}
        for kind, key, rate in self.env.cr.fetchall():
            (by_model if kind == "model" else by_company)[key] = float(rate)
        return by_model, by_company

    @api.model
    def _care_forecast_batch(self, ids, averages=None, plans=None, defer=None):
        """Forecast the next service of the cars ``ids`` and store it: a constant number of queries
        whatever the number of cars (fetch, averages unless given, plans unless given, one UPDATE of
        the cars whose forecast changed). ``defer``: a list that receives, unwritten, the cars without
        readings of their own (the nightly job forecasts them once every car's own rate is known).
        Returns the number of cars written."""
        if not ids:
            return 0
        cr = self.env.cr
        # The readings come as arrays (dates parsed by the driver), newest first, at most MAX_READINGS.
        cr.execute(
            """
            SELECT v.id, v.company_id, v.brand_id, v.model_id, v.purchase_date, p.lang,
                   r.dates, r.values, r.replaced, s.date, s.value,
                   v.next_service_date, v.next_service_mileage, v.km_per_day::float8, v.km_per_day_source,
                   v.service_forecast_note, v.next_inspection_date, p.tz
              FROM auto_crm_vehicle v
              LEFT JOIN res_company c ON c.id = v.company_id
              LEFT JOIN res_partner p ON p.id = c.partner_id
              LEFT JOIN LATERAL (
                    SELECT array_agg(o.date) AS dates, array_agg(o.value) AS values,
                           array_agg(o.is_replacement) AS replaced
                      FROM (SELECT date, value, is_replacement FROM auto_crm_vehicle_odometer
                             WHERE vehicle_id = v.id ORDER BY date DESC, id DESC LIMIT %(max)s) o
                   ) r ON TRUE
              LEFT JOIN LATERAL (
                    SELECT o.date, o.value FROM auto_crm_vehicle_odometer o
                      JOIN auto_crm_service_visit sv ON sv.id = o.visit_id
                     WHERE o.vehicle_id = v.id AND sv.visit_type = 'maintenance' AND sv.state != 'cancel'
                     ORDER BY o.date DESC, o.id DESC LIMIT 1
                   ) s ON TRUE
             WHERE v.id = ANY(%(ids)s)
            """,
            {"ids": list(ids), "max": forecastlib.MAX_READINGS},
        )
        rows = cr.fetchall()
        if averages is None:
            averages = self._care_averages({row[3] for row in rows if row[3]}, {row[1] for row in rows if row[1]})
        if plans is None:
            plans = self.env["auto_crm.service.plan"]._plans_sql()
        Plan = self.env["auto_crm.service.plan"]
        picked, texts, today, updates = {}, {}, {}, []
        for row in rows:
            vehicle_id, company_id, brand_id, model_id, purchase_date, lang = row[:6]
            key = (company_id, brand_id, model_id)
            if key not in picked:
                plan_row = Plan._pick(plans, company_id, brand_id, model_id)
                picked[key] = (plan_row, Plan._as_plan(plan_row) if plan_row else None)
            store_tz = row[17] if company_id else False
            if store_tz not in today:
                # The store's day (res.company._auto_crm_today) from the time zone fetched with the car.
                zone = store_tz if store_tz in pytz.all_timezones_set else "UTC"
                if store_tz is False:  # a car shared by the group: the current store's day
                    zone = self.env.company._auto_crm_tz_name()
                today[store_tz] = pytz.utc.localize(fields.Datetime.now()).astimezone(pytz.timezone(zone)).date()
            lang = lang or self.env.lang or "en_US"
            if lang not in texts:
                texts[lang] = self.with_context(lang=lang)._care_note_texts()
            vals = self._care_forecast_row(row, averages, *picked[key], texts[lang], defer is not None)
            if vals is None:
                defer.append(vehicle_id)
                continue
            plan_row = picked[key][0]
            inspection = None
            if plan_row and purchase_date:
                inspection = forecastlib.next_inspection(
                    Plan._as_inspection_rule(plan_row), purchase_date, today[store_tz]
                )
            vals = (*vals, inspection)
            if vals[1:] != tuple(row[11:17]):
                updates.append(vals)
        if updates:
            columns = list(zip(*updates, strict=True))
            cr.execute(
                """
                UPDATE auto_crm_vehicle v
                   SET next_service_date = u.due, next_service_mileage = u.km, km_per_day = u.rate,
                       km_per_day_source = u.source, service_forecast_note = u.note,
                       next_inspection_date = u.inspection,
                       write_uid = %s, write_date = NOW() AT TIME ZONE 'UTC'
                  FROM unnest(%s::int[], %s::date[], %s::int[], %s::float8[], %s::varchar[], %s::text[], %s::date[])
                       AS u(id, due, km, rate, source, note, inspection)
                 WHERE v.id = u.id
                """,
                [self.env.uid, *[list(column) for column in columns]],
            )
        self.invalidate_model(
            [
                "next_service_date",
                "next_service_mileage",
                "km_per_day",
                "km_per_day_source",
                "service_forecast_note",
                "next_inspection_date",
                "write_uid",
                "write_date",
            ]
        )
        return len(updates)

    @api.model
    def _care_forecast_row(self, row, averages, plan_row, plan, texts, own_only=False):
        """``(id, due date, next km, km/day, source, note)`` of one fetched car (None when ``own_only``
        and the car has no readings of its own)."""
        vehicle_id, company_id, _brand_id, model_id, purchase_date = row[:5]
        dates, values, replaced, service_date, service_km = row[6:11]
        Reading = forecastlib.Reading
        readings = [Reading(*reading) for reading in zip(dates or (), values or (), replaced or (), strict=True)]
        rate, used = forecastlib.km_per_day(readings)
        source = "own"
        if rate is None and own_only:
            return None
        if rate is None:
            by_model, by_company = averages
            if model_id in by_model:
                rate, source = by_model[model_id], "model"
            elif company_id in by_company:
                rate, source = by_company[company_id], "store"
            elif plan_row:
                rate, source = plan_row["default_km_per_day"], "plan"
            else:
                source = None
        if not plan_row:
            return (vehicle_id, None, 0, rate or 0.0, source, None)
        rate = round(rate, 1)
        service = Reading(service_date, service_km) if service_date else None
        result = forecastlib.next_service(
            plan, readings, rate, purchase_date=purchase_date, last_service=service, readings_used=used
        )
        note = self._care_note(texts, result, source, plan, purchase_date)
        return (vehicle_id, result.due_date, result.next_mileage, rate, source, note)

    @api.model
    def _care_note_texts(self):
        """The phrases of the forecast's explanation in the environment's language (the store's),
        translated once per batch."""
        return {
            "own": self.env._("~%(rate)s km/day from %(count)s readings"),
            "model": self.env._("~%(rate)s km/day, the average of this model (fewer than two readings)"),
            "store": self.env._("~%(rate)s km/day, the average of the store (fewer than two readings)"),
            "plan": self.env._("~%(rate)s km/day assumed by the service plan (fewer than two readings)"),
            "km": self.env._("%(km)s km around %(date)s"),
            "still": self.env._("not driven: no date by mileage (%(km)s km)"),
            "service": self.env._("%(months)s months after the last service on %(service)s: %(date)s"),
            "first": self.env._("first maintenance %(months)s months after the purchase on %(purchase)s: %(date)s"),
            "milestone": self.env._(
                "no service on record: the plan's next date from the purchase on %(purchase)s: %(date)s"
            ),
        }

    @api.model
    def _care_note(self, texts, result, source, plan, purchase_date):
        """How the forecast was made: ``texts`` are the phrases of ``_care_note_texts``."""
        km = format(result.next_mileage, ",")
        parts = [texts[source] % {"rate": format(result.km_per_day or 0, ",.0f"), "count": result.readings_used}]
        if result.mileage_date:
            parts.append(texts["km"] % {"km": km, "date": result.mileage_date})
        elif result.km_per_day == 0:
            parts.append(texts["still"] % {"km": km})
        if result.time_date and result.last_service_date:
            parts.append(
                texts["service"]
                % {"months": plan.interval_months, "service": result.last_service_date, "date": result.time_date}
            )
        elif result.time_date:
            parts.append(
                texts["first" if result.first_service else "milestone"]
                % {"months": plan.first_months, "purchase": purchase_date, "date": result.time_date}
            )
        return "; ".join(parts)

    def _care_forecast_refresh(self):
        """Recompute the forecast of these cars now (a reading arrived)."""
        if self.ids:
            self.env.flush_all()
            self._care_forecast_batch(self.ids)

    @api.model
    def _cron_service_forecast(self, batch_size=FORECAST_BATCH):
        """Forecast every active car, nightly, through the job runner (lock, batches, run log): first
        the cars with readings of their own (the others are set aside, unwritten), then the others with
        the model's and the store's averages of what the first pass wrote. Each car is fetched once or
        twice and written at most once; constant queries per batch. True when nothing failed."""
        plans = self.env["auto_crm.service.plan"]._plans_sql()
        deferred, state = [], {}

        def every_car():
            self.env.cr.execute("SELECT id FROM auto_crm_vehicle WHERE active ORDER BY id")
            return [row[0] for row in self.env.cr.fetchall()]

        def without_own_rate():
            state["averages"] = self._care_averages()
            return sorted(set(deferred))

        run = self.env["auto_crm.job.run"]._run_job(
            "service_forecast",
            [
                JobStep(
                    units=every_car,
                    process=lambda batch: self._care_forecast_batch(batch, ({}, {}), plans, defer=deferred),
                    model=self._name,
                    batch_size=batch_size,
                ),
                JobStep(
                    units=without_own_rate,
                    process=lambda batch: self._care_forecast_batch(batch, state["averages"], plans),
                    model=self._name,
                    batch_size=batch_size,
                ),
            ],
        )
        return run.state == "done"
