from markupsafe import Markup, escape

from odoo import _, api, fields, models
from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.tools import SQL, float_round

from ..lib import ahp
from ..lib.workflow import HIERARCHY_INITIAL, HIERARCHY_TRANSITIONS

HIERARCHY_STATES = [
    ("draft", "Draft"),
    ("active", "Active"),
    ("superseded", "Superseded"),
]

#: Fields of an active or superseded hierarchy that may still change: the workflow itself and the
#: chatter. Everything that makes up the weights is frozen once a version has been activated.
_FROZEN_EXEMPT = {
    "state",
    "date_activated",
    "date_superseded",
    "message_main_attachment_id",
    "message_follower_ids",
    "activity_ids",
    "message_ids",
    "respondent_ids",
}


def _key(record):
    """Identity of a record that is the same in the database and in a form being edited."""
    return record._origin.id or record.id


class AutoCrmCsiHierarchy(models.Model):
    _name = "auto_crm.csi.hierarchy"
    _description = "Satisfaction Index Hierarchy"
    #: Fields a person writes (auto_crm.owned.mixin); every other stored field is the add-on's.
    _user_fields = {
        "name",
        "company_id",
        "note",
        "criterion_ids",
        "comparison_ids",
        "respondent_ids",
    }
    _inherit = ["auto_crm.owned.mixin", "mail.thread", "mail.activity.mixin", "auto_crm.workflow.mixin"]
    _order = "company_id, version desc, id desc"
    _check_company_auto = True

    _workflow_transitions = HIERARCHY_TRANSITIONS
    _workflow_initial_states = HIERARCHY_INITIAL
    _workflow_stamps = {"active": "date_activated", "superseded": "date_superseded"}

    name = fields.Char(required=True, translate=True, tracking=True)
    company_id = fields.Many2one(
        "res.company", string="Store", required=True, default=lambda self: self.env.company, index=True, tracking=True
    )
    version = fields.Integer(
        readonly=True,
        copy=False,
        tracking=True,
        help="Version number within the store, given when the version is created.",
    )
    state = fields.Selection(
        HIERARCHY_STATES,
        string="Status",
        required=True,
        default="draft",
        readonly=True,
        copy=False,
        tracking=True,
        index=True,
    )
    date_activated = fields.Datetime(string="Activated On", readonly=True, copy=False)
    date_superseded = fields.Datetime(string="Superseded On", readonly=True, copy=False)
    origin_id = fields.Many2one(
        "auto_crm.csi.hierarchy",
        string="Copied From",
        readonly=True,
        copy=False,
        index="btree_not_null",
        help="The version this one was copied from.",
    )
    note = fields.Text(string="Notes")
    criterion_ids = fields.One2many("auto_crm.csi.criterion", "hierarchy_id", string="Criteria")
    comparison_ids = fields.One2many("auto_crm.csi.comparison", "hierarchy_id", string="Pairwise Comparisons")
    respondent_ids = fields.One2many("auto_crm.csi.respondent", "hierarchy_id", string="Respondents")
    criterion_count = fields.Integer(compute="_compute_criterion_count", string="Number of Criteria")
    root_lambda_max = fields.Float(string="λmax (Main Criteria)", compute="_compute_root_consistency", store=True)
    root_ci = fields.Float(string="CI (Main Criteria)", compute="_compute_root_consistency", store=True)
    root_cr = fields.Float(string="CR (Main Criteria)", compute="_compute_root_consistency", store=True)
    max_cr = fields.Float(
        string="Highest CR",
        compute="_compute_root_consistency",
        store=True,
        help="The highest consistency ratio of any node; the hierarchy can be activated when it is below 0.10.",
    )
    is_consistent = fields.Boolean(
        string="Consistent", compute="_compute_root_consistency", store=True, help="Every node has CR below 0.10."
    )
    weights_html = fields.Html(
        string="Weights and Consistency", compute="_compute_weights_html", sanitize=False, readonly=True
    )
    is_other_company = fields.Boolean(compute="_compute_is_other_company")
    activation_problem = fields.Char(
        string="Cannot Be Activated",
        compute="_compute_activation_problem",
        help="Why Activate would refuse this draft as it stands (inconsistent or missing judgements...).",
    )

    _sql_constraints = [
        ("version_company_uniq", "UNIQUE(company_id, version)", "Version: each version number is used once per store."),
    ]

    def init(self):
        res = super().init()
        # One active hierarchy per store, enforced by the database so that two admins activating
        # at the same moment cannot both win.
        self.env.cr.execute(
            SQL(
                "CREATE UNIQUE INDEX IF NOT EXISTS auto_crm_csi_hierarchy_one_active_per_company "
                "ON %s (company_id) WHERE state = 'active'",
                SQL.identifier(self._table),
            )
        )
        return res

    # ------------------------------------------------------------------ computes

    @api.depends("criterion_ids")
    def _compute_criterion_count(self):
        for hierarchy in self:
            hierarchy.criterion_count = len(hierarchy.criterion_ids)

    @api.depends(
        "comparison_ids.value",
        "comparison_ids.criterion_a_id",
        "comparison_ids.criterion_b_id",
        "criterion_ids.parent_id",
        "criterion_ids.sequence",
    )
    def _compute_root_consistency(self):
        for hierarchy in self:
            nodes = hierarchy._ahp_nodes()
            root = nodes[False]
            result = root["result"]
            hierarchy.root_lambda_max = result.lambda_max if result else 0.0
            hierarchy.root_ci = result.ci if result else 0.0
            hierarchy.root_cr = result.cr if result else 0.0
            crs = [node["result"].cr for node in nodes.values() if node["result"]]
            hierarchy.max_cr = max(crs, default=0.0)
            hierarchy.is_consistent = bool(root["children"]) and all(cr < ahp.CR_THRESHOLD for cr in crs)

    @api.depends(
        "comparison_ids.value",
        "comparison_ids.criterion_a_id",
        "comparison_ids.criterion_b_id",
        "criterion_ids.parent_id",
        "criterion_ids.sequence",
        "criterion_ids.name",
        "name",
    )
    def _compute_weights_html(self):
        for hierarchy in self:
            hierarchy.weights_html = hierarchy._render_weights_html()

    @api.depends(
        "state",
        "comparison_ids.value",
        "comparison_ids.criterion_a_id",
        "comparison_ids.criterion_b_id",
        "criterion_ids.parent_id",
        "criterion_ids.sequence",
        "criterion_ids.step",
        "criterion_ids.name",
    )
    def _compute_activation_problem(self):
        """The reason Activate would give, shown (and refused) before the confirmation is asked."""
        for hierarchy in self:
            problem = False
            if hierarchy.state == "draft":
                try:
                    hierarchy._check_consistent()
                except ValidationError as error:
                    problem = error.args[0]
            hierarchy.activation_problem = problem

    @api.depends_context("company")
    @api.depends("company_id")
    def _compute_is_other_company(self):
        for hierarchy in self:
            hierarchy.is_other_company = hierarchy.company_id != self.env.company

    @api.depends("name", "version", "state")
    def _compute_display_name(self):
        states = dict(self._fields["state"]._description_selection(self.env))
        for hierarchy in self:
            hierarchy.display_name = _(
                "%(name)s (v%(version)s, %(state)s)",
                name=hierarchy.name or "",
                version=hierarchy.version or 0,
                state=states.get(hierarchy.state, ""),
            )

    # ------------------------------------------------------------------ AHP

    def _ahp_nodes(self):
        """The AHP analysis of every parent of this hierarchy, as it stands (also in a form).

        Returns ``{parent_key: node}``, the root under the key False, each node a dict with
        ``parent`` (criterion or None), ``children`` (criteria by sequence), ``matrix``,
        ``result`` (:class:`ahp.AhpResult`, None without children), ``missing`` (pairs of children
        without a judgement, counted as equal) and ``error`` (an engine message, or None).
        """
        self.ensure_one()
        criteria = self.criterion_ids.sorted(lambda c: c.sequence)  # stable: ties keep (sequence, id) order
        nodes = {False: {"parent": None, "children": []}}
        for criterion in criteria:
            nodes.setdefault(_key(criterion), {"parent": criterion, "children": []})
        for criterion in criteria:
            parent_key = _key(criterion.parent_id) if criterion.parent_id else False
            nodes.setdefault(parent_key, {"parent": criterion.parent_id, "children": []})
            nodes[parent_key]["children"].append(criterion)
        judgements = {}
        for comparison in self.comparison_ids:
            if comparison.criterion_a_id and comparison.criterion_b_id and comparison.value:
                judgements[(_key(comparison.criterion_a_id), _key(comparison.criterion_b_id))] = (
                    comparison.numeric_value
                )
        for node in nodes.values():
            children = node["children"]
            node.update(matrix=None, result=None, missing=[], error=None)
            if not children:
                continue
            index = {_key(child): i for i, child in enumerate(children)}
            upper = {}
            for i, a in enumerate(children):
                for b in children[i + 1 :]:
                    j = index[_key(b)]
                    if (_key(a), _key(b)) in judgements:
                        upper[(i, j)] = judgements[(_key(a), _key(b))]
                    elif (_key(b), _key(a)) in judgements:
                        upper[(i, j)] = 1.0 / judgements[(_key(b), _key(a))]
                    else:
                        node["missing"].append((a, b))
            try:
                node["matrix"] = ahp.matrix_from_upper(len(children), upper)
                node["result"] = ahp.analyse(node["matrix"])
            except ahp.AhpError as error:
                node["error"] = str(error)
        return nodes

    def _render_weights_html(self):
        self.ensure_one()
        nodes = self._ahp_nodes()
        global_weights = self.criterion_ids._ahp_weights(nodes)
        parts = []
        ordered = [nodes[False]] + [node for key, node in nodes.items() if key is not False and node["children"]]
        for node in ordered:
            if not node["children"]:
                continue
            title = node["parent"].name if node["parent"] else _("Main criteria")
            result = node["result"]
            rows = []
            for i, child in enumerate(node["children"]):
                local = result.weights[i] if result else 0.0
                rows.append(
                    Markup("<tr><td>%s</td><td class='text-end'>%s</td><td class='text-end'>%s</td></tr>")
                    % (child.name or "", f"{local:.4f}", f"{global_weights.get(_key(child), (0.0, 0.0))[1]:.4f}")
                )
            if result:
                ok = result.cr < ahp.CR_THRESHOLD
                figures = Markup("λmax = %s · CI = %s · CR = %s <span class='badge %s'>%s</span>") % (
                    f"{result.lambda_max:.4f}",
                    f"{result.ci:.4f}",
                    f"{result.cr:.4f}",
                    "text-bg-success" if ok else "text-bg-danger",
                    _("consistent") if ok else _("inconsistent: revise before activating"),
                )
            else:
                figures = escape(node["error"] or "")
            parts.append(
                Markup(
                    "<div class='mb-3'><h5>%s</h5><div>%s</div><table class='table table-sm o_auto_crm_csi_weights'>"
                    "<thead><tr><th>%s</th><th class='text-end'>%s</th><th class='text-end'>%s</th></tr></thead>"
                    "<tbody>%s</tbody></table></div>"
                )
                % (title, figures, _("Criterion"), _("Local Weight"), _("Global Weight"), Markup("").join(rows))
            )
        if not parts:
            return Markup("<p>%s</p>") % _("Add criteria to see their weights.")
        return Markup("").join(parts)

    def _check_consistent(self):
        """Raise ValidationError naming the first node to revise, or the first thing missing."""
        for hierarchy in self:
            if not hierarchy.criterion_ids:
                raise ValidationError(_("Criteria: the hierarchy %s has no criteria to weigh.", hierarchy.name))
            leaves_without_step = hierarchy.criterion_ids.filtered(lambda c: not c.child_ids and not c.step)
            if leaves_without_step:
                raise ValidationError(
                    _(
                        "Questionnaire Step: every leaf criterion must say which questionnaire step it "
                        "scores; %s does not.",
                        ", ".join(leaves_without_step.mapped("name")),
                    )
                )
            nodes = hierarchy._ahp_nodes()
            for node in nodes.values():
                where = node["parent"].name if node["parent"] else _("the main criteria")
                if node["missing"]:
                    a, b = node["missing"][0]
                    raise ValidationError(
                        _(
                            "Pairwise Comparisons: under %(node)s the pair %(a)s vs %(b)s has no judgement; "
                            "save the hierarchy to complete the grid and enter it.",
                            node=where,
                            a=a.name,
                            b=b.name,
                        )
                    )
                if node["error"]:
                    raise ValidationError(
                        _("Pairwise Comparisons: under %(node)s: %(error)s", node=where, error=node["error"])
                    )
                result = node["result"]
                if result and not result.consistent:
                    i, j = ahp.most_inconsistent_pair(node["matrix"], result.weights)
                    children = node["children"]
                    raise ValidationError(
                        _(
                            "Pairwise Comparisons: the judgements under %(node)s are inconsistent "
                            "(CR = %(cr)s, it must be below %(limit)s). Revise %(a)s vs %(b)s first: "
                            "it disagrees most with the other judgements.",
                            node=where,
                            cr=float_round(result.cr, 4),
                            limit=ahp.CR_THRESHOLD,
                            a=children[i].name,
                            b=children[j].name,
                        )
                    )

    # ------------------------------------------------------------------ CRUD

    @api.model_create_multi
    def create(self, vals_list):
        next_versions = {}
        for vals in vals_list:
            if vals.get("state", "draft") != "draft":
                raise UserError(_("Status: a new hierarchy starts as a draft; activate it afterwards."))
            self._check_own_weighting_allowed(
                self.env["res.company"].browse(vals.get("company_id")) or self.env.company
            )
            if not vals.get("version"):
                company_id = vals.get("company_id") or self.env.company.id
                if company_id not in next_versions:
                    next_versions[company_id] = self._next_version(company_id)
                self._owned_fill(vals, "version", next_versions[company_id])
                next_versions[company_id] += 1
        hierarchies = super().create(vals_list)
        hierarchies._sync_comparisons()
        return hierarchies

    def write(self, vals):
        self.check_access("write")  # a missing right says so before the draft rule does
        if set(vals) - _FROZEN_EXEMPT:
            frozen = self.filtered(lambda h: h.state != "draft")
            if frozen:
                raise UserError(
                    _(
                        "Status: %s is no longer a draft; its weights are kept as they were. "
                        "Use New Version to change them.",
                        frozen[0].display_name,
                    )
                )
        if vals.get("company_id"):
            self._check_own_weighting_allowed(self.env["res.company"].browse(vals["company_id"]))
        if (
            vals.get("company_id")
            and "version" not in vals
            and any(h.company_id.id != vals["company_id"] for h in self)
        ):
            # A draft moved to another store takes that store's next version numbers.
            version = self._next_version(vals["company_id"])
            result = True
            for hierarchy in self:
                result = super(AutoCrmCsiHierarchy, hierarchy).write(dict(vals, version=version)) and result
                version += 1
        else:
            result = super().write(vals)
        if {"criterion_ids", "comparison_ids"} & set(vals):
            self._sync_comparisons()
        return result

    def _workflow_check(self, old, new, vals):
        if new == "active":
            self._check_consistent()

    def _workflow_refused_message(self, old, new):
        return _(
            "Status: %(hierarchy)s cannot go from %(old)s to %(new)s; a draft is activated with Activate, "
            "and a new version (New Version) supersedes the active one.",
            hierarchy=self.display_name,
            old=self._workflow_state_label(old),
            new=self._workflow_state_label(new),
        )

    def _workflow_denied_message(self, old, new):
        return _("Status: only the Activate button changes the status of %s.", self.display_name)

    def _workflow_initial_message(self, state):
        return _("Status: a new hierarchy starts as a draft; activate it afterwards.")

    @api.ondelete(at_uninstall=False)
    def _unlink_only_drafts(self):
        used = self.filtered(lambda h: h.state != "draft")
        if used:
            raise UserError(
                _(
                    "Status: %s has been activated and stays on record; only drafts can be deleted.",
                    used[0].display_name,
                )
            )

    def _next_version(self, company_id):
        self.env.cr.execute(
            SQL(
                "SELECT COALESCE(MAX(version), 0) + 1 FROM %s WHERE company_id = %s",
                SQL.identifier(self._table),
                company_id,
            )
        )
        return self.env.cr.fetchone()[0]

    def _sync_comparisons(self):
        """Give every pair of siblings exactly one comparison, criterion A before B by sequence.

        Missing pairs are added as equal importance; a pair whose criteria were re-ordered is
        turned round with the reciprocal judgement; pairs whose criteria are no longer siblings
        are removed (only drafts can change, so no history is lost).
        """
        comparison_model = self.env["auto_crm.csi.comparison"]
        for hierarchy in self.filtered(lambda h: h.state == "draft"):
            order = {c.id: (c.sequence, c.id) for c in hierarchy.criterion_ids}
            wanted = {}
            for criterion in hierarchy.criterion_ids:
                siblings = hierarchy.criterion_ids.filtered(
                    lambda c, criterion=criterion, order=order: (
                        c.parent_id == criterion.parent_id and order[c.id] > order[criterion.id]
                    )
                )
                for sibling in siblings:
                    wanted[(criterion.id, sibling.id)] = criterion.parent_id
            obsolete = comparison_model
            seen = set()
            for comparison in hierarchy.comparison_ids:
                pair = (comparison.criterion_a_id.id, comparison.criterion_b_id.id)
                reverse = pair[::-1]
                if pair in wanted and pair not in seen:
                    seen.add(pair)
                    if comparison.parent_id != wanted[pair]:
                        comparison.parent_id = wanted[pair]
                elif reverse in wanted and reverse not in seen:
                    seen.add(reverse)
                    comparison.write(
                        {
                            "criterion_a_id": reverse[0],
                            "criterion_b_id": reverse[1],
                            "value": comparison_model._reciprocal(comparison.value),
                            "parent_id": wanted[reverse].id,
                        }
                    )
                else:
                    obsolete |= comparison
            obsolete.unlink()
            comparison_model.create(
                [
                    {
                        "hierarchy_id": hierarchy.id,
                        "parent_id": parent.id,
                        "criterion_a_id": a,
                        "criterion_b_id": b,
                        "value": "1",
                    }
                    for (a, b), parent in wanted.items()
                    if (a, b) not in seen
                ]
            )
            # The respondents' grids follow the hierarchy's pairs.
            hierarchy.sudo().respondent_ids._sync_judgements()

    # ------------------------------------------------------------------ actions

    def action_update_grid(self):
        self._check_draft()
        self._sync_comparisons()
        return True

    def action_weights_from_respondents(self):
        """Set the draft's pairwise comparisons from its respondents' judgements (AIJ).

        Per parent, the respondents who answered every pair under it are analysed; those with CR below
        0.10 are aggregated by the geometric mean (:func:`ahp.aggregate_judgements`) and each comparison
        takes the Saaty value nearest to the aggregate (the comparison stores Saaty's scale only). At least
        two consistent respondents must have answered each parent. The chatter records who was used and
        who was left out and why; the usual consistency check (Activate) then applies to the result.
        """
        from .auto_crm_csi_respondent import nearest_saaty

        self.ensure_one()
        if not self.env.user.has_group("auto_crm.group_manager"):
            raise AccessError(
                _("Set Weights from Respondents: only store managers and dealer administrators may set the weights.")
            )
        self.check_access("read")
        self._check_draft()
        self.sudo()._sync_comparisons()
        respondents = self.respondent_ids
        respondents._sync_judgements()
        comparisons = {(c.criterion_a_id.id, c.criterion_b_id.id): c for c in self.sudo().comparison_ids}
        values = {}
        sections = []
        for _parent_key, node in self._ahp_nodes().items():
            children = node["children"]
            if len(children) < 2:
                continue
            where = node["parent"].name if node["parent"] else _("the main criteria")
            answered, unanswered = [], []
            for respondent in respondents:
                own = respondent._respondent_nodes().get(node["parent"].id if node["parent"] else False)
                if own and own["matrix"] is not None:
                    # The respondent's matrix in the order of the hierarchy's children.
                    position = {c.id: i for i, c in enumerate(own["children"])}
                    order = [position[c.id] for c in children]
                    matrix = [[own["matrix"][i][j] for j in order] for i in order]
                    answered.append((respondent, matrix))
                else:
                    unanswered.append(respondent)
            checks = [(respondent, ahp.analyse(matrix)) for respondent, matrix in answered]
            consistent = [(r, m) for (r, m), (_r, result) in zip(answered, checks, strict=True) if result.consistent]
            if len(consistent) < 2:
                raise UserError(
                    _(
                        "Respondents: at least 2 consistent respondents (CR below %(limit)s) must have answered "
                        "every comparison under %(node)s; %(count)s did.",
                        limit=ahp.CR_THRESHOLD,
                        node=where,
                        count=len(consistent),
                    )
                )
            aggregate = ahp.aggregate_judgements([m for _r, m in consistent])
            for i, a in enumerate(children):
                for j in range(i + 1, len(children)):
                    b = children[j]
                    if (a.id, b.id) in comparisons:
                        values[comparisons[(a.id, b.id)]] = nearest_saaty(aggregate.matrix[i][j])
                    else:
                        values[comparisons[(b.id, a.id)]] = nearest_saaty(aggregate.matrix[j][i])
            used = ", ".join(f"{r.name} (CR {result.cr:.4f})" for r, result in checks if result.consistent)
            excluded = [
                self.env._("%(name)s: inconsistent, CR %(cr)s", name=r.name, cr=float_round(result.cr, 4))
                for r, result in checks
                if not result.consistent
            ] + [self.env._("%s: did not answer every comparison", r.name) for r in unanswered]
            weights = ", ".join(
                f"{child.name} {weight:.4f}" for child, weight in zip(children, aggregate.result.weights, strict=True)
            )
            sections.append(
                Markup("<li>%s</li>")
                % _(
                    "Under %(node)s: used %(used)s; excluded %(excluded)s. Aggregated weights %(weights)s, "
                    "CR %(cr)s (before rounding to Saaty's scale).",
                    node=where,
                    used=used,
                    excluded="; ".join(excluded) if excluded else _("none"),
                    weights=weights,
                    cr=float_round(aggregate.result.cr, 4),
                )
            )
        if not sections:
            raise UserError(_("Respondents: the hierarchy has no pair of criteria to compare."))
        for comparison, value in values.items():
            if comparison.value != value:
                comparison.value = value
        self.sudo().message_post(
            body=Markup("<p>%s</p><ul>%s</ul>")
            % (_("Weights set from the respondents' judgements (geometric mean, AIJ)."), Markup("").join(sections)),
            author_id=self.env.user.partner_id.id,
        )
        return True

    def action_activate(self):
        """Activate the hierarchy for its store; the store's active one becomes superseded."""
        self.check_access("write")
        self._check_draft()
        if len(self.company_id) != len(self):
            raise UserError(_("Store: activate one hierarchy per store at a time."))
        for company in self.company_id:
            self._check_own_weighting_allowed(company)
        self._check_consistent()
        for hierarchy in self:
            # Lock the store's hierarchies so that two activations queue up instead of colliding.
            self.env.cr.execute(
                SQL(
                    "SELECT id FROM %s WHERE company_id = %s FOR UPDATE",
                    SQL.identifier(self._table),
                    hierarchy.company_id.id,
                )
            )
            # Found even when the user's selected stores hide it; superseded in the user's name.
            previous = (
                self.sudo()
                .search(
                    [("company_id", "=", hierarchy.company_id.id), ("state", "=", "active"), ("id", "!=", hierarchy.id)]
                )
                .with_env(self.env)
            )
            # The checks are done: the moves are the add-on's own (the table's SUDO).
            if previous:
                previous.sudo()._workflow_write({"state": "superseded"})
                previous.message_post(body=_("Superseded by %s.", hierarchy.display_name))
                previous.flush_recordset(["state"])
            hierarchy.sudo()._workflow_write({"state": "active"})
            if self.env.su and self.env.context.get("install_mode"):
                # Activated by the add-on's data at install (superuser code: no RPC caller is): no note in
                # the install's language (the activation date and the status say it in the reader's).
                continue
            hierarchy.message_post(
                body=_("Activated with highest consistency ratio %s.", float_round(hierarchy.max_cr, 4))
            )
        return True

    def action_new_version(self):
        """A draft copy of this hierarchy in the same store, with the next version number."""
        self.ensure_one()
        new = self._copy_as_draft(self.company_id)
        return new._open_form()

    def action_copy_to_current_store(self):
        """A draft copy of this hierarchy for the store the user is working in."""
        self.ensure_one()
        if self.env.company == self.company_id:
            raise UserError(_("Store: %s already belongs to this store; use New Version.", self.display_name))
        new = self._copy_as_draft(self.env.company)
        return new._open_form()

    def _copy_as_draft(self, company):
        self.ensure_one()
        new = self._owned_env().create(
            {"name": self.name, "company_id": company.id, "origin_id": self.id, "note": self.note}
        )
        mapping = {}
        # Parents before children: walk the tree level by level.
        todo = self.criterion_ids.filtered(lambda c: not c.parent_id)
        while todo:
            for criterion in todo:
                mapping[criterion.id] = criterion.copy(
                    {
                        "hierarchy_id": new.id,
                        "parent_id": mapping[criterion.parent_id.id].id if criterion.parent_id else False,
                    }
                )
            todo = todo.child_ids
        self.env["auto_crm.csi.comparison"].create(
            [
                {
                    "hierarchy_id": new.id,
                    "parent_id": mapping[comparison.parent_id.id].id if comparison.parent_id else False,
                    "criterion_a_id": mapping[comparison.criterion_a_id.id].id,
                    "criterion_b_id": mapping[comparison.criterion_b_id.id].id,
                    "value": comparison.value,
                }
                for comparison in self.comparison_ids
            ]
        )
        new._sync_comparisons()
        new.message_post(body=_("Copied from %s.", self.display_name))
        return new

    def _open_form(self):
        self.ensure_one()
        return {
            "type": "ir.actions.act_window",
            "res_model": self._name,
            "res_id": self.id,
            "view_mode": "form",
            "target": "current",
        }

    def _check_own_weighting_allowed(self, company):
        """Refuse a weighting of a store whose dealer group gives it the group's (a store of a group that
        does not let its stores keep their own): to every caller but the add-on's superuser code."""
        if self.env.su or company.sudo()._auto_crm_own_weighting_allowed():
            return
        self.browse().check_access("create")  # a missing right says so first
        raise UserError(
            _(
                "Store: %(store)s uses the satisfaction weighting of its dealer group %(group)s, which does not "
                "let its stores keep their own; create and activate the weighting at %(group)s, or ask the "
                "group's administrator to allow the stores their own (Settings, Dealer CRM).",
                store=company.sudo().name,
                group=company.sudo().parent_id.name,
            )
        )

    def _check_draft(self):
        frozen = self.filtered(lambda h: h.state != "draft")
        if frozen:
            raise UserError(_("Status: %s is no longer a draft; use New Version to change it.", frozen[0].display_name))

    @api.model
    def _get_active(self, company=None):
        """The active hierarchy of a store (the current one by default), or an empty recordset."""
        company = company or self.env.company
        return self.search([("company_id", "=", company.id), ("state", "=", "active")], limit=1)

    @api.model
    def _get_effective(self, company=None):
        """The weighting whose weights give a store's index (the current store by default): its own active
        one when the store has no dealer group or its group allows it, else its group's; a store of a group
        without an active weighting keeps its own. As ``_compute_csi_sql`` chooses it in SQL."""
        company = (company or self.env.company).sudo()
        Hierarchy = self.sudo()
        own = Hierarchy._get_active(company)
        group = Hierarchy._get_active(company.parent_id) if company.parent_id else Hierarchy.browse()
        if not company.parent_id or not group or company.parent_id.auto_crm_store_weighting:
            chosen = own or group
        else:
            chosen = group
        return chosen.with_env(self.env)
