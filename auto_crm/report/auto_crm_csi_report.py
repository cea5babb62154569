import datetime
import itertools
import logging

from odoo import api, fields, models
from odoo.exceptions import UserError
from odoo.models import parse_read_group_spec, regex_field_agg
from odoo.osv import expression
from odoo.tools import SQL

from ..models.auto_crm_questionnaire import QUESTIONNAIRE_KINDS
from ..models.auto_crm_service_visit import VISIT_TYPES

_logger = logging.getLogger(__name__)


class AutoCrmCsiReport(models.Model):
    """Satisfaction analysis: one row per done callback, with its satisfaction index (CSI).

    The views group ``date_due`` by month (*Month Due*), the same month the monthly callback report
    uses, so a pivot row of a month shows the report's CSI for that month. The view exposes the raw
    due date, never a computed month: a month filter is then a date range on
    ``auto_crm_callback.date_due``, an index-only scan of the done callbacks' index (a filter on
    ``date_trunc('month', ...)`` would read every done callback). ``csi`` is empty for
    a callback without an index (no active hierarchy, or no scored answer): averages skip those
    rows. ``overall_score`` is empty when the customer gave no overall score.
    """

    _name = "auto_crm.csi.report"
    _description = "Satisfaction Analysis"
    _inherit = ["auto_crm.owned.mixin"]
    #: Fields a person writes (auto_crm.owned.mixin); every other stored field is the add-on's.
    _user_fields = ()
    _auto = False
    _order = "date_due desc, date_done desc, id desc"

    callback_id = fields.Many2one("auto_crm.callback", readonly=True)
    date_due = fields.Date(string="Due", readonly=True)
    date_done = fields.Datetime(string="Completed On", readonly=True)
    company_id = fields.Many2one("res.company", string="Store", readonly=True)
    user_id = fields.Many2one("res.users", string="Agent", readonly=True)
    team_id = fields.Many2one("auto_crm.callback.team", readonly=True)
    partner_id = fields.Many2one("res.partner", string="Customer", readonly=True)
    vehicle_id = fields.Many2one("auto_crm.vehicle", readonly=True)
    visit_id = fields.Many2one("auto_crm.service.visit", string="Service Visit", readonly=True)
    advisor_id = fields.Many2one("res.users", string="Service Advisor", readonly=True)
    technician_id = fields.Many2one("res.users", readonly=True)
    brand_id = fields.Many2one("fleet.vehicle.model.brand", readonly=True)
    visit_type = fields.Selection(VISIT_TYPES, readonly=True)
    rule_id = fields.Many2one("auto_crm.callback.rule", readonly=True)
    questionnaire_id = fields.Many2one("auto_crm.questionnaire", readonly=True)
    survey_kind = fields.Selection(QUESTIONNAIRE_KINDS, readonly=True)
    csi_hierarchy_id = fields.Many2one("auto_crm.csi.hierarchy", string="Index Weights Used", readonly=True)
    csi = fields.Float(
        string="Satisfaction Index",
        readonly=True,
        aggregator="avg",
        digits=(5, 1),
        help="The CSI: the index (0 to 100) of after-service calls only; empty for the other kinds of survey.",
    )
    overall_score = fields.Float(
        string="Overall Satisfaction",
        readonly=True,
        aggregator="avg",
        digits=(3, 2),
        help="1 to 5, after-service calls only (satisfaction with the last repair).",
    )
    survey_index = fields.Float(
        readonly=True,
        aggregator="avg",
        digits=(5, 1),
        help="The index (0 to 100) of the call whatever its kind of survey: group by Survey Kind to compare kinds.",
    )
    survey_score = fields.Float(
        string="Survey Overall Score",
        readonly=True,
        aggregator="avg",
        digits=(3, 2),
        help="The overall score (1 to 5) of the call whatever its kind of survey.",
    )
    callback_count = fields.Integer(string="Callbacks", readonly=True, aggregator="sum")
    csi_count = fields.Integer(string="Callbacks with an Index", readonly=True, aggregator="sum")

    def _query(self):
        return SQL(
            """
            SELECT c.id AS id,
                   c.id AS callback_id,
                   c.date_due,
                   c.date_done,
                   c.company_id,
                   c.user_id,
                   c.team_id,
                   c.partner_id,
                   c.vehicle_id,
                   c.visit_id,
                   (SELECT v.advisor_id FROM auto_crm_service_visit v WHERE v.id = c.visit_id) AS advisor_id,
                   (SELECT v.technician_id FROM auto_crm_service_visit v WHERE v.id = c.visit_id) AS technician_id,
                   (SELECT COALESCE(veh.brand_id, fm.brand_id)
                      FROM auto_crm_vehicle veh
                      LEFT JOIN fleet_vehicle_model fm ON fm.id = veh.model_id
                     WHERE veh.id = COALESCE(
                           c.vehicle_id,
                           (SELECT v.vehicle_id FROM auto_crm_service_visit v WHERE v.id = c.visit_id)
                           )) AS brand_id,
                   (SELECT v.visit_type FROM auto_crm_service_visit v WHERE v.id = c.visit_id) AS visit_type,
                   c.rule_id,
                   c.questionnaire_id,
                   c.survey_kind,
                   c.csi_hierarchy_id,
                   -- the CSI takes after-service calls only; empty without an index
                   -- (_compute_csi_sql writes the two together)
                   CASE WHEN c.survey_kind = 'after_service' THEN c.csi END AS csi,
                   CASE WHEN c.survey_kind = 'after_service' THEN NULLIF(c.overall_score, 0)::float END
                       AS overall_score,
                   c.csi AS survey_index,
                   NULLIF(c.overall_score, 0)::float AS survey_score,
                   1 AS callback_count,
                   CASE WHEN c.csi_hierarchy_id IS NULL OR c.survey_kind IS DISTINCT FROM 'after_service' THEN 0
                        ELSE 1 END AS csi_count
              FROM auto_crm_callback c
             WHERE c.state = 'done'
            """
        )

    def init(self):
        # The done callbacks of a period with what the pivot, the graph and the exports aggregate
        # and the keys of the visit and car they look up: a month of the analysis is an index-only
        # scan of it. The visit's fields are scalar sub-queries, not joins, so that a query which
        # does not ask for them reads this index alone (PostgreSQL removes an unused LEFT JOIN but
        # then no longer plans an index-only scan: measured, 29 ms against 9 ms for a month).
        # (the index gained survey_kind in 18.0.1.2.0: an older one without it is rebuilt)
        self.env.cr.execute(
            SQL(
                """SELECT 1 FROM pg_indexes WHERE indexname = 'auto_crm_callback_done_date_due_index'
                      AND indexdef NOT LIKE '%%survey_kind%%'"""
            )
        )
        if self.env.cr.rowcount:
            self.env.cr.execute(SQL("DROP INDEX auto_crm_callback_done_date_due_index"))
        self.env.cr.execute(
            SQL(
                """CREATE INDEX IF NOT EXISTS auto_crm_callback_done_date_due_index
                       ON auto_crm_callback (date_due, company_id)
                  INCLUDE (csi_hierarchy_id, csi, overall_score, user_id, visit_id, vehicle_id, survey_kind)
                    WHERE state = 'done'"""
            )
        )
        self.env.cr.execute(SQL("DROP VIEW IF EXISTS %s", SQL.identifier(self._table)))
        self.env.cr.execute(SQL("CREATE VIEW %s AS (%s)", SQL.identifier(self._table), self._query()))

    @api.model
    def _read_group(self, domain, groupby=(), aggregates=(), having=(), offset=0, limit=None, order=None):
        # An analysis query over a month is cheap once narrowed by the index; PostgreSQL's JIT
        # compilation, which its cost estimate over a large table triggers, costs more than the query.
        self.env.cr.execute(SQL("SET LOCAL jit = off"))
        groupby = list(groupby)
        if order and order == ",".join(groupby) and not (limit or offset):
            # read_group's own order (by each group-by; a many-to-one by its model's order): the
            # groups are sorted here, after aggregation, instead of joining the stores, agents,
            # brands... to every callback of the period (a wider, costlier grouping for the same rows)
            # (and without an ORDER BY: sorted here, the groups are aggregated by hashing instead of
            # sorting every callback of the period first, which the planner picks when it cannot tell
            # how few months and stores there are: 12 months of 20 stores, 33 ms -> 21 ms at 1m)
            rows = super(AutoCrmCsiReport, self.with_context(auto_crm_unordered_groups=True))._read_group(
                domain, groupby, aggregates, having, offset, limit, None
            )
            return self._read_group_sets_sort(groupby, rows)
        return super()._read_group(domain, groupby, aggregates, having, offset, limit, order)

    #: Periods a date is grouped by with ``date_trunc`` (read_group casts the result back to a date)
    _PERIODS = ("day", "week", "month", "quarter", "year")

    @api.model
    def _read_group_groupby(self, groupby_spec, query):
        # A month (quarter, ...) is grouped by its first instant, not cast back to a date for every
        # callback of the period (a tenth of the pivot's query at 1m): the few groups become dates
        # in _read_group_postprocess_groupby.
        sql_expr = super()._read_group_groupby(groupby_spec, query)
        fname, __, granularity = parse_read_group_spec(groupby_spec)
        if granularity in self._PERIODS and self._fields[fname].type == "date":
            cast = SQL("::date")
            if sql_expr.code.endswith(cast.code):
                sql_expr = SQL(sql_expr.code.removesuffix(cast.code), *sql_expr.params)
        return sql_expr

    @api.model
    def _read_group_postprocess_groupby(self, groupby_spec, raw_values):
        values = super()._read_group_postprocess_groupby(groupby_spec, raw_values)
        fname, __, granularity = parse_read_group_spec(groupby_spec)
        if granularity in self._PERIODS and self._fields[fname].type == "date":
            values = (value.date() if isinstance(value, datetime.datetime) else value for value in values)
        return values

    @api.model
    def _read_group_select(self, aggregate_spec, query):
        # one per done callback: the number of rows, without adding up a column of ones
        if aggregate_spec == "callback_count:sum":
            return SQL("COUNT(*)")
        return super()._read_group_select(aggregate_spec, query)

    @api.model
    def _read_group_orderby(self, order, groupby_terms, query):
        if not order and self.env.context.get("auto_crm_unordered_groups"):
            return SQL()  # the groups are sorted after aggregation (_read_group)
        return super()._read_group_orderby(order, groupby_terms, query)

    #: The most group-by sets one ``read_group_sets`` call answers (a pivot of three row and three
    #: column group-bys asks for 16).
    _READ_GROUP_SETS_MAX = 32

    @api.model
    @api.readonly
    def read_group_sets(self, domain, fields, groupbys):
        """``read_group(domain, fields, groupby, lazy=False)`` for each ``groupby`` of ``groupbys``,
        answered by one ``GROUP BY GROUPING SETS`` query: the same groups, values, order, labels and
        domains as the separate calls give.

        The analysis's pivot asks for every combination of its row and column group-bys at once
        (``static/src/views/csi_pivot``): the total, per month, per store, per month and store. As
        four ``read_group`` calls that is four scans of the period; as one call it is one scan.
        """
        groupbys = [[groupby] if isinstance(groupby, str) else list(groupby) for groupby in groupbys]
        if len(groupbys) > self._READ_GROUP_SETS_MAX:
            raise UserError(
                self.env._(
                    "The analysis can group by at most %(max)s combinations at once, not %(count)s.",
                    max=self._READ_GROUP_SETS_MAX,
                    count=len(groupbys),
                )
            )
        if len(groupbys) < 2 or self.env.context.get("fill_temporal") or expression.is_false(self, domain):
            return [self.read_group(domain, fields, groupby, lazy=False) for groupby in groupbys]

        annotated_sets = [self._read_group_get_annotated_groupby(groupby, lazy=False) for groupby in groupbys]
        aggregates = self._read_group_sets_aggregates(fields)
        specs = list(dict.fromkeys(spec for annotated in annotated_sets for spec in annotated.values()))
        rows_by_set = self._read_group_sets_rows(domain, specs, [list(a.values()) for a in annotated_sets], aggregates)
        _logger.debug("read_group_sets: %s group-by sets of %s in one query", len(groupbys), self._name)

        result = []
        formats = {}  # the sets share their groups' values: each month, each store formatted once
        for groupby, annotated in zip(groupbys, annotated_sets, strict=True):
            rows = rows_by_set.get(tuple(annotated.values()), [])
            rows_dict = [dict(zip(itertools.chain(annotated, aggregates), row, strict=True)) for row in rows]
            self._read_group_sets_format(rows_dict, groupby, domain, formats)
            result.append(rows_dict)
        return result

    @api.model
    def _read_group_sets_format(self, rows_dict, groupby, domain, formats):
        """``_read_group_format_result(rows_dict, groupby)`` with each group's ``__domain`` starting from
        ``domain``, formatting each distinct (group-by, value) once for all the sets: its label, its range
        and its domain come from ``_read_group_format_result`` itself on a one-group probe (so they are
        read_group's, month headings included), then each row's domain is read_group's conjunction
        (``expression.AND`` of the domain and each group-by's domain in turn, in its normalized form)."""
        start = expression.normalize_domain(domain) if domain else []
        if start == expression.TRUE_DOMAIN:
            start = []
        for row in rows_dict:
            row_domain = start
            for group in groupby:
                value = row[group]
                key = (group, value.id if isinstance(value, models.BaseModel) else value)
                if key not in formats:
                    probe = {group: value, "__domain": []}
                    self._read_group_format_result([probe], [group])
                    formats[key] = (probe[group], probe.get("__range", {}).get(group, None), probe["__domain"])
                label, group_range, group_domain = formats[key]
                row[group] = label
                if group_range is not None:
                    row.setdefault("__range", {})[group] = dict(group_range) if group_range else group_range
                row_domain = ["&", *row_domain, *group_domain] if row_domain else list(group_domain)
            row["__domain"] = row_domain if groupby else domain

    @api.model
    def _read_group_sets_aggregates(self, fields):
        """{name in the result: aggregate spec} for ``fields``, as ``read_group(lazy=False)`` reads them."""
        aggregates = {"__count": "__count"}
        for field_spec in fields:
            if field_spec == "__count":
                continue
            match = regex_field_agg.match(field_spec)
            if not match:
                raise ValueError(f"Invalid field specification {field_spec!r}.")
            name, func, fname = match.groups()
            if fname:
                aggregates[name] = f"{fname}:{func}"
            elif func:
                aggregates[name] = f"{name}:{func}"
            elif name not in self._fields:
                raise ValueError(f"Invalid field {name!r} on model {self._name!r}")
            elif self._fields[name].base_field.store and self._fields[name].aggregator:
                aggregates[name] = f"{name}:{self._fields[name].aggregator}"
        return aggregates

    @api.model
    def _read_group_sets_rows(self, domain, specs, sets, aggregates):
        """{tuple of a set's group-by specs: [(group values..., aggregate values...), ...]} in the order
        ``_read_group`` gives them, from one query."""
        self.browse().check_access("read")
        self.env.cr.execute(SQL("SET LOCAL jit = off"))
        query = self._search(domain)
        terms = {spec: self._read_group_groupby(spec, query) for spec in specs}
        unique_sets = list(dict.fromkeys(tuple(group_set) for group_set in sets))
        query.groupby = SQL(
            "GROUPING SETS (%s)",
            SQL(", ").join(SQL("(%s)", SQL(", ").join(terms[spec] for spec in group_set)) for group_set in unique_sets),
        )
        select = [self._read_group_select(spec, query) for spec in aggregates.values()]
        # GROUPING(a, b, ...) has bit i (from the right, of n) set when the i-th term is not grouped in the row's set
        grouping = SQL("GROUPING(%s)", SQL(", ").join(terms.values()))
        rows = self.env.execute_query(query.select(*terms.values(), *select, grouping))

        # post-process each group-by column as _read_group does (ids to records, dates...)
        columns = list(zip(*rows, strict=False)) if rows else [() for _ in range(len(specs) + len(select) + 1)]
        values = {spec: list(self._read_group_postprocess_groupby(spec, columns[i])) for i, spec in enumerate(specs)}
        aggregated = [
            list(self._read_group_postprocess_aggregate(spec, columns[len(specs) + i]))
            for i, spec in enumerate(aggregates.values())
        ]
        masks = columns[-1]
        bit = {spec: 1 << (len(specs) - 1 - i) for i, spec in enumerate(specs)}
        full = (1 << len(specs)) - 1
        ranks = {}  # each many-to-one's order, looked up once for all the sets
        rows_by_set = {}
        for group_set in unique_sets:
            mask = full
            for spec in group_set:
                mask &= ~bit[spec]
            indexes = [i for i, row_mask in enumerate(masks) if row_mask == mask]
            set_rows = [
                tuple(values[spec][i] for spec in group_set) + tuple(column[i] for column in aggregated)
                for i in indexes
            ]
            if not group_set and not set_rows:
                set_rows = [tuple(self._read_group_empty_value(spec) for spec in aggregates.values())]
            rows_by_set[group_set] = self._read_group_sets_sort(group_set, set_rows, ranks)
        return rows_by_set

    def _read_group_sets_sort(self, group_set, rows, ranks=None):
        """The rows of one set in read_group's order: by each group-by in turn, ascending, empty last;
        a many-to-one by its model's own order (as read_group's join to it sorts). ``ranks`` keeps each
        many-to-one's order for the next sets ({spec: {id: position}}): a set of the same group-by with
        no other value is sorted without asking the database again."""
        keys = []
        ranks = {} if ranks is None else ranks
        for index, spec in enumerate(group_set):
            field = self._fields[spec.split(":")[0]]
            if field.type == "many2one":
                ids = list({row[index].id for row in rows if row[index]})
                if len(ids) < 2:
                    keys.append(lambda row, i=index: not row[i])
                    continue
                rank = ranks.get(spec)
                if rank is None or not rank.keys() >= set(ids):
                    comodel = self.env[field.comodel_name].sudo().with_context(active_test=False)
                    # their order and their names in one query (the names are what the groups show next)
                    ordered = comodel.search_fetch([("id", "in", ids)], [comodel._rec_name or "id"])
                    rank = ranks[spec] = {record_id: position for position, record_id in enumerate(ordered.ids)}
                keys.append(lambda row, i=index, rank=rank: (not row[i], rank.get(row[i].id, 0) if row[i] else 0))
            else:
                keys.append(
                    lambda row, i=index: (
                        row[i] is None or row[i] is False,
                        row[i] if row[i] not in (None, False) else 0,
                    )
                )
        return sorted(rows, key=lambda row: tuple(key(row) for key in keys))
