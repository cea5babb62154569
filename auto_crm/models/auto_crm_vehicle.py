from dateutil.relativedelta import relativedelta

from odoo import _, api, fields, models
from odoo.exceptions import UserError, ValidationError
from odoo.osv import expression
from odoo.tools.sql import create_index

from ..lib import vin as vinlib
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


class AutoCrmVehicle(models.Model):
    _name = "auto_crm.vehicle"
    _description = "Customer Vehicle"
    #: Fields a person writes (auto_crm.owned.mixin); every other stored field is the add-on's.
    _user_fields = {
        "vin", "active", "company_id", "partner_id", "brand_id", "model_id", "plate", "engine_number",
        "gearbox_number", "color", "model_year", "purchase_date", "sold_here", "first_service_date",
        "first_service_mileage", "warranty_end_date", "warranty_end_mileage", "insurance_expiry", "note",
        "odometer_ids", "ownership_ids",
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
    brand_id = fields.Many2one("fleet.vehicle.model.brand", string="Brand", tracking=True)
    model_id = fields.Many2one(
        "fleet.vehicle.model",
        string="Model",
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
    insurance_expiry = fields.Date(string="Insurance Expiry", tracking=True)
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
                "VIN: a vehicle is created with its VIN; use \"Create and edit...\" to enter the car %s "
                "with its VIN.",
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
