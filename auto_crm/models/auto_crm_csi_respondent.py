import math

from markupsafe import Markup

from odoo import _, api, fields, models
from odoo.exceptions import ValidationError

from ..lib import ahp
from .auto_crm_csi_comparison import SAATY_VALUES, saaty_number
from .input_limits import check_vals

RESPONDENT_KINDS = [
    ("customer", "Customer"),
    ("manager", "Manager"),
]


def nearest_saaty(number):
    """The Saaty selection nearest to ``number`` on the ratio scale (by the logarithm, so 1/3 and 3 are
    equally far from 1); a tie (the geometric middle of two values) goes to the value nearer to 1."""
    target = math.log(number)

    def distance(item):
        log = math.log(saaty_number(item[0]))
        return round(abs(log - target), 12), abs(log)

    return min(SAATY_VALUES, key=distance)[0]


class AutoCrmCsiRespondent(models.Model):
    _name = "auto_crm.csi.respondent"
    _description = "Satisfaction Index Respondent"
    _inherit = ["auto_crm.owned.mixin", "mail.thread", "mail.activity.mixin"]
    #: Fields a person writes (auto_crm.owned.mixin); every other stored field is the add-on's.
    _user_fields = {
        "name",
        "kind",
        "partner_id",
        "hierarchy_id",
        "note",
        "judgement_ids",
    }
    _order = "hierarchy_id, id"
    _check_company_auto = True

    name = fields.Char(required=True, tracking=True, size=128)
    kind = fields.Selection(RESPONDENT_KINDS, required=True, default="customer", tracking=True)
    partner_id = fields.Many2one(
        "res.partner", string="Customer", check_company=True, index="btree_not_null", tracking=True
    )
    hierarchy_id = fields.Many2one(
        "auto_crm.csi.hierarchy",
        required=True,
        ondelete="cascade",
        index=True,
        tracking=True,
        check_company=True,
    )
    company_id = fields.Many2one(related="hierarchy_id.company_id", store=True, index=True, string="Store")
    note = fields.Text(string="Notes")
    judgement_ids = fields.One2many("auto_crm.csi.respondent.judgement", "respondent_id", string="Judgements")
    max_cr = fields.Float(
        string="Highest CR",
        compute="_compute_consistency",
        store=True,
        help="The highest consistency ratio of the respondent's answered comparison matrices.",
    )
    is_complete = fields.Boolean(
        string="Complete", compute="_compute_consistency", store=True, help="Every pair has a judgement."
    )
    is_consistent = fields.Boolean(
        string="Consistent",
        compute="_compute_consistency",
        store=True,
        help="Every answered comparison matrix has CR below 0.10.",
    )
    consistency_state = fields.Selection(
        [("consistent", "Consistent"), ("inconsistent", "Inconsistent"), ("incomplete", "Incomplete")],
        string="Consistency",
        compute="_compute_consistency",
        store=True,
    )
    consistency_html = fields.Html(
        string="Consistency per Criterion", compute="_compute_consistency_html", sanitize=False, readonly=True
    )

    # ------------------------------------------------------------------ AHP

    def _respondent_nodes(self):
        """``{parent_key: node}`` for every parent with at least two children, each node a dict with
        ``parent`` (criterion or empty), ``children``, ``matrix`` (None while a pair has no answer) and
        ``result`` (:class:`ahp.AhpResult` or None)."""
        self.ensure_one()
        criteria = self.hierarchy_id.criterion_ids.sorted(lambda c: (c.sequence, c.id))
        groups = {}
        for criterion in criteria:
            groups.setdefault(criterion.parent_id.id or False, []).append(criterion)
        answers = {}
        for judgement in self.judgement_ids:
            if judgement.value:
                answers[(judgement.criterion_a_id.id, judgement.criterion_b_id.id)] = saaty_number(judgement.value)
        nodes = {}
        for key, children in groups.items():
            if len(children) < 2:
                continue
            upper, complete = {}, True
            for i, a in enumerate(children):
                for j in range(i + 1, len(children)):
                    b = children[j]
                    if (a.id, b.id) in answers:
                        upper[(i, j)] = answers[(a.id, b.id)]
                    elif (b.id, a.id) in answers:
                        upper[(i, j)] = 1.0 / answers[(b.id, a.id)]
                    else:
                        complete = False
            node = {"parent": children[0].parent_id, "children": children, "matrix": None, "result": None}
            if complete:
                node["matrix"] = ahp.matrix_from_upper(len(children), upper)
                node["result"] = ahp.analyse(node["matrix"])
            nodes[key] = node
        return nodes

    @api.depends(
        "judgement_ids.value",
        "judgement_ids.criterion_a_id",
        "judgement_ids.criterion_b_id",
        "hierarchy_id.criterion_ids.parent_id",
        "hierarchy_id.criterion_ids.sequence",
    )
    def _compute_consistency(self):
        for respondent in self:
            nodes = respondent._respondent_nodes() if respondent.hierarchy_id else {}
            results = [node["result"] for node in nodes.values() if node["result"]]
            respondent.max_cr = max((r.cr for r in results), default=0.0)
            respondent.is_complete = bool(nodes) and len(results) == len(nodes)
            respondent.is_consistent = bool(results) and all(r.cr < ahp.CR_THRESHOLD for r in results)
            if results and not respondent.is_consistent:
                respondent.consistency_state = "inconsistent"
            elif respondent.is_complete:
                respondent.consistency_state = "consistent"
            else:
                respondent.consistency_state = "incomplete"

    @api.depends(
        "judgement_ids.value",
        "judgement_ids.criterion_a_id",
        "judgement_ids.criterion_b_id",
        "hierarchy_id.criterion_ids.parent_id",
        "hierarchy_id.criterion_ids.sequence",
        "hierarchy_id.criterion_ids.name",
    )
    def _compute_consistency_html(self):
        for respondent in self:
            rows = []
            nodes = respondent._respondent_nodes() if respondent.hierarchy_id else {}
            for node in nodes.values():
                title = node["parent"].name if node["parent"] else _("Main criteria")
                result = node["result"]
                if result is None:
                    badge = Markup("<span class='badge text-bg-secondary'>%s</span>") % _("not fully answered")
                    figures = ""
                else:
                    ok = result.cr < ahp.CR_THRESHOLD
                    badge = Markup("<span class='badge %s'>%s</span>") % (
                        "text-bg-success" if ok else "text-bg-danger",
                        _("consistent") if ok else _("inconsistent"),
                    )
                    figures = " · ".join(
                        f"{child.name}: {weight:.4f}"
                        for child, weight in zip(node["children"], result.weights, strict=False)
                    )
                cr_text = f"{result.cr:.4f}" if result else "-"
                rows.append(
                    Markup("<tr><td>%s</td><td class='text-end'>%s</td><td>%s</td><td>%s</td></tr>")
                    % (title, cr_text, badge, figures)
                )
            if not rows:
                respondent.consistency_html = Markup("<p>%s</p>") % _("The hierarchy has no criteria to compare yet.")
                continue
            respondent.consistency_html = Markup(
                "<table class='table table-sm o_auto_crm_csi_respondent'><thead><tr><th>%s</th>"
                "<th class='text-end'>%s</th><th>%s</th><th>%s</th></tr></thead><tbody>%s</tbody></table>"
            ) % (_("Under"), _("CR"), _("Consistency"), _("Weights"), Markup("").join(rows))

    # ------------------------------------------------------------------ grid

    def _sync_judgements(self):
        """Give the respondent one judgement line per pair of sibling criteria of the hierarchy
        (criterion A before B by sequence), unanswered when new; lines of pairs that no longer exist
        are removed, a pair turned round keeps the reciprocal answer."""
        judgement_model = self.env["auto_crm.csi.respondent.judgement"].sudo()
        comparison_model = self.env["auto_crm.csi.comparison"]
        for respondent in self.sudo():
            criteria = respondent.hierarchy_id.criterion_ids
            order = {c.id: (c.sequence, c.id) for c in criteria}
            wanted = {}
            for a in criteria:
                for b in criteria:
                    if a.parent_id == b.parent_id and order[a.id] < order[b.id]:
                        wanted[(a.id, b.id)] = a.parent_id.id or False
            seen = set()
            obsolete = judgement_model
            for line in respondent.judgement_ids:
                pair = (line.criterion_a_id.id, line.criterion_b_id.id)
                if pair in wanted and pair not in seen:
                    seen.add(pair)
                    if (line.parent_id.id or False) != wanted[pair]:
                        line.parent_id = wanted[pair]
                elif pair[::-1] in wanted and pair[::-1] not in seen:
                    seen.add(pair[::-1])
                    line.write(
                        {
                            "criterion_a_id": pair[1],
                            "criterion_b_id": pair[0],
                            "parent_id": wanted[pair[::-1]],
                            "value": comparison_model._reciprocal(line.value) if line.value else False,
                        }
                    )
                else:
                    obsolete |= line
            obsolete.unlink()
            judgement_model.create(
                [
                    {"respondent_id": respondent.id, "parent_id": parent, "criterion_a_id": a, "criterion_b_id": b}
                    for (a, b), parent in sorted(wanted.items(), key=lambda kv: (order[kv[0][0]], order[kv[0][1]]))
                    if (a, b) not in seen
                ]
            )

    def action_update_grid(self):
        self.check_access("write")
        self._sync_judgements()
        return True

    # ------------------------------------------------------------------ CRUD

    @api.model_create_multi
    def create(self, vals_list):
        check_vals(self, vals_list)
        respondents = super().create(vals_list)
        respondents._sync_judgements()
        return respondents

    def write(self, vals):
        check_vals(self, [vals])
        result = super().write(vals)
        if "hierarchy_id" in vals:
            self._sync_judgements()
        return result


class AutoCrmCsiRespondentJudgement(models.Model):
    _name = "auto_crm.csi.respondent.judgement"
    _description = "Satisfaction Index Respondent Judgement"
    _inherit = ["auto_crm.owned.mixin"]
    #: Fields a person writes (auto_crm.owned.mixin); every other stored field is the add-on's.
    _user_fields = {
        "respondent_id",
        "parent_id",
        "criterion_a_id",
        "criterion_b_id",
        "value",
    }
    _order = "respondent_id, parent_id, criterion_a_id, criterion_b_id, id"
    _check_company_auto = True

    respondent_id = fields.Many2one("auto_crm.csi.respondent", required=True, ondelete="cascade", index=True)
    hierarchy_id = fields.Many2one(related="respondent_id.hierarchy_id", store=True, index=True, string="Hierarchy")
    company_id = fields.Many2one(related="respondent_id.company_id", store=True, index=True, string="Store")
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
        help="The respondent's answer on Saaty's 1-9 scale; empty while not answered.",
    )
    node_cr = fields.Float(
        string="CR",
        compute="_compute_node_cr",
        store=True,
        help="Consistency ratio of the respondent's judgements under this parent; 0 until all are answered.",
    )

    _sql_constraints = [
        (
            "pair_uniq",
            "UNIQUE(respondent_id, criterion_a_id, criterion_b_id)",
            "Criterion B: each respondent compares each pair once.",
        ),
        (
            "pair_distinct",
            "CHECK(criterion_a_id != criterion_b_id)",
            "Criterion B: a criterion is not compared with itself.",
        ),
    ]

    @api.depends(
        "respondent_id.judgement_ids.value",
        "respondent_id.judgement_ids.criterion_a_id",
        "respondent_id.judgement_ids.criterion_b_id",
        "parent_id",
    )
    def _compute_node_cr(self):
        for respondent in self.respondent_id:
            nodes = respondent._respondent_nodes()
            for line in self.filtered(lambda j, r=respondent: j.respondent_id == r):
                node = nodes.get(line.parent_id.id or False)
                line.node_cr = node["result"].cr if node and node["result"] else 0.0
        (self - self.filtered("respondent_id")).node_cr = 0.0

    @api.depends("criterion_a_id.name", "criterion_b_id.name")
    def _compute_display_name(self):
        for line in self:
            line.display_name = _("%(a)s vs %(b)s", a=line.criterion_a_id.name or "", b=line.criterion_b_id.name or "")

    @api.constrains("criterion_a_id", "criterion_b_id", "parent_id", "respondent_id")
    def _check_siblings(self):
        for line in self:
            a, b = line.criterion_a_id, line.criterion_b_id
            hierarchy = line.respondent_id.hierarchy_id
            if a.hierarchy_id != hierarchy or b.hierarchy_id != hierarchy:
                raise ValidationError(
                    _("Criterion B: %(a)s and %(b)s must belong to the respondent's hierarchy.", a=a.name, b=b.name)
                )
            if a.parent_id != line.parent_id or b.parent_id != line.parent_id:
                raise ValidationError(
                    _(
                        "Criterion B: only criteria with the same parent are compared; %(a)s and %(b)s "
                        "are not both directly under %(parent)s.",
                        a=a.name,
                        b=b.name,
                        parent=line.parent_id.name or _("the main criteria"),
                    )
                )
            if self.search_count(
                [
                    ("respondent_id", "=", line.respondent_id.id),
                    ("criterion_a_id", "=", b.id),
                    ("criterion_b_id", "=", a.id),
                    ("id", "!=", line.id),
                ]
            ):
                raise ValidationError(_("Criterion B: %(a)s and %(b)s are already compared.", a=a.name, b=b.name))
