from odoo import _, api, fields, models
from odoo.exceptions import UserError, ValidationError

#: Saaty's scale as entered: "A is that much more important than B" (reciprocals: B more than A).
SAATY_VALUES = [
    ("9", "9 - A extremely more important"),
    ("8", "8"),
    ("7", "7 - A very strongly more important"),
    ("6", "6"),
    ("5", "5 - A strongly more important"),
    ("4", "4"),
    ("3", "3 - A moderately more important"),
    ("2", "2"),
    ("1", "1 - Equally important"),
    ("1/2", "1/2"),
    ("1/3", "1/3 - B moderately more important"),
    ("1/4", "1/4"),
    ("1/5", "1/5 - B strongly more important"),
    ("1/6", "1/6"),
    ("1/7", "1/7 - B very strongly more important"),
    ("1/8", "1/8"),
    ("1/9", "1/9 - B extremely more important"),
]


def saaty_number(value):
    """The number a Saaty selection stands for: "3" -> 3.0, "1/3" -> 0.333..."""
    if not value:
        return 0.0
    if value.startswith("1/"):
        return 1.0 / int(value[2:])
    return float(int(value))


class AutoCrmCsiComparison(models.Model):
    _name = "auto_crm.csi.comparison"
    _description = "Satisfaction Index Pairwise Comparison"
    _inherit = ["auto_crm.owned.mixin"]
    #: Fields a person writes (auto_crm.owned.mixin); every other stored field is the add-on's.
    _user_fields = {
        "hierarchy_id",
        "parent_id",
        "criterion_a_id",
        "criterion_b_id",
        "value",
    }
    _order = "hierarchy_id, parent_id, criterion_a_id, criterion_b_id, id"
    _check_company_auto = True

    hierarchy_id = fields.Many2one("auto_crm.csi.hierarchy", required=True, ondelete="cascade", index=True)
    company_id = fields.Many2one(related="hierarchy_id.company_id", store=True, index=True, string="Store")
    parent_id = fields.Many2one(
        "auto_crm.csi.criterion",
        string="Parent Criterion",
        ondelete="cascade",
        index=True,
        help="The criterion whose sub-criteria are compared; empty for the main criteria.",
    )
    criterion_a_id = fields.Many2one("auto_crm.csi.criterion", required=True, ondelete="cascade", index=True)
    criterion_b_id = fields.Many2one("auto_crm.csi.criterion", required=True, ondelete="cascade", index=True)
    value = fields.Selection(
        SAATY_VALUES,
        string="Importance of A over B",
        required=True,
        default="1",
        help="Saaty's 1-9 scale: how much more important criterion A is than criterion B "
        "(1/3: B is moderately more important than A).",
    )
    numeric_value = fields.Float(compute="_compute_numeric_value", digits=(16, 6), string="Judgement")

    _sql_constraints = [
        ("pair_uniq", "UNIQUE(criterion_a_id, criterion_b_id)", "Criterion B: each pair is compared once."),
        (
            "pair_distinct",
            "CHECK(criterion_a_id != criterion_b_id)",
            "Criterion B: a criterion is not compared with itself.",
        ),
    ]

    @api.depends("value")
    def _compute_numeric_value(self):
        for comparison in self:
            comparison.numeric_value = saaty_number(comparison.value)

    @api.depends("criterion_a_id.name", "criterion_b_id.name")
    def _compute_display_name(self):
        for comparison in self:
            comparison.display_name = _(
                "%(a)s vs %(b)s", a=comparison.criterion_a_id.name or "", b=comparison.criterion_b_id.name or ""
            )

    @api.model
    def _reciprocal(self, value):
        """The Saaty selection of the inverse judgement: "3" <-> "1/3", "1" -> "1"."""
        if value == "1":
            return "1"
        return value[2:] if value.startswith("1/") else f"1/{value}"

    @api.constrains("criterion_a_id", "criterion_b_id", "parent_id", "hierarchy_id")
    def _check_siblings(self):
        for comparison in self:
            a, b = comparison.criterion_a_id, comparison.criterion_b_id
            if a.hierarchy_id != comparison.hierarchy_id or b.hierarchy_id != comparison.hierarchy_id:
                raise ValidationError(
                    _("Criterion B: %(a)s and %(b)s must belong to the comparison's hierarchy.", a=a.name, b=b.name)
                )
            if a.parent_id != comparison.parent_id or b.parent_id != comparison.parent_id:
                raise ValidationError(
                    _(
                        "Criterion B: only criteria with the same parent are compared; %(a)s and %(b)s "
                        "are not both directly under %(parent)s.",
                        a=a.name,
                        b=b.name,
                        parent=comparison.parent_id.name or _("the main criteria"),
                    )
                )
            if self.search_count(
                [("criterion_a_id", "=", b.id), ("criterion_b_id", "=", a.id), ("id", "!=", comparison.id)]
            ):
                raise ValidationError(_("Criterion B: %(a)s and %(b)s are already compared.", a=a.name, b=b.name))

    def _check_hierarchy_draft(self, hierarchies=None):
        self.env["auto_crm.csi.criterion"]._check_hierarchy_draft(
            (hierarchies or self.hierarchy_id) | self.hierarchy_id
        )

    @api.model_create_multi
    def create(self, vals_list):
        hierarchies = self.env["auto_crm.csi.hierarchy"].browse(
            {v.get("hierarchy_id") for v in vals_list if v.get("hierarchy_id")}
        )
        if hierarchies:
            self.browse()._check_hierarchy_draft(hierarchies)
        return super().create(vals_list)

    def write(self, vals):
        self.check_access("write")  # a missing right says so before the draft rule does
        self._check_hierarchy_draft(self.env["auto_crm.csi.hierarchy"].browse(vals.get("hierarchy_id") or []))
        return super().write(vals)

    @api.ondelete(at_uninstall=False)
    def _unlink_only_in_drafts(self):
        if self.hierarchy_id.filtered(lambda h: h.state != "draft"):
            raise UserError(_("Status: the comparisons of an activated hierarchy are kept as they were."))
