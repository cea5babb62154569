import base64
import io
from collections import defaultdict

from dateutil.relativedelta import relativedelta
from markupsafe import Markup

from odoo import _, api, fields, models
from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.tools import SQL
from odoo.tools.misc import get_lang

from ..models.auto_crm_owned_mixin import format_period

try:
    import xlsxwriter
except ImportError:  # pragma: no cover - declared in the manifest's external dependencies
    xlsxwriter = None


#: The months of the month picker (English; translated like every selection label).
MONTHS = [
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
]  # fmt: skip


def callback_executed_sql(cb):
    """Whether the callback ``cb`` (SQL of its table or alias) was *executed*: closed as done or failed,
    or at least one attempt logged. The one definition of the monthly report, the targets and the daily
    report. OFFSET 0 keeps the look-up a probe of the attempts' index for the open callbacks only
    (without it the planner may hash the whole attempt table: a cost that follows the history)."""
    return SQL(
        """(%(cb)s.state IN ('done', 'failed') OR EXISTS (
               SELECT 1 FROM auto_crm_callback_attempt att WHERE att.callback_id = %(cb)s.id OFFSET 0))""",
        cb=cb,
    )


def _pct(part, whole):
    return part / whole if whole else 0.0


def _avg(total, count):
    return total / count if count else None


class AutoCrmCallbackReportWizard(models.TransientModel):
    """The monthly callback report (回访月报) of one or more stores, on screen and as XLSX.

    Definitions (also written in the header notes of the workbook):

    * *due*: callbacks whose due date falls in the month, except cancelled ones;
    * *executed*: due callbacks that were worked: at least one attempt was logged, or they were
      closed as done or failed;
    * *successful*: due callbacks done, i.e. the customer was reached and answered;
    * *satisfaction with the last visit*: mean overall score (1-5) of the successful after-service
      callbacks that have one;
    * *satisfaction per question*: mean score (1-5) of the answers of the successful callbacks;
    * *CSI*: mean satisfaction index (0-100) of the successful after-service callbacks that have
      one, with the change in points from the previous month;
    * *per kind of survey* (after service, after sale, win-back, complaint confirmation...): the
      successful callbacks of each kind, their mean overall score and mean index, reported apart.

    Every figure comes from one aggregate query (and the CSI export from another), narrowed to the
    month on the due-date index and run with the user's rights; the XLSX data sheet is streamed from
    a server-side cursor into a constant-memory workbook. Managers
    see their stores, agents and advisors only their own callbacks.
    """

    _name = "auto_crm.callback.report.wizard"
    _description = "Monthly Callback Report"
    _inherit = ["auto_crm.owned.mixin"]
    #: Fields a person writes (auto_crm.owned.mixin); every other stored field is the add-on's.
    _user_fields = {
        "month",
        "company_ids",
        "compare_stores",
    }

    month = fields.Date(
        required=True,
        default=lambda self: self.env.company._auto_crm_today().replace(day=1),
        help="Any day of the month to report on.",
    )
    company_ids = fields.Many2many(
        "res.company",
        string="Stores",
        required=True,
        default=lambda self: self.env.companies,
        domain=lambda self: [("id", "in", self.env.user.company_ids.ids)],
    )
    # The month picker: a month and a year, written into ``month`` (its first day).
    period_month = fields.Selection(
        [(str(m), label) for m, label in enumerate(MONTHS, start=1)],
        string="Month of the Report",
        compute="_compute_period_month",
        inverse="_inverse_period",
    )
    period_year = fields.Integer(string="Year", compute="_compute_period_year", inverse="_inverse_period")
    own_only = fields.Boolean(
        string="Own Figures Only",
        compute="_compute_own_only",
        help="Agents and advisors see the figures of the callbacks assigned to them.",
    )
    compare_stores = fields.Boolean(
        help="The stores side by side with their total: visits and revenue, satisfaction index, retention, "
        "complaints opened, closed and overdue, callbacks executed and successful (store and group managers).",
    )
    summary_html = fields.Html(string="Summary", readonly=True, sanitize=False)
    xlsx_file = fields.Binary(string="Workbook", readonly=True, attachment=False)
    xlsx_name = fields.Char(string="File Name", readonly=True)

    # One compute per field: the inverse reads the other field of a pair being written, and a shared
    # compute would then overwrite the value just written with the stored month's.
    @api.depends("month")
    def _compute_period_month(self):
        for wizard in self:
            wizard.period_month = str(wizard.month.month) if wizard.month else False

    @api.depends("month")
    def _compute_period_year(self):
        for wizard in self:
            wizard.period_year = wizard.month.year if wizard.month else 0

    def _inverse_period(self):
        for wizard in self:
            if not wizard.period_month or not wizard.period_year:
                continue
            if not 2000 <= wizard.period_year <= 2100:
                raise ValidationError(
                    _("Year: %s is not a year to report on; enter a year from 2000 to 2100.", wizard.period_year)
                )
            wizard.month = fields.Date.to_date(f"{wizard.period_year:04d}-{int(wizard.period_month):02d}-01")

    def _month_label(self, day):
        """The month of ``day`` as the user's language writes it ("2026年11月", "November 2026")."""
        return format_period(day, get_lang(self.env).code)

    @api.depends_context("uid")
    def _compute_own_only(self):
        own = not self.env.user.has_group("auto_crm.group_manager")
        for wizard in self:
            wizard.own_only = own

    # ------------------------------------------------------------------ figures

    def _period(self, month=None):
        start = (month or self.month).replace(day=1)
        return start, start + relativedelta(months=1)

    def _check_stores(self):
        self.ensure_one()
        if not self.company_ids:
            raise UserError(_("Stores: choose at least one store."))
        forbidden = self.company_ids - self.env.user.company_ids
        if forbidden:
            raise AccessError(
                _(
                    "Stores: you do not work for %s; the report covers your stores only.",
                    ", ".join(forbidden.mapped("name")),
                )
            )

    def _base_domain(self, start, stop):
        domain = [
            ("date_due", ">=", start),
            ("date_due", "<", stop),
            ("company_id", "in", self.company_ids.ids),
            ("state", "!=", "cancel"),
        ]
        if self.own_only:
            domain.append(("user_id", "=", self.env.uid))
        return domain

    def _month_callbacks(self, start, stop, columns):
        """The SELECT of the callbacks of [start, stop) the user may see (record rules and the
        report's domain applied), with ``columns`` (SQL of the table aliased auto_crm_callback)."""
        query = self.env["auto_crm.callback"].with_context(active_test=False)._search(self._base_domain(start, stop))
        return query.select(*columns)

    def _jit_off(self):
        # A report query narrowed by the date index is cheap; PostgreSQL's JIT, which the planner's
        # cost estimate over a large table triggers, compiles for seconds and saves nothing.
        self.env.cr.execute(SQL("SET LOCAL jit = off"))

    def _get_figures(self):
        """The report's figures, as a dict.

        ONE aggregate query whatever the callbacks: the callbacks of the month and of the previous
        month are narrowed first (a date range on the due-date index, with the user's record rules),
        materialised, then aggregated per store and in total (GROUPING SETS), per question (their
        answers) and per issue tag. The rest of the queries read the stores, questions and tags.
        """
        self._check_stores()
        start, stop = self._period()
        previous_start = start - relativedelta(months=1)
        stores = self.company_ids.sorted(lambda c: (c.sequence, c.name))
        keys = (
            "due", "executed", "successful", "overall_sum", "overall_count",
            "csi_sum", "csi_count", "previous_csi_sum", "previous_csi_count",
        )  # fmt: skip
        rows = {company.id: dict.fromkeys(keys, 0) for company in stores}
        total = dict.fromkeys(keys, 0)
        cb = SQL.identifier("auto_crm_callback")
        callbacks = self._month_callbacks(
            previous_start,
            stop,
            [
                SQL("%s.id", cb),
                SQL("%s.company_id", cb),
                SQL("%s.state", cb),
                SQL("%s.date_due >= %s AS current", cb, start),
                SQL("%s.overall_score", cb),
                SQL("%s.csi", cb),
                SQL("%s.csi_hierarchy_id", cb),
                # executed: closed as done or failed, or at least one attempt logged (the attempts'
                # look-up and the issue tags below are probes of their index: OFFSET 0)
                SQL("%s.date_due >= %s AND %s AS executed", cb, start, callback_executed_sql(cb)),
                SQL("%s.survey_kind", cb),
            ],
        )
        self._jit_off()
        self.env.cr.execute(
            SQL(
                """
                WITH m AS NOT MATERIALIZED (%(callbacks)s)
                SELECT 'store', CASE WHEN GROUPING(m.company_id) = 1 THEN NULL ELSE m.company_id END,
                       COUNT(*) FILTER (WHERE m.current),
                       COUNT(*) FILTER (WHERE m.executed),
                       COUNT(*) FILTER (WHERE m.current AND m.state = 'done'),
                       SUM(m.overall_score) FILTER (WHERE m.current AND m.state = 'done' AND m.overall_score > 0
                                                    AND m.survey_kind = 'after_service'),
                       COUNT(*) FILTER (WHERE m.current AND m.state = 'done' AND m.overall_score > 0
                                          AND m.survey_kind = 'after_service'),
                       SUM(m.csi) FILTER (WHERE m.current AND m.state = 'done' AND m.csi_hierarchy_id IS NOT NULL
                                          AND m.survey_kind = 'after_service'),
                       COUNT(*) FILTER (WHERE m.current AND m.state = 'done' AND m.csi_hierarchy_id IS NOT NULL
                                          AND m.survey_kind = 'after_service'),
                       SUM(m.csi) FILTER (WHERE NOT m.current AND m.state = 'done' AND m.csi_hierarchy_id IS NOT NULL
                                          AND m.survey_kind = 'after_service'),
                       COUNT(*) FILTER (WHERE NOT m.current AND m.state = 'done' AND m.csi_hierarchy_id IS NOT NULL
                                          AND m.survey_kind = 'after_service')
                  FROM m
                 GROUP BY GROUPING SETS ((m.company_id), ())
                UNION ALL
                SELECT 'kind:' || COALESCE(m.survey_kind, ''), NULL, COUNT(*), NULL, NULL,
                       SUM(m.overall_score) FILTER (WHERE m.overall_score > 0),
                       COUNT(*) FILTER (WHERE m.overall_score > 0),
                       SUM(m.csi) FILTER (WHERE m.csi_hierarchy_id IS NOT NULL),
                       COUNT(*) FILTER (WHERE m.csi_hierarchy_id IS NOT NULL),
                       NULL, NULL
                  FROM m
                 WHERE m.current AND m.state = 'done'
                 GROUP BY m.survey_kind
                UNION ALL
                SELECT 'question', a.question_id, COUNT(*), NULL, NULL, SUM(a.score_value), NULL, NULL, NULL, NULL, NULL
                  FROM m
                  JOIN auto_crm_callback_answer a ON a.callback_id = m.id
                 WHERE m.current AND m.state = 'done' AND a.score IS NOT NULL
                 GROUP BY a.question_id
                UNION ALL
                SELECT 'issue', rel.tag_id, COUNT(*), NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL
                  FROM m
                 CROSS JOIN LATERAL (
                       SELECT r.tag_id FROM auto_crm_callback_issue_tag_rel r WHERE r.callback_id = m.id OFFSET 0
                       ) rel
                 WHERE m.current
                 GROUP BY rel.tag_id
                """,
                callbacks=callbacks,
            )
        )
        question_figures, issue_figures, kind_figures = [], [], {}
        for kind, key, count, *figures in self.env.cr.fetchall():
            executed, successful, overall_sum, overall_count, csi_sum, csi_count, prev_sum, prev_count = figures
            if kind.startswith("kind:"):
                kind_figures[kind[5:]] = {
                    "successful": count,
                    "overall": _avg(overall_sum or 0.0, overall_count),
                    "index": _avg(csi_sum or 0.0, csi_count),
                }
            elif kind == "store":
                row = total if key is None else rows[key]
                row.update(
                    due=count,
                    executed=executed,
                    successful=successful,
                    overall_sum=overall_sum or 0.0,
                    overall_count=overall_count,
                    csi_sum=csi_sum or 0.0,
                    csi_count=csi_count,
                    previous_csi_sum=prev_sum or 0.0,
                    previous_csi_count=prev_count,
                )
            elif kind == "question":
                question_figures.append((key, overall_sum, count))
            else:
                issue_figures.append((key, count))
        Question = self.env["auto_crm.question"].browse([key for key, _total, _count in question_figures])
        questions = [
            {"question": question, "step": question.step, "average": _avg(score_sum, count), "answers": count}
            for question, (_key, score_sum, count) in zip(Question, question_figures, strict=True)
        ]
        questions.sort(
            key=lambda q: (
                q["question"].questionnaire_id.sequence,
                q["question"].questionnaire_id.id,
                q["question"].sequence,
                q["question"].id,
            )
        )
        Tag = self.env["auto_crm.callback.issue.tag"].browse([key for key, _count in issue_figures])
        issues = [{"tag": tag, "count": count} for tag, (_key, count) in zip(Tag, issue_figures, strict=True)]
        issues.sort(key=lambda i: (-i["count"], i["tag"].name or ""))
        return {
            "start": start,
            "previous_start": previous_start,
            "stores": stores,
            "lines": [self._figure_line(company.name, rows[company.id]) for company in stores],
            "total": self._figure_line(_("All selected stores"), total),
            "questions": questions,
            "issues": issues,
            "kinds": self._kind_lines(kind_figures),
        }

    def _kind_lines(self, kind_figures):
        """One line per kind of survey, in the kinds' order (a kind without a successful call shows
        zero), then the calls without a questionnaire if any."""
        labels = dict(self.env["auto_crm.questionnaire"]._fields["kind"]._description_selection(self.env))
        lines = []
        for kind, label in [*labels.items(), ("", _("No questionnaire"))]:
            figures = kind_figures.get(kind)
            if figures is None and kind == "":
                continue
            figures = figures or {"successful": 0, "overall": None, "index": None}
            lines.append(dict(figures, kind=kind, label=label, is_csi=kind == "after_service"))
        return lines

    @staticmethod
    def _figure_line(label, row):
        csi = _avg(row["csi_sum"], row["csi_count"])
        previous = _avg(row["previous_csi_sum"], row["previous_csi_count"])
        return {
            "label": label,
            "due": int(row["due"]),
            "executed": int(row["executed"]),
            "executed_rate": _pct(row["executed"], row["due"]),
            "successful": int(row["successful"]),
            "successful_rate": _pct(row["successful"], row["due"]),
            "overall": _avg(row["overall_sum"], row["overall_count"]),
            "csi": csi,
            "previous_csi": previous,
            "csi_change": csi - previous if csi is not None and previous is not None else None,
        }

    def _definitions(self):
        return [
            _("Due: callbacks whose due date falls in the month, cancelled ones excepted."),
            _("Executed: due callbacks that were worked - at least one attempt logged, or closed as done or failed."),
            _("Successful: due callbacks done - the customer was reached and answered."),
            _(
                "Satisfaction with the last visit: mean overall score (1 to 5) of the successful after-service "
                "callbacks."
            ),
            _("Satisfaction per question: mean score (1 to 5) of the answers of the successful callbacks."),
            _(
                "CSI: mean satisfaction index (0 to 100, AHP weights) of the successful after-service callbacks; "
                "change in points from the previous month."
            ),
            _(
                "By kind of survey: the successful callbacks of each kind (after service, after sale, win-back, "
                "complaint confirmation...), their mean overall score and mean index, reported apart from the CSI."
            ),
        ]

    # ------------------------------------------------------------------ the stores side by side

    #: The figures of the store comparison, in their order on screen.
    GROUP_FIGURES = ("visits", "callbacks", "complaints", "retention")

    def _group_rows(self, keys):
        return {company.id: dict.fromkeys(keys, 0) for company in self.company_ids} | {None: dict.fromkeys(keys, 0)}

    def _group_fill(self, rows, keys):
        """Fill ``rows`` from the fetched GROUPING SETS rows (store id, or None for the total, then ``keys``)."""
        for company_id, *values in self.env.cr.fetchall():
            rows[company_id].update({key: value or 0 for key, value in zip(keys, values, strict=True)})

    def _get_group_figures(self, figures=GROUP_FIGURES):
        """The month's figures of each selected store and of all of them (the dealer group's total).

        Set-based: ONE ``GROUP BY GROUPING SETS ((store), ())`` query per family of figures over all the
        stores at once (never a query per store), each narrowed to the month on its date index and built
        with ``Model._search`` so that the user's record rules apply:

        * *visits*: visits delivered in the month, and their *revenue* (total amount);
        * *callbacks*: due in the month (cancelled excepted), *executed* and *successful* as in the monthly
          report, and the *CSI*: mean index of the successful ones that have one;
        * *complaints*: *opened* (received in the month), *closed* (closed in the month) and *overdue* (their
          resolution deadline fell in the month and passed before they were resolved);
        * *retention*: vehicles due for their service in the month and those that came back (the service
          retention analysis).

        Returns ``{"start", "stores", "rows": {store id: {figure: value}}, "total": {...}}``.
        """
        self._check_stores()
        if not self.env.user.has_group("auto_crm.group_manager"):
            raise AccessError(_("Compare Stores: the stores side by side are for store and group managers."))
        start, stop = self._period()
        start_dt, stop_dt = fields.Datetime.to_datetime(start), fields.Datetime.to_datetime(stop)
        company_ids = self.company_ids.ids
        values = {}
        self._jit_off()
        if "visits" in figures:
            keys = ("visits", "revenue")
            rows = self._group_rows(keys)
            Visit = self.env["auto_crm.service.visit"].with_context(active_test=False)
            query = Visit._search(
                [
                    ("date_delivered", ">=", start_dt),
                    ("date_delivered", "<", stop_dt),
                    ("state", "=", "followup"),
                    ("company_id", "in", company_ids),
                ]
            )
            v = SQL.identifier(Visit._table)
            self.env.cr.execute(
                SQL(
                    """SELECT %(v)s.company_id, COUNT(*), SUM(%(v)s.amount_total)
                         FROM %(from)s WHERE %(where)s
                     GROUP BY GROUPING SETS ((%(v)s.company_id), ())""",
                    v=v,
                    **{"from": query.from_clause, "where": query.where_clause},
                )
            )
            self._group_fill(rows, keys)
            values.update(dict.fromkeys(keys, rows))
        if "callbacks" in figures:
            keys = ("due", "executed", "successful", "csi_sum", "csi_count")
            rows = self._group_rows(keys)
            cb = SQL.identifier("auto_crm_callback")
            callbacks = self._month_callbacks(
                start,
                stop,
                [
                    SQL("%s.company_id", cb),
                    SQL("%s.state", cb),
                    SQL("%s.csi", cb),
                    SQL("%s.csi_hierarchy_id", cb),
                    SQL("%s.survey_kind", cb),
                    SQL("%s AS executed", callback_executed_sql(cb)),
                ],
            )
            self.env.cr.execute(
                SQL(
                    """WITH m AS NOT MATERIALIZED (%(callbacks)s)
                       SELECT m.company_id, COUNT(*), COUNT(*) FILTER (WHERE m.executed),
                              COUNT(*) FILTER (WHERE m.state = 'done'),
                              -- the CSI takes after-service calls only (survey kinds), as the monthly report
                              SUM(m.csi) FILTER (WHERE m.state = 'done' AND m.csi_hierarchy_id IS NOT NULL
                                                   AND m.survey_kind = 'after_service'),
                              COUNT(*) FILTER (WHERE m.state = 'done' AND m.csi_hierarchy_id IS NOT NULL
                                                 AND m.survey_kind = 'after_service')
                         FROM m
                     GROUP BY GROUPING SETS ((m.company_id), ())""",
                    callbacks=callbacks,
                )
            )
            self._group_fill(rows, keys)
            values.update(dict.fromkeys(keys, rows))
        if "complaints" in figures:
            keys = ("opened", "closed", "overdue")
            rows = self._group_rows(keys)
            Complaint = self.env["auto_crm.complaint"].with_context(active_test=False)
            now = min(fields.Datetime.now(), stop_dt)
            query = Complaint._search(
                [
                    ("company_id", "in", company_ids),
                    "|",
                    "|",
                    "&",
                    ("date_received", ">=", start_dt),
                    ("date_received", "<", stop_dt),
                    "&",
                    ("date_closed", ">=", start_dt),
                    ("date_closed", "<", stop_dt),
                    "&",
                    ("deadline_resolve", ">=", start_dt),
                    ("deadline_resolve", "<", now),
                ]
            )
            c = SQL.identifier(Complaint._table)
            self.env.cr.execute(
                SQL(
                    """SELECT %(c)s.company_id,
                              COUNT(*) FILTER (WHERE %(c)s.date_received >= %(start)s
                                                 AND %(c)s.date_received < %(stop)s),
                              COUNT(*) FILTER (WHERE %(c)s.date_closed >= %(start)s AND %(c)s.date_closed < %(stop)s),
                              COUNT(*) FILTER (WHERE %(c)s.deadline_resolve >= %(start)s
                                                 AND %(c)s.deadline_resolve < %(now)s
                                                 AND (%(c)s.date_resolved IS NULL
                                                      OR %(c)s.date_resolved > %(c)s.deadline_resolve))
                         FROM %(from)s WHERE %(where)s
                     GROUP BY GROUPING SETS ((%(c)s.company_id), ())""",
                    c=c,
                    start=start_dt,
                    stop=stop_dt,
                    now=now,
                    **{"from": query.from_clause, "where": query.where_clause},
                )
            )
            self._group_fill(rows, keys)
            values.update(dict.fromkeys(keys, rows))
        if "retention" in figures:
            keys = ("retention_due", "retention_returned")
            rows = self._group_rows(keys)
            Retention = self.env["auto_crm.retention.report"]
            query = Retention._search([("month", "=", start), ("company_id", "in", company_ids)])
            r = SQL.identifier(Retention._table)
            self.env.cr.execute(
                SQL(
                    """SELECT %(r)s.company_id, SUM(%(r)s.due_count), SUM(%(r)s.returned_count)
                         FROM %(from)s WHERE %(where)s
                     GROUP BY GROUPING SETS ((%(r)s.company_id), ())""",
                    r=r,
                    **{"from": query.from_clause, "where": query.where_clause},
                )
            )
            self._group_fill(rows, keys)
            values.update(dict.fromkeys(keys, rows))
        stores = self.company_ids.sorted(lambda c: (c.sequence, c.name))
        return {
            "start": start,
            "stores": stores,
            "rows": {cid: self._group_line({k: values[k][cid][k] for k in values}) for cid in stores.ids},
            "total": self._group_line({k: values[k][None][k] for k in values}),
        }

    @staticmethod
    def _group_line(row):
        line = dict(row)
        if "revenue" in row:
            line["revenue"] = float(row["revenue"] or 0.0)
        if "due" in row:
            line["csi"] = _avg(row["csi_sum"], row["csi_count"])
            line["executed_rate"] = _pct(row["executed"], row["due"])
            line["successful_rate"] = _pct(row["successful"], row["due"])
        if "retention_due" in row:
            line["retention_rate"] = _pct(row["retention_returned"], row["retention_due"])
        return line

    def _render_group_html(self, figures):
        headers = [
            _("Store"), _("Visits"), _("Revenue"), _("CSI"), _("Retention %"), _("Complaints Opened"),
            _("Complaints Closed"), _("Complaints Overdue"), _("Callbacks Due"), _("Executed"), _("Executed %"),
            _("Successful"), _("Successful %"),
        ]  # fmt: skip
        head = Markup("").join(Markup("<th>%s</th>") % h for h in headers)

        def row(label, line, bold=False):
            cells = [
                label,
                line["visits"],
                self._fmt(line["revenue"], "{:,.2f}"),
                self._fmt(line["csi"]),
                self._fmt(line["retention_rate"] * 100, "{:.1f} %"),
                line["opened"],
                line["closed"],
                line["overdue"],
                line["due"],
                line["executed"],
                self._fmt(line["executed_rate"] * 100, "{:.1f} %"),
                line["successful"],
                self._fmt(line["successful_rate"] * 100, "{:.1f} %"),
            ]
            tag = Markup("<th>%s</th>") if bold else Markup("<td>%s</td>")
            return Markup("<tr>%s</tr>") % Markup("").join(tag % c for c in cells)

        body = Markup("").join(row(store.name, figures["rows"][store.id]) for store in figures["stores"])
        body += row(_("Total of the stores"), figures["total"], bold=True)
        return Markup(
            "<div class='o_auto_crm_callback_report'><h4>%(title)s</h4>"
            "<table class='table table-sm o_auto_crm_report_compare'><thead><tr>%(head)s</tr></thead>"
            "<tbody>%(body)s</tbody></table><ul class='text-muted small'>%(notes)s</ul></div>"
        ) % {
            "title": _("Stores side by side, %s", self._month_label(figures["start"])),
            "head": head,
            "body": body,
            "notes": Markup("").join(Markup("<li>%s</li>") % n for n in self._group_definitions()),
        }

    def _group_definitions(self):
        return [
            _("Visits and revenue: visits delivered in the month and their total amount."),
            _("CSI: mean satisfaction index of the callbacks due in the month and done."),
            _("Retention: vehicles due for their service in the month that came back (service retention)."),
            _(
                "Complaints: opened (received in the month), closed (closed in the month), overdue (their "
                "resolution deadline fell in the month and passed before they were resolved)."
            ),
            _("Callbacks: due in the month, executed and successful as in the monthly report."),
        ]

    # ------------------------------------------------------------------ on screen

    def action_compute(self):
        self.ensure_one()
        if self.compare_stores:
            html = self._render_group_html(self._get_group_figures())
        else:
            html = self._render_html(self._get_figures())
        self._owned_write({"summary_html": html})
        return self._reopen()

    def _reopen(self):
        return {
            "type": "ir.actions.act_window",
            "res_model": self._name,
            "res_id": self.id,
            "view_mode": "form",
            "target": "new",
            "name": _("Monthly Callback Report"),
        }

    def _fmt(self, value, pattern="{:.1f}"):
        return "-" if value is None else pattern.format(value)

    def _render_html(self, figures):
        headers = [
            _("Store"),
            _("Due"),
            _("Executed"),
            _("Executed %"),
            _("Successful"),
            _("Successful %"),
            _("Satisfaction (1-5)"),
            _("CSI"),
            _("Previous CSI"),
            _("CSI Change"),
        ]
        head = Markup("").join(Markup("<th>%s</th>") % h for h in headers)

        def row(line, bold=False):
            cells = [
                line["label"],
                line["due"],
                line["executed"],
                self._fmt(line["executed_rate"] * 100, "{:.1f} %"),
                line["successful"],
                self._fmt(line["successful_rate"] * 100, "{:.1f} %"),
                self._fmt(line["overall"], "{:.2f}"),
                self._fmt(line["csi"]),
                self._fmt(line["previous_csi"]),
                self._fmt(line["csi_change"], "{:+.1f}"),
            ]
            tag = Markup("<th>%s</th>") if bold else Markup("<td>%s</td>")
            return Markup("<tr>%s</tr>") % Markup("").join(tag % c for c in cells)

        body = Markup("").join(row(line) for line in figures["lines"])
        if len(figures["lines"]) > 1:
            body += row(figures["total"], bold=True)
        questions = Markup("").join(
            Markup("<tr><td>%s</td><td>%s</td><td>%s</td></tr>")
            % (q["question"].name, self._fmt(q["average"], "{:.2f}"), q["answers"])
            for q in figures["questions"]
        ) or Markup("<tr><td colspan='3'>%s</td></tr>") % _("No answer this month.")
        issues = Markup("").join(
            Markup("<tr><td>%s</td><td>%s</td></tr>") % (i["tag"].name, i["count"]) for i in figures["issues"]
        ) or Markup("<tr><td colspan='2'>%s</td></tr>") % _("No issue raised this month.")
        kinds = Markup("").join(
            Markup("<tr><td>%s</td><td>%s</td><td>%s</td><td>%s</td></tr>")
            % (k["label"], k["successful"], self._fmt(k["overall"], "{:.2f}"), self._fmt(k["index"]))
            for k in figures["kinds"]
        )
        notes = Markup("").join(Markup("<li>%s</li>") % d for d in self._definitions())
        scope = _("Your own callbacks only.") if self.own_only else ""
        return Markup(
            "<div class='o_auto_crm_callback_report'>"
            "<h4>%(title)s</h4><p>%(scope)s</p>"
            "<table class='table table-sm o_auto_crm_report_stores'><thead><tr>%(head)s</tr></thead>"
            "<tbody>%(body)s</tbody></table>"
            "<h5>%(k_title)s</h5><table class='table table-sm o_auto_crm_report_kinds'><thead><tr>"
            "<th>%(kind)s</th><th>%(successful)s</th><th>%(k_overall)s</th><th>%(k_index)s</th></tr></thead>"
            "<tbody>%(kinds)s</tbody></table>"
            "<h5>%(q_title)s</h5><table class='table table-sm o_auto_crm_report_questions'><thead><tr>"
            "<th>%(q)s</th><th>%(avg)s</th>"
            "<th>%(answers)s</th></tr></thead><tbody>%(questions)s</tbody></table>"
            "<h5>%(i_title)s</h5><table class='table table-sm o_auto_crm_report_issues'><thead><tr>"
            "<th>%(issue)s</th><th>%(count)s</th>"
            "</tr></thead><tbody>%(issues)s</tbody></table>"
            "<ul class='text-muted small'>%(notes)s</ul></div>"
        ) % {
            "title": _("Callbacks of %s", self._month_label(figures["start"])),
            "scope": scope,
            "head": head,
            "body": body,
            "k_title": _("Satisfaction by Kind of Survey"),
            "kind": _("Survey Kind"),
            "successful": _("Successful"),
            "k_overall": _("Overall (1-5)"),
            "k_index": _("Index (0-100)"),
            "kinds": kinds,
            "q_title": _("Satisfaction per Question"),
            "q": _("Question"),
            "avg": _("Average (1-5)"),
            "answers": _("Answers"),
            "questions": questions,
            "i_title": _("Issues Raised Most"),
            "issue": _("Issue"),
            "count": _("Callbacks"),
            "issues": issues,
            "notes": notes,
        }

    # ------------------------------------------------------------------ XLSX

    def _download(self, content, filename):
        self._owned_write({"xlsx_file": base64.b64encode(content), "xlsx_name": filename})
        return {
            "type": "ir.actions.act_url",
            "url": f"/web/content/{self._name}/{self.id}/xlsx_file/{filename}?download=true",
            "target": "self",
        }

    def _check_xlsxwriter(self):
        if xlsxwriter is None:
            raise UserError(_("Workbook: the Python package XlsxWriter is not installed on the server."))

    def _workbook(self, output):
        """A workbook in constant-memory mode: each row goes to a temporary file as soon as the next
        one starts, so Python holds one row per sheet whatever the month's size (every sheet is
        written row after row, in order; strings are inline instead of a shared table)."""
        return xlsxwriter.Workbook(output, {"constant_memory": True})

    def _formats(self, workbook):
        return {
            "title": workbook.add_format({"bold": True, "font_size": 14}),
            "label": workbook.add_format({"bold": True}),
            "note": workbook.add_format({"italic": True, "font_color": "#555555"}),
            "header": workbook.add_format(
                {"bold": True, "bg_color": "#DDEBF7", "border": 1, "text_wrap": True, "valign": "top"}
            ),
            "int": workbook.add_format({"num_format": "#,##0", "border": 1}),
            "pct": workbook.add_format({"num_format": "0.0%", "border": 1}),
            "score": workbook.add_format({"num_format": "0.00", "border": 1}),
            "index": workbook.add_format({"num_format": "0.0", "border": 1}),
            "change": workbook.add_format({"num_format": "+0.0;-0.0;0.0", "border": 1}),
            "text": workbook.add_format({"border": 1}),
            "date": workbook.add_format({"num_format": "yyyy-mm-dd", "border": 1}),
            "datetime": workbook.add_format({"num_format": "yyyy-mm-dd hh:mm", "border": 1}),
            "total": workbook.add_format({"bold": True, "border": 1, "top": 2}),
        }

    def _write_header_block(self, sheet, formats, title, start, notes):
        sheet.write(0, 0, title, formats["title"])
        sheet.write(1, 0, _("Month"), formats["label"])
        sheet.write(1, 1, self._month_label(start))
        sheet.write(2, 0, _("Stores"), formats["label"])
        sheet.write(2, 1, ", ".join(self.company_ids.sorted(lambda c: (c.sequence, c.name)).mapped("name")))
        sheet.write(3, 0, _("Generated"), formats["label"])
        sheet.write(
            3,
            1,
            _("%(date)s by %(user)s", date=fields.Datetime.to_string(fields.Datetime.now()), user=self.env.user.name),
        )
        row = 4
        if self.own_only:
            sheet.write(row, 0, _("Scope"), formats["label"])
            sheet.write(row, 1, _("Your own callbacks only."))
            row += 1
        for note in notes:
            sheet.write(row, 0, note, formats["note"])
            row += 1
        return row + 1

    #: xlsxwriter's paper index of A4, the paper of Chinese offices.
    _PAPER_A4 = 9

    def _print_setup(self, sheet, last_row, last_col, one_page=True):
        """Print ``sheet`` landscape on A4, its used range as the print area, fitted to one page
        (``one_page``) or to the width of one page and as many pages down as it needs."""
        sheet.set_landscape()
        sheet.set_paper(self._PAPER_A4)
        sheet.print_area(0, 0, last_row, last_col)
        sheet.fit_to_pages(1, 1 if one_page else 0)
        sheet.center_horizontally()

    def _write_value(self, sheet, row, col, value, fmt):
        if value is None:
            sheet.write_blank(row, col, None, fmt)
        else:
            sheet.write_number(row, col, value, fmt)

    def _build_report_xlsx(self, figures):
        self._check_xlsxwriter()
        output = io.BytesIO()
        workbook = self._workbook(output)
        formats = self._formats(workbook)

        # Summary
        sheet = workbook.add_worksheet(_("Summary"))
        row = self._write_header_block(
            sheet, formats, _("Monthly Callback Report"), figures["start"], self._definitions()
        )
        headers = [
            _("Store"),
            _("Due"),
            _("Executed"),
            _("Executed %"),
            _("Successful"),
            _("Successful %"),
            _("Satisfaction with the Last Visit (1-5)"),
            _("CSI (0-100)"),
            _("Previous Month CSI"),
            _("CSI Change (points)"),
        ]
        sheet.write_row(row, 0, headers, formats["header"])
        sheet.freeze_panes(row + 1, 1)
        lines = list(figures["lines"])
        if len(lines) > 1:
            lines.append(figures["total"])
        for offset, line in enumerate(lines, start=1):
            r = row + offset
            is_total = line is figures["total"]
            sheet.write_string(r, 0, line["label"], formats["total"] if is_total else formats["text"])
            sheet.write_number(r, 1, line["due"], formats["int"])
            sheet.write_number(r, 2, line["executed"], formats["int"])
            sheet.write_number(r, 3, line["executed_rate"], formats["pct"])
            sheet.write_number(r, 4, line["successful"], formats["int"])
            sheet.write_number(r, 5, line["successful_rate"], formats["pct"])
            self._write_value(sheet, r, 6, line["overall"], formats["score"])
            self._write_value(sheet, r, 7, line["csi"], formats["index"])
            self._write_value(sheet, r, 8, line["previous_csi"], formats["index"])
            self._write_value(sheet, r, 9, line["csi_change"], formats["change"])
        sheet.set_column(0, 0, 34)
        sheet.set_column(1, 9, 14)
        # Printed: one landscape page across, the store table's header repeated on every page.
        self._print_setup(sheet, last_row=row + len(lines), last_col=len(headers) - 1, one_page=len(lines) <= 30)
        sheet.repeat_rows(row)

        # The chart of the satisfaction per question on a page of its own, right after the summary: a
        # chart sheet prints as one landscape page (its data is on the Questions sheet).
        chart_sheet = workbook.add_chartsheet(_("Chart")[:31])
        chart_sheet.set_landscape()
        chart_sheet.set_paper(self._PAPER_A4)

        # Satisfaction per question, with a native chart
        qsheet = workbook.add_worksheet(_("Questions"))
        qsheet.write_row(0, 0, [_("Question"), _("Process Step"), _("Average (1-5)"), _("Answers")], formats["header"])
        qsheet.freeze_panes(1, 1)
        steps = dict(self.env["auto_crm.question"]._fields["step"]._description_selection(self.env))
        for r, question in enumerate(figures["questions"], start=1):
            qsheet.write_string(r, 0, question["question"].name or "", formats["text"])
            qsheet.write_string(r, 1, steps.get(question["step"], ""), formats["text"])
            self._write_value(qsheet, r, 2, question["average"], formats["score"])
            qsheet.write_number(r, 3, question["answers"], formats["int"])
        qsheet.set_column(0, 0, 50)
        qsheet.set_column(1, 3, 16)
        count = len(figures["questions"])
        chart = workbook.add_chart({"type": "bar"})
        chart.add_series(
            {
                "name": _("Average (1-5)"),
                "categories": [qsheet.name, 1, 0, max(count, 1), 0],
                "values": [qsheet.name, 1, 2, max(count, 1), 2],
                "data_labels": {"value": True, "num_format": "0.00"},
            }
        )
        chart.set_title({"name": _("Satisfaction per Question")})
        chart.set_x_axis({"min": 0, "max": 5, "major_unit": 1})
        chart.set_y_axis({"reverse": True})
        chart.set_legend({"none": True})
        self._print_setup(qsheet, last_row=max(count, 1), last_col=3)
        qsheet.repeat_rows(0)
        chart_sheet.set_chart(chart)

        # Issues raised most
        isheet = workbook.add_worksheet(_("Issues"))
        isheet.write_row(0, 0, [_("Issue"), _("Callbacks")], formats["header"])
        isheet.freeze_panes(1, 1)
        for r, issue in enumerate(figures["issues"], start=1):
            isheet.write_string(r, 0, issue["tag"].name or "", formats["text"])
            isheet.write_number(r, 1, issue["count"], formats["int"])
        isheet.set_column(0, 0, 40)
        isheet.set_column(1, 1, 12)
        self._print_setup(isheet, last_row=max(len(figures["issues"]), 1), last_col=1)
        isheet.repeat_rows(0)

        # Satisfaction by kind of survey, apart from the CSI
        ksheet = workbook.add_worksheet(_("Surveys"))
        ksheet.write_row(
            0, 0, [_("Survey Kind"), _("Successful"), _("Overall (1-5)"), _("Index (0-100)")], formats["header"]
        )
        for r, kind in enumerate(figures["kinds"], start=1):
            ksheet.write_string(r, 0, kind["label"], formats["text"])
            ksheet.write_number(r, 1, kind["successful"], formats["int"])
            self._write_value(ksheet, r, 2, kind["overall"], formats["score"])
            self._write_value(ksheet, r, 3, kind["index"], formats["index"])
        ksheet.set_column(0, 0, 34)
        ksheet.set_column(1, 3, 14)
        self._print_setup(ksheet, last_row=max(len(figures["kinds"]), 1), last_col=3)

        # The underlying callbacks
        self._write_callbacks_sheet(workbook, formats, figures["start"])
        workbook.close()
        return output.getvalue()

    #: Rows fetched per round trip from the data sheet's server-side cursor.
    _DATA_SHEET_BATCH = 2000

    def _callback_rows(self, start):
        """The callbacks of the month as tuples, with the user's record rules, streamed.

        One query: the month's callbacks are narrowed first (the due-date index and the record rules,
        materialised) and only then joined to their store, customer, car, advisor, agent, attempts,
        index version and issue tags. It runs in a server-side (named) cursor of the request's own
        transaction, fetched ``_DATA_SHEET_BATCH`` rows at a time, so Python holds one batch whatever
        the month's size.
        """
        stop = start + relativedelta(months=1)
        cb = SQL.identifier("auto_crm_callback")
        callbacks = self._month_callbacks(
            start,
            stop,
            [
                SQL("%s.%s", cb, SQL.identifier(name))
                for name in (
                    "id", "name", "company_id", "date_due", "state", "date_done", "partner_id", "vehicle_id",
                    "visit_id", "user_id", "overall_score", "csi", "csi_hierarchy_id",
                )
            ],
        )  # fmt: skip
        query = SQL(
            """
            WITH m AS MATERIALIZED (%(callbacks)s)
            SELECT m.name, comp.name, m.date_due, m.state, m.date_done, p.name, veh.plate,
                   COALESCE(ap.name, ''), COALESCE(up.name, ''),
                   (SELECT COUNT(*) FROM auto_crm_callback_attempt att WHERE att.callback_id = m.id),
                   NULLIF(m.overall_score, 0),
                   CASE WHEN m.csi_hierarchy_id IS NULL THEN NULL ELSE m.csi END,
                   h.version,
                   (SELECT string_agg(tag.label, ', ' ORDER BY tag.label)
                      FROM (SELECT COALESCE(t.name->>%(lang)s, t.name->>'en_US') AS label
                              FROM auto_crm_callback_issue_tag_rel rel
                              JOIN auto_crm_callback_issue_tag t ON t.id = rel.tag_id
                             WHERE rel.callback_id = m.id) tag)
              FROM m
              JOIN res_company comp ON comp.id = m.company_id
              JOIN res_partner p ON p.id = m.partner_id
              LEFT JOIN auto_crm_vehicle veh ON veh.id = m.vehicle_id
              LEFT JOIN auto_crm_service_visit v ON v.id = m.visit_id
              LEFT JOIN res_users au ON au.id = v.advisor_id
              LEFT JOIN res_partner ap ON ap.id = au.partner_id
              LEFT JOIN res_users u ON u.id = m.user_id
              LEFT JOIN res_partner up ON up.id = u.partner_id
              LEFT JOIN auto_crm_csi_hierarchy h ON h.id = m.csi_hierarchy_id
          ORDER BY comp.name, m.date_due, m.id
            """,
            callbacks=callbacks,
            lang=self.env.lang or "en_US",
        )
        self.env.flush_all()
        self._jit_off()
        cr = self.env.cr
        # The ORM's cursor has no server-side mode: a named psycopg2 cursor on the same connection,
        # in the same transaction (same snapshot, same savepoint), closed at the end of the sheet.
        # Its round trips are not in the ORM's query count: it is one query to PostgreSQL.
        with cr._cnx.cursor(name=f"auto_crm_callback_report_{self.id}", scrollable=False) as named:
            named.itersize = self._DATA_SHEET_BATCH
            named.execute(query.code, query.params)
            yield from named

    def _write_callbacks_sheet(self, workbook, formats, start):
        sheet = workbook.add_worksheet(_("Callbacks"))
        headers = [
            _("Callback"),
            _("Store"),
            _("Due"),
            _("Status"),
            _("Completed On"),
            _("Customer"),
            _("Licence Plate"),
            _("Service Advisor"),
            _("Assigned To"),
            _("Attempts"),
            _("Overall Satisfaction"),
            _("CSI"),
            _("Index Weights Version"),
            _("Issues Raised"),
        ]
        sheet.write_row(0, 0, headers, formats["header"])
        sheet.freeze_panes(1, 1)
        states = dict(self.env["auto_crm.callback"]._fields["state"]._description_selection(self.env))
        for r, values in enumerate(self._callback_rows(start), start=1):
            (name, store, due, state, done, customer, plate, advisor, agent, attempts, overall, csi, version, tags) = (
                values
            )
            sheet.write_string(r, 0, name or "", formats["text"])
            sheet.write_string(r, 1, store or "", formats["text"])
            sheet.write_datetime(r, 2, fields.Datetime.to_datetime(due), formats["date"])
            sheet.write_string(r, 3, states.get(state, state), formats["text"])
            if done:
                sheet.write_datetime(r, 4, done, formats["datetime"])
            else:
                sheet.write_blank(r, 4, None, formats["text"])
            sheet.write_string(r, 5, customer or "", formats["text"])
            sheet.write_string(r, 6, plate or "", formats["text"])
            sheet.write_string(r, 7, advisor, formats["text"])
            sheet.write_string(r, 8, agent, formats["text"])
            sheet.write_number(r, 9, attempts, formats["int"])
            self._write_value(sheet, r, 10, overall, formats["int"])
            self._write_value(sheet, r, 11, csi, formats["index"])
            self._write_value(sheet, r, 12, version, formats["int"])
            sheet.write_string(r, 13, tags or "", formats["text"])
        sheet.set_column(0, 0, 28)
        sheet.set_column(1, 1, 20)
        sheet.set_column(2, 4, 16)
        sheet.set_column(5, 8, 18)
        sheet.set_column(9, 12, 12)
        sheet.set_column(13, 13, 30)
        sheet.autofilter(0, 0, 0, len(headers) - 1)
        # As many pages down as the month needs, one page across, the header row on each.
        sheet.set_landscape()
        sheet.set_paper(self._PAPER_A4)
        sheet.fit_to_pages(1, 0)
        sheet.repeat_rows(0)

    def _build_group_xlsx(self, figures):
        """The stores side by side as a workbook: one row per store and the total of the stores."""
        self._check_xlsxwriter()
        output = io.BytesIO()
        workbook = self._workbook(output)
        formats = self._formats(workbook)
        sheet = workbook.add_worksheet(_("Stores"))
        row = self._write_header_block(
            sheet,
            formats,
            _("Stores side by side, %s", self._month_label(figures["start"])),
            figures["start"],
            self._group_definitions(),
        )
        columns = [
            (_("Visits"), "visits", "int"), (_("Revenue"), "revenue", "score"), (_("CSI"), "csi", "index"),
            (_("Retention %"), "retention_rate", "pct"), (_("Complaints Opened"), "opened", "int"),
            (_("Complaints Closed"), "closed", "int"), (_("Complaints Overdue"), "overdue", "int"),
            (_("Callbacks Due"), "due", "int"), (_("Executed"), "executed", "int"),
            (_("Executed %"), "executed_rate", "pct"), (_("Successful"), "successful", "int"),
            (_("Successful %"), "successful_rate", "pct"),
        ]  # fmt: skip
        sheet.write_row(row, 0, [_("Store")] + [label for label, _key, _fmt in columns], formats["header"])
        sheet.freeze_panes(row + 1, 1)
        lines = [(store.name, figures["rows"][store.id], formats["text"]) for store in figures["stores"]]
        lines.append((_("Total of the stores"), figures["total"], formats["total"]))
        for offset, (label, line, label_format) in enumerate(lines, start=1):
            sheet.write_string(row + offset, 0, label, label_format)
            for col, (_label, key, fmt) in enumerate(columns, start=1):
                self._write_value(sheet, row + offset, col, line[key], formats[fmt])
        sheet.set_column(0, 0, 28)
        sheet.set_column(1, len(columns), 12)
        self._print_setup(sheet, row + len(lines), len(columns), one_page=False)
        workbook.close()
        return output.getvalue()

    def action_export_xlsx(self):
        self.ensure_one()
        if self.compare_stores:
            figures = self._get_group_figures()
            self._owned_write({"summary_html": self._render_group_html(figures)})
            content = self._build_group_xlsx(figures)
            return self._download(content, f"stores_{figures['start']:%Y_%m}.xlsx")
        figures = self._get_figures()
        self._owned_write({"summary_html": self._render_html(figures)})
        content = self._build_report_xlsx(figures)
        return self._download(content, f"callback_report_{figures['start']:%Y_%m}.xlsx")

    # ------------------------------------------------------------------ CSI export

    #: The dimensions of the CSI export, one sheet each (fields of auto_crm.csi.report).
    _CSI_DIMENSIONS = ["company_id", "advisor_id", "technician_id", "brand_id", "visit_type", "user_id"]

    def _csi_domain(self, start, stop):
        domain = [("date_due", ">=", start), ("date_due", "<", stop), ("company_id", "in", self.company_ids.ids)]
        if self.own_only:
            domain.append(("user_id", "=", self.env.uid))
        return domain

    def _get_csi_figures(self):
        """CSI per dimension for the month and the previous one.

        ONE query over the satisfaction analysis (with the user's record rules): the two months are
        a date range on the due date, and every dimension is a grouping set of it.
        """
        self._check_stores()
        start, stop = self._period()
        previous_start = start - relativedelta(months=1)
        Report = self.env["auto_crm.csi.report"]
        query = Report._search(self._csi_domain(previous_start, stop))
        table = SQL.identifier(Report._table)
        columns = [SQL("%s.%s", table, SQL.identifier(name)) for name in self._CSI_DIMENSIONS]
        current = SQL("(%s.date_due >= %s)", table, start)
        query.groupby = SQL(
            "GROUPING SETS (%s)", SQL(", ").join(SQL("(%s, %s)", column, current) for column in columns)
        )
        self._jit_off()
        self.env.cr.execute(
            query.select(
                *(SQL("GROUPING(%s) = 0", column) for column in columns),
                *columns,
                current,
                SQL("SUM(%s.callback_count)", table),
                SQL("SUM(%s.csi_count)", table),
                SQL("SUM(%s.csi)", table),
                SQL("SUM(%s.overall_score)", table),
                SQL("COUNT(%s.overall_score)", table),
            )
        )
        width = len(columns)
        grouped = defaultdict(list)  # dimension index -> [(value, current, figures...)]
        ids = defaultdict(set)  # comodel -> ids to name
        for row in self.env.cr.fetchall():
            index = row[:width].index(True)
            value = row[width + index]
            grouped[index].append((value, *row[2 * width :]))
            field = Report._fields[self._CSI_DIMENSIONS[index]]
            if field.type == "many2one" and value:
                ids[field.comodel_name].add(value)
        # one browse per model, so that the names are read in one go per model
        records = {model: self.env[model].browse(sorted(model_ids)) for model, model_ids in ids.items()}
        result = []
        for index, field_name in enumerate(self._CSI_DIMENSIONS):
            field = Report._fields[field_name]
            title = field._description_string(self.env)
            if field.type == "selection":
                labels = dict(field._description_selection(self.env))
            else:
                labels = {r.id: r.display_name for r in records.get(field.comodel_name, ())}
            lines = defaultdict(
                lambda: {
                    "callbacks": 0,
                    "csi_count": 0,
                    "csi_sum": 0.0,
                    "previous_count": 0,
                    "previous_sum": 0.0,
                    "overall_sum": 0.0,
                    "overall_count": 0,
                }
            )
            for value, is_current, callbacks, csi_count, csi_sum, overall_sum, overall_count in grouped[index]:
                label = labels.get(value, "") if value else ""
                line = lines[label or _("Undefined")]
                if is_current:
                    line["callbacks"] += callbacks
                    line["csi_count"] += csi_count
                    line["csi_sum"] += csi_sum or 0.0
                    line["overall_sum"] += overall_sum or 0.0
                    line["overall_count"] += overall_count
                else:
                    line["previous_count"] += csi_count
                    line["previous_sum"] += csi_sum or 0.0
            rows = []
            for label, line in lines.items():
                csi = _avg(line["csi_sum"], line["csi_count"])
                previous = _avg(line["previous_sum"], line["previous_count"])
                rows.append(
                    {
                        "label": label,
                        "callbacks": line["callbacks"],
                        "csi_count": line["csi_count"],
                        "csi": csi,
                        "overall": _avg(line["overall_sum"], line["overall_count"]),
                        "previous_csi": previous,
                        "csi_change": csi - previous if csi is not None and previous is not None else None,
                    }
                )
            rows.sort(key=lambda r: (-(r["csi"] if r["csi"] is not None else -1), r["label"]))
            result.append((field_name, title, rows))
        return {"start": start, "dimensions": result}

    def _build_csi_xlsx(self, figures):
        self._check_xlsxwriter()
        output = io.BytesIO()
        workbook = self._workbook(output)
        formats = self._formats(workbook)
        notes = [
            _(
                "CSI (0-100) = sum of (global AHP weight x score) over the answered leaf criteria / sum of their "
                "weights; scores 1-5 mapped to 0, 25, 50, 75, 100."
            ),
            _("Each callback keeps the weights (hierarchy version) it was done with."),
            _("Month: the month the callback was due. Only done callbacks count."),
        ]
        headers = [
            None,
            _("Done Callbacks"),
            _("With an Index"),
            _("CSI (0-100)"),
            _("Previous Month CSI"),
            _("CSI Change (points)"),
            _("Satisfaction with the Last Visit (1-5)"),
        ]
        for _field_name, title, rows in figures["dimensions"]:
            sheet = workbook.add_worksheet(title[:31])
            row = self._write_header_block(
                sheet, formats, _("Satisfaction Index by %s", title), figures["start"], notes
            )
            sheet.write_row(row, 0, [title, *headers[1:]], formats["header"])
            sheet.freeze_panes(row + 1, 1)
            for r, line in enumerate(rows, start=row + 1):
                sheet.write_string(r, 0, line["label"], formats["text"])
                sheet.write_number(r, 1, line["callbacks"], formats["int"])
                sheet.write_number(r, 2, line["csi_count"], formats["int"])
                self._write_value(sheet, r, 3, line["csi"], formats["index"])
                self._write_value(sheet, r, 4, line["previous_csi"], formats["index"])
                self._write_value(sheet, r, 5, line["csi_change"], formats["change"])
                self._write_value(sheet, r, 6, line["overall"], formats["score"])
            sheet.set_column(0, 0, 34)
            sheet.set_column(1, 6, 16)
            self._print_setup(sheet, last_row=row + len(rows), last_col=6, one_page=len(rows) <= 30)
            sheet.repeat_rows(row)
        workbook.close()
        return output.getvalue()

    def action_export_csi_xlsx(self):
        self.ensure_one()
        figures = self._get_csi_figures()
        return self._download(self._build_csi_xlsx(figures), f"csi_{figures['start']:%Y_%m}.xlsx")
