from odoo import _, api, fields, models
from odoo.exceptions import UserError, ValidationError

from .auto_crm_csi_hierarchy import _key
from .input_limits import check_vals

#: The questionnaire steps a leaf criterion scores (the same codes as ``auto_crm.question.step``).
QUESTION_STEPS = [
    ("greeting", "Greeting"),
    ("reception", "Reception"),
    ("repair_quality", "Repair Quality"),
    ("on_time", "On-Time Delivery"),
    ("price", "Price"),
    ("cleanliness", "Cleanliness"),
    ("overall", "Overall"),
    ("other", "Other"),
]

_WEIGHT_DEPENDS = (
    "hierarchy_id.comparison_ids.value",
    "hierarchy_id.comparison_ids.criterion_a_id",
    "hierarchy_id.comparison_ids.criterion_b_id",
    "hierarchy_id.criterion_ids.parent_id",
    "hierarchy_id.criterion_ids.sequence",
)


class AutoCrmCsiCriterion(models.Model):
    _name = "auto_crm.csi.criterion"
    _description = "Satisfaction Index Criterion"
    _inherit = ["auto_crm.owned.mixin"]
    #: Fields a person writes (auto_crm.owned.mixin); every other stored field is the add-on's.
    _user_fields = {
        "hierarchy_id",
        "parent_id",
        "child_ids",
        "name",
        "sequence",
        "code",
        "step",
        "comparison_ids",
    }
    _order = "hierarchy_id, sequence, id"
    _check_company_auto = True

    hierarchy_id = fields.Many2one("auto_crm.csi.hierarchy", required=True, ondelete="cascade", index=True)
    company_id = fields.Many2one(related="hierarchy_id.company_id", store=True, index=True, string="Store")
    state = fields.Selection(related="hierarchy_id.state", string="Hierarchy Status")
    parent_id = fields.Many2one(
        "auto_crm.csi.criterion",
        string="Parent Criterion",
        index=True,
        ondelete="cascade",
        domain="[('hierarchy_id', '=', hierarchy_id), ('id', '!=', id)]",
    )
    child_ids = fields.One2many("auto_crm.csi.criterion", "parent_id", string="Sub-criteria")
    name = fields.Char(required=True, translate=True)
    sequence = fields.Integer(default=10)
    code = fields.Char(size=32, help="Short code for exports and reports, e.g. RECEPTION.")
    step = fields.Selection(
        QUESTION_STEPS,
        string="Questionnaire Step",
        help="The questionnaire questions of this step are scored under this leaf criterion.",
    )
    is_leaf = fields.Boolean(compute="_compute_is_leaf", string="Leaf")
    local_weight = fields.Float(
        compute="_compute_weights", store=True, help="Weight among the siblings; siblings sum to 1."
    )
    global_weight = fields.Float(
        compute="_compute_weights",
        store=True,
        help="Local weight multiplied by the global weight of the parent; the leaves sum to 1.",
    )
    lambda_max = fields.Float(
        string="λmax",
        compute="_compute_weights",
        store=True,
        help="Of the comparisons of its sub-criteria.",
    )
    ci = fields.Float(
        string="CI",
        compute="_compute_weights",
        store=True,
        help="Consistency index of its sub-criteria.",
    )
    cr = fields.Float(
        string="CR",
        compute="_compute_weights",
        store=True,
        help="Consistency ratio of its sub-criteria.",
    )
    comparison_ids = fields.One2many("auto_crm.csi.comparison", "parent_id", string="Sub-criteria Comparisons")
    # The tree of the criteria in a list: each main criterion followed by its sub-criteria, by sequence.
    tree_key = fields.Char(
        string="Position in the Tree",
        compute="_compute_tree",
        store=True,
        recursive=True,
        help="Sort key: the sequences from the main criterion down to this one.",
    )
    tree_name = fields.Char(string="Criterion Tree", compute="_compute_tree_name")

    _sql_constraints = [
        ("code_hierarchy_uniq", "UNIQUE(hierarchy_id, code)", "Code: each code is used once per hierarchy."),
    ]

    @api.depends("sequence", "parent_id", "parent_id.tree_key")
    def _compute_tree(self):
        for criterion in self:
            own = f"{criterion.sequence or 0:06d}.{criterion._origin.id or 0:09d}"
            criterion.tree_key = f"{criterion.parent_id.tree_key}/{own}" if criterion.parent_id else own

    @api.depends("name", "parent_id")
    def _compute_tree_name(self):
        for criterion in self:
            depth, parent = 0, criterion.parent_id
            while parent and depth < 10:
                depth, parent = depth + 1, parent.parent_id
            indent = "\u3000" * depth
            criterion.tree_name = f"{indent}└ {criterion.name or ''}" if depth else criterion.name or ""

    @api.depends("child_ids")
    def _compute_is_leaf(self):
        for criterion in self:
            criterion.is_leaf = not criterion.child_ids

    @api.depends(*_WEIGHT_DEPENDS)
    def _compute_weights(self):
        for hierarchy in self.hierarchy_id:
            nodes = hierarchy._ahp_nodes()
            weights = hierarchy.criterion_ids._ahp_weights(nodes)
            for criterion in self.filtered(lambda c, h=hierarchy: c.hierarchy_id == h):
                criterion.local_weight, criterion.global_weight = weights.get(_key(criterion), (0.0, 0.0))
                result = nodes.get(_key(criterion), {}).get("result")
                criterion.lambda_max = result.lambda_max if result else 0.0
                criterion.ci = result.ci if result else 0.0
                criterion.cr = result.cr if result else 0.0
        for criterion in self.filtered(lambda c: not c.hierarchy_id):
            criterion.update({"local_weight": 0.0, "global_weight": 0.0, "lambda_max": 0.0, "ci": 0.0, "cr": 0.0})

    def _ahp_weights(self, nodes):
        """``{criterion key: (local weight, global weight)}`` from :meth:`_ahp_nodes`' analysis;
        global weights multiply the local weights down from the main criteria."""
        weights = {}

        def walk(node, parent_global):
            result = node["result"]
            for i, child in enumerate(node["children"]):
                local = result.weights[i] if result else 0.0
                weights[_key(child)] = (local, local * parent_global)
                child_node = nodes.get(_key(child))
                if child_node and child_node["children"]:
                    walk(child_node, local * parent_global)

        walk(nodes[False], 1.0)
        return weights

    @api.depends("name", "parent_id.name")
    def _compute_display_name(self):
        for criterion in self:
            if criterion.parent_id:
                criterion.display_name = f"{criterion.parent_id.name} / {criterion.name}"
            else:
                criterion.display_name = criterion.name or ""

    @api.constrains("parent_id", "hierarchy_id")
    def _check_parent(self):
        for criterion in self:
            if criterion.parent_id and criterion.parent_id.hierarchy_id != criterion.hierarchy_id:
                raise ValidationError(
                    _("Parent Criterion: %s must belong to the same hierarchy as its parent.", criterion.name)
                )
        if self._has_cycle():
            raise ValidationError(_("Parent Criterion: a criterion cannot be its own ancestor."))

    @api.constrains("parent_id", "step")
    def _check_step_only_on_leaves(self):
        for criterion in self:
            if criterion.parent_id.step:
                parent = criterion.parent_id
            elif criterion.step and criterion.child_ids:
                parent = criterion
            else:
                continue
            if parent:
                raise ValidationError(
                    _(
                        "Questionnaire Step: only leaf criteria score questionnaire steps; %s has sub-criteria.",
                        parent.name,
                    )
                )

    def _check_hierarchy_draft(self, hierarchies=None):
        hierarchies = (hierarchies or self.env["auto_crm.csi.hierarchy"]) | self.hierarchy_id
        frozen = hierarchies.filtered(lambda h: h.state != "draft")
        if frozen:
            raise UserError(
                _(
                    "Status: %s is no longer a draft; its criteria and weights are kept as they were. "
                    "Use New Version to change them.",
                    frozen[0].display_name,
                )
            )

    @api.model_create_multi
    def create(self, vals_list):
        check_vals(self, vals_list)
        # On the empty model: copy() calls create on the record it copies.
        self.browse()._check_hierarchy_draft(
            self.env["auto_crm.csi.hierarchy"].browse(
                {v.get("hierarchy_id") for v in vals_list if v.get("hierarchy_id")}
            )
        )
        return super().create(vals_list)

    def write(self, vals):
        check_vals(self, [vals])
        self.check_access("write")  # a missing right says so before the draft rule does
        self._check_hierarchy_draft(self.env["auto_crm.csi.hierarchy"].browse(vals.get("hierarchy_id") or []))
        result = super().write(vals)
        if {"parent_id", "sequence", "hierarchy_id"} & set(vals):
            self.hierarchy_id._sync_comparisons()
        return result

    @api.ondelete(at_uninstall=False)
    def _unlink_only_in_drafts(self):
        self._check_hierarchy_draft()
