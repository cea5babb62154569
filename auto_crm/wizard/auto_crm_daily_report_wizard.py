import base64
import calendar
import datetime
import io

from markupsafe import Markup

from odoo import _, api, fields, models
from odoo.exceptions import AccessError
from odoo.tools import SQL

from ..models.auto_crm_target import attainment

try:
    import xlsxwriter
except ImportError:  # pragma: no cover - declared in the manifest's external dependencies
    xlsxwriter = None


class AutoCrmDailyReportWizard(models.TransientModel):
    """The daily report (日报表) of a store: the figures of one day and the month-to-date attainment of
    the month's targets in cars and money, against the pro-rata line (day of the month / days in the
    month), on screen and as XLSX.

    The day is the store's calendar day (its time zone): a car received at 23:30 in the store counts on
    that day whatever the hour in UTC. Two queries: the visits (day and month to date together) and the
    callbacks of the day.
    """

    _name = "auto_crm.daily.report.wizard"
    _description = "Daily Report"
    _inherit = ["auto_crm.owned.mixin"]
    #: Fields a person writes (auto_crm.owned.mixin); every other stored field is the add-on's.
    _user_fields = {"company_id", "date"}

    company_id = fields.Many2one(
        "res.company",
        string="Store",
        required=True,
        default=lambda self: self.env.company,
        domain=lambda self: [("id", "in", self.env.user.company_ids.ids)],
    )
    currency_id = fields.Many2one(related="company_id.currency_id")
    date = fields.Date(
        string="Day",
        required=True,
        default=lambda self: self.env.company._auto_crm_today(),
        help="The store's calendar day (its time zone).",
    )
    visits_received = fields.Integer(
        compute="_compute_figures", help="Cars received on the day, cancelled visits excepted."
    )
    visits_delivered = fields.Integer(
        compute="_compute_figures", help="Cars delivered on the day (visits not re-opened)."
    )
    revenue_day = fields.Monetary(
        string="Revenue of the Day", compute="_compute_figures", help="Total of the visits delivered on the day."
    )
    callbacks_done = fields.Integer(
        string="Callbacks Worked",
        compute="_compute_figures",
        help="Callbacks with an attempt logged on the day, or completed on the day.",
    )
    callbacks_successful = fields.Integer(
        compute="_compute_figures", help="Callbacks completed on the day: the customer was reached and answered."
    )
    target_id = fields.Many2one(
        "auto_crm.target", string="Targets of the Month", compute="_compute_figures", help="The store's own targets."
    )
    pro_rata = fields.Float(
        string="Expected by Today (%)",
        compute="_compute_figures",
        digits=(5, 1),
        help="The pro-rata line: day of the month / days in the month.",
    )
    mtd_visits = fields.Integer(
        string="Visits Month to Date",
        compute="_compute_figures",
        help="Cars received from the first of the month to the end of the day, cancelled visits excepted.",
    )
    target_visits = fields.Integer(string="Visits Target", compute="_compute_figures")
    expected_visits = fields.Float(string="Visits Expected by Today", compute="_compute_figures", digits=(16, 1))
    attainment_visits = fields.Float(string="Visits Attainment (%)", compute="_compute_figures", digits=(5, 1))
    mtd_revenue = fields.Monetary(
        string="Revenue Month to Date",
        compute="_compute_figures",
        help="Total of the visits delivered from the first of the month to the end of the day.",
    )
    target_revenue = fields.Monetary(string="Revenue Target", compute="_compute_figures")
    expected_revenue = fields.Monetary(string="Revenue Expected by Today", compute="_compute_figures")
    attainment_revenue = fields.Float(string="Revenue Attainment (%)", compute="_compute_figures", digits=(5, 1))
    advisors_html = fields.Html(
        string="Service Advisors",
        compute="_compute_figures",
        sanitize=False,
        help="Month to date per service advisor against their targets of the month.",
    )
    xlsx_file = fields.Binary(string="Workbook", readonly=True, attachment=False)
    xlsx_name = fields.Char(string="File Name", readonly=True)

    # ------------------------------------------------------------------ figures
    def _check_store(self):
        if self.company_id not in self.env.user.company_ids:
            raise AccessError(
                _("Store: you do not work for %s; the report covers your stores only.", self.company_id.name)
            )

    def _get_figures(self):
        """The report's figures, as a dict (amounts in the store's currency)."""
        self.ensure_one()
        self._check_store()
        store, day = self.company_id, self.date
        month = day.replace(day=1)
        days_in_month = calendar.monthrange(day.year, day.month)[1]
        month_start = store._auto_crm_day_start(month)
        day_start = store._auto_crm_day_start(day)
        day_stop = store._auto_crm_day_start(day + datetime.timedelta(days=1))
        self.env.flush_all()
        self.env.cr.execute(
            SQL(
                """
                SELECT COUNT(*) FILTER (WHERE v.state != 'cancel' AND v.date_reception >= %(day_start)s
                                          AND v.date_reception < %(day_stop)s),
                       COUNT(*) FILTER (WHERE v.state = 'followup' AND v.date_delivered >= %(day_start)s
                                          AND v.date_delivered < %(day_stop)s),
                       COALESCE(SUM(v.amount_total) FILTER (WHERE v.state = 'followup'
                                          AND v.date_delivered >= %(day_start)s
                                          AND v.date_delivered < %(day_stop)s), 0),
                       COUNT(*) FILTER (WHERE v.state != 'cancel' AND v.date_reception >= %(month_start)s
                                          AND v.date_reception < %(day_stop)s),
                       COALESCE(SUM(v.amount_total) FILTER (WHERE v.state = 'followup'
                                          AND v.date_delivered >= %(month_start)s
                                          AND v.date_delivered < %(day_stop)s), 0)
                  FROM auto_crm_service_visit v
                 WHERE v.company_id = %(store)s
                   AND ((v.date_reception >= %(month_start)s AND v.date_reception < %(day_stop)s)
                     OR (v.date_delivered >= %(month_start)s AND v.date_delivered < %(day_stop)s))
                """,
                store=store.id,
                month_start=month_start,
                day_start=day_start,
                day_stop=day_stop,
            )
        )
        received, delivered, revenue, mtd_visits, mtd_revenue = self.env.cr.fetchone()
        self.env.cr.execute(
            SQL(
                """
                SELECT COUNT(*), COUNT(*) FILTER (WHERE cb.state = 'done' AND cb.date_done >= %(day_start)s
                                                     AND cb.date_done < %(day_stop)s)
                  FROM auto_crm_callback cb
                 WHERE cb.company_id = %(store)s
                   AND ((cb.state = 'done' AND cb.date_done >= %(day_start)s AND cb.date_done < %(day_stop)s)
                     OR EXISTS (SELECT 1 FROM auto_crm_callback_attempt att
                                 WHERE att.callback_id = cb.id
                                   AND att.date >= %(day_start)s AND att.date < %(day_stop)s))
                """,
                store=store.id,
                day_start=day_start,
                day_stop=day_stop,
            )
        )
        worked, successful = self.env.cr.fetchone()
        target = (
            self.env["auto_crm.target"]
            .sudo()
            .search([("company_id", "=", store.id), ("month", "=", month), ("advisor_id", "=", False)], limit=1)
        )
        pro_rata = day.day / days_in_month
        target_visits, target_revenue = target.target_visits, target.target_revenue
        return {
            "store": store,
            "day": day,
            "month": month,
            "day_of_month": day.day,
            "days_in_month": days_in_month,
            "visits_received": received,
            "visits_delivered": delivered,
            "revenue_day": float(revenue),
            "callbacks_done": worked,
            "callbacks_successful": successful,
            "target": target,
            "pro_rata": pro_rata * 100.0,
            "mtd_visits": mtd_visits,
            "target_visits": target_visits,
            "expected_visits": target_visits * pro_rata,
            "attainment_visits": attainment(mtd_visits, target_visits),
            "mtd_revenue": float(mtd_revenue),
            "target_revenue": target_revenue,
            "expected_revenue": target_revenue * pro_rata,
            "attainment_revenue": attainment(float(mtd_revenue), target_revenue),
            "advisors": self._advisor_lines(store, month, month_start, day_stop, pro_rata),
        }

    def _advisor_lines(self, store, month, month_start, day_stop, pro_rata):
        """Month to date per service advisor (the advisors with a target of the month or a visit so far):
        one query for the visits, one for the advisors' targets."""
        self.env.cr.execute(
            SQL(
                """
                SELECT v.advisor_id,
                       COUNT(*) FILTER (WHERE v.state != 'cancel' AND v.date_reception >= %(month_start)s
                                          AND v.date_reception < %(day_stop)s),
                       COALESCE(SUM(v.amount_total) FILTER (WHERE v.state = 'followup'
                                          AND v.date_delivered >= %(month_start)s
                                          AND v.date_delivered < %(day_stop)s), 0)
                  FROM auto_crm_service_visit v
                 WHERE v.company_id = %(store)s AND v.advisor_id IS NOT NULL
                   AND ((v.date_reception >= %(month_start)s AND v.date_reception < %(day_stop)s)
                     OR (v.date_delivered >= %(month_start)s AND v.date_delivered < %(day_stop)s))
                 GROUP BY v.advisor_id
                """,
                store=store.id,
                month_start=month_start,
                day_stop=day_stop,
            )
        )
        actuals = {advisor_id: (visits, float(revenue)) for advisor_id, visits, revenue in self.env.cr.fetchall()}
        targets = {
            target.advisor_id.id: target
            for target in self.env["auto_crm.target"]
            .sudo()
            .search([("company_id", "=", store.id), ("month", "=", month), ("advisor_id", "!=", False)])
        }
        advisors = self.env["res.users"].sudo().browse(set(actuals) | set(targets))
        lines = []
        for advisor in advisors.sorted(lambda user: (user.name or "", user.id)):
            visits, revenue = actuals.get(advisor.id, (0, 0.0))
            target = targets.get(advisor.id)
            target_visits = target.target_visits if target else 0
            target_revenue = target.target_revenue if target else 0.0
            lines.append(
                {
                    "advisor": advisor.name,
                    "mtd_visits": visits,
                    "target_visits": target_visits,
                    "expected_visits": target_visits * pro_rata,
                    "attainment_visits": attainment(visits, target_visits),
                    "mtd_revenue": revenue,
                    "target_revenue": target_revenue,
                    "expected_revenue": target_revenue * pro_rata,
                    "attainment_revenue": attainment(revenue, target_revenue),
                }
            )
        return lines

    def _advisors_html(self, figures):
        headers = [
            _("Service Advisor"),
            _("Visits Month to Date"),
            _("Visits Target"),
            _("Visits Attainment (%)"),
            _("Revenue Month to Date"),
            _("Revenue Target"),
            _("Revenue Attainment (%)"),
        ]
        head = Markup("").join(Markup("<th>%s</th>") % h for h in headers)
        body = Markup("").join(
            Markup("<tr>%s</tr>")
            % Markup("").join(
                Markup("<td>%s</td>") % cell
                for cell in (
                    line["advisor"],
                    line["mtd_visits"],
                    line["target_visits"],
                    f"{line['attainment_visits']:.1f}",
                    f"{line['mtd_revenue']:,.2f}",
                    f"{line['target_revenue']:,.2f}",
                    f"{line['attainment_revenue']:.1f}",
                )
            )
            for line in figures["advisors"]
        ) or Markup("<tr><td colspan='7'>%s</td></tr>") % _("No advisor has a target or a visit this month.")
        return Markup(
            "<table class='table table-sm o_auto_crm_daily_advisors'>"
            "<thead><tr>%s</tr></thead><tbody>%s</tbody></table>"
        ) % (head, body)

    #: The figures shown as fields of the wizard (the keys of _get_figures of the same names).
    _FIGURE_FIELDS = (
        "visits_received", "visits_delivered", "revenue_day", "callbacks_done", "callbacks_successful",
        "pro_rata", "mtd_visits", "target_visits", "expected_visits", "attainment_visits",
        "mtd_revenue", "target_revenue", "expected_revenue", "attainment_revenue",
    )  # fmt: skip

    @api.depends("company_id", "date")
    @api.depends_context("uid")
    def _compute_figures(self):
        for wizard in self:
            if not wizard.company_id or not wizard.date:
                wizard.update(dict.fromkeys(self._FIGURE_FIELDS, 0))
                wizard.target_id = False
                wizard.advisors_html = False
                continue
            figures = wizard._get_figures()
            wizard.update({fname: figures[fname] for fname in self._FIGURE_FIELDS})
            wizard.target_id = figures["target"].id
            wizard.advisors_html = wizard._advisors_html(figures)

    def write(self, vals):
        for fname in vals:
            field = self._fields.get(fname)
            if field is not None and field.compute and not field.store and not field.related:
                raise AccessError(self._owned_message(fname))
        return super().write(vals)

    # ------------------------------------------------------------------ XLSX
    def _build_xlsx(self, figures):
        monthly = self.env["auto_crm.callback.report.wizard"]
        monthly._check_xlsxwriter()
        output = io.BytesIO()
        workbook = xlsxwriter.Workbook(output, {"in_memory": True})
        formats = monthly._formats(workbook)
        money = workbook.add_format({"num_format": "#,##0.00", "border": 1})
        sheet = workbook.add_worksheet(_("Daily Report"))
        sheet.write(0, 0, _("Daily Report"), formats["title"])
        sheet.write(1, 0, _("Store"), formats["label"])
        sheet.write(1, 1, figures["store"].name)
        sheet.write(2, 0, _("Day"), formats["label"])
        sheet.write_datetime(2, 1, datetime.datetime.combine(figures["day"], datetime.time()), formats["date"])
        sheet.write(3, 0, _("Generated"), formats["label"])
        sheet.write(
            3,
            1,
            _("%(date)s by %(user)s", date=fields.Datetime.to_string(fields.Datetime.now()), user=self.env.user.name),
        )
        sheet.write(4, 0, _("Currency"), formats["label"])
        sheet.write(4, 1, figures["store"].currency_id.name or "")

        row = 6
        sheet.write_row(row, 0, [_("The Day"), _("Value")], formats["header"])
        day_lines = [
            (_("Visits Received"), figures["visits_received"], formats["int"]),
            (_("Visits Delivered"), figures["visits_delivered"], formats["int"]),
            (_("Revenue of the Day"), figures["revenue_day"], money),
            (_("Callbacks Worked"), figures["callbacks_done"], formats["int"]),
            (_("Callbacks Successful"), figures["callbacks_successful"], formats["int"]),
        ]
        for label, value, fmt in day_lines:
            row += 1
            sheet.write_string(row, 0, label, formats["text"])
            sheet.write_number(row, 1, value, fmt)

        row += 2
        sheet.write_row(
            row,
            0,
            [
                _("Month to Date"),
                _("Actual"),
                _("Target"),
                _("Expected by Today"),
                _("Attainment"),
                _("Expected by Today (%)"),
            ],
            formats["header"],
        )
        pro_rata = figures["pro_rata"] / 100.0
        for label, actual, target, expected, attained, fmt in (
            (
                _("Visits (cars)"),
                figures["mtd_visits"],
                figures["target_visits"],
                figures["expected_visits"],
                figures["attainment_visits"],
                formats["int"],
            ),
            (
                _("Revenue"),
                figures["mtd_revenue"],
                figures["target_revenue"],
                figures["expected_revenue"],
                figures["attainment_revenue"],
                money,
            ),
        ):
            row += 1
            sheet.write_string(row, 0, label, formats["text"])
            sheet.write_number(row, 1, actual, fmt)
            sheet.write_number(row, 2, target, fmt)
            sheet.write_number(row, 3, expected, money if fmt is money else formats["index"])
            sheet.write_number(row, 4, attained / 100.0, formats["pct"])
            sheet.write_number(row, 5, pro_rata, formats["pct"])
        row += 2
        sheet.write(
            row,
            0,
            _(
                "Expected by today: the month's target x day %(day)s / %(days)s days of the month.",
                day=figures["day_of_month"],
                days=figures["days_in_month"],
            ),
            formats["note"],
        )
        if not figures["target"]:
            row += 1
            sheet.write(row, 0, _("No targets are set for this store and month."), formats["note"])
        row += 2
        sheet.write_row(
            row,
            0,
            [
                _("Service Advisor"),
                _("Visits Month to Date"),
                _("Visits Target"),
                _("Visits Attainment (%)"),
                _("Revenue Month to Date"),
                _("Revenue Target"),
                _("Revenue Attainment (%)"),
            ],
            formats["header"],
        )
        for line in figures["advisors"]:
            row += 1
            sheet.write_string(row, 0, line["advisor"], formats["text"])
            sheet.write_number(row, 1, line["mtd_visits"], formats["int"])
            sheet.write_number(row, 2, line["target_visits"], formats["int"])
            sheet.write_number(row, 3, line["attainment_visits"] / 100.0, formats["pct"])
            sheet.write_number(row, 4, line["mtd_revenue"], money)
            sheet.write_number(row, 5, line["target_revenue"], money)
            sheet.write_number(row, 6, line["attainment_revenue"] / 100.0, formats["pct"])
        sheet.set_column(0, 0, 28)
        sheet.set_column(1, 6, 18)
        monthly._print_setup(sheet, last_row=row, last_col=6)
        workbook.close()
        return output.getvalue()

    def action_export_xlsx(self):
        self.ensure_one()
        figures = self._get_figures()
        filename = f"daily_report_{figures['day']:%Y_%m_%d}.xlsx"
        self._owned_write({"xlsx_file": base64.b64encode(self._build_xlsx(figures)), "xlsx_name": filename})
        return {
            "type": "ir.actions.act_url",
            "url": f"/web/content/{self._name}/{self.id}/xlsx_file/{filename}?download=true",
            "target": "self",
        }

    def action_open_target(self):
        """The store's targets of the month (a new one prefilled when none is set)."""
        self.ensure_one()
        self._check_store()
        month = self.date.replace(day=1)
        return {
            "type": "ir.actions.act_window",
            "res_model": "auto_crm.target",
            "view_mode": "form",
            "res_id": self.target_id.id or False,
            "context": {"default_company_id": self.company_id.id, "default_month": fields.Date.to_string(month)},
            "name": _("Targets of the Month"),
        }
