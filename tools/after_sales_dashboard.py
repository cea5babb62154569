"""Writes auto_crm/data/files/after_sales_dashboard.json, the After-Sales spreadsheet dashboard (Odoo 18
spreadsheet data, version 21): `python3 tools/after_sales_dashboard.py`. Odoo Community has no spreadsheet
editor, so the dashboard is written here: its pivots (one per figure, with the month, store and advisor
filters matched to their fields), the Data sheet that computes the tiles, the scorecards and the CSI bars.
Labels in `_t("...")` and the figures' titles are exported for translation (zh_CN.po)."""

import json

MONTH = "f1a5e0c2-0000-4000-8000-000000000001"  # global filter: the month (this month by default)
STORE = "f1a5e0c2-0000-4000-8000-000000000002"  # global filter: stores
ADVISOR = "f1a5e0c2-0000-4000-8000-000000000003"  # global filter: service advisor


def month(chain, offset=0, typ="date"):
    return {"chain": chain, "type": typ, "offset": offset}


def rel(chain):
    return {"chain": chain, "type": "many2one"}


def pivot(pid, model, name, domain, measures=("__count",), rows=(), matching=None, sort=None):
    p = {
        "type": "ODOO",
        "id": str(pid),
        "formulaId": str(pid),
        "model": model,
        "name": name,
        "domain": domain,
        "context": {},
        "measures": [{"id": m, "fieldName": m} for m in measures],
        "columns": [],
        "rows": [{"fieldName": r} for r in rows],
        "fieldMatching": matching or {},
    }
    if sort:
        p["sortedColumn"] = {"groupId": [[], []], "measure": sort, "order": "desc"}
    return p


cb_store = {STORE: rel("company_id")}
pivots = [
    pivot(
        1,
        "auto_crm.callback",
        "Calls due today",
        [["due_status", "=", "today"]],
        matching=dict(cb_store, **{ADVISOR: rel("visit_id.advisor_id")}),
    ),
    pivot(
        2,
        "auto_crm.callback",
        "Overdue calls",
        [["due_status", "=", "overdue"]],
        matching=dict(cb_store, **{ADVISOR: rel("visit_id.advisor_id")}),
    ),
    pivot(
        3,
        "auto_crm.callback",
        "Callbacks due in the month",
        [["state", "!=", "cancel"]],
        matching={MONTH: month("date_due"), **cb_store, ADVISOR: rel("visit_id.advisor_id")},
    ),
    pivot(
        4,
        "auto_crm.callback",
        "Callbacks executed in the month",
        ["&", ["state", "!=", "cancel"], "|", ["state", "in", ["done", "failed"]], ["attempt_ids", "!=", False]],
        matching={MONTH: month("date_due"), **cb_store, ADVISOR: rel("visit_id.advisor_id")},
    ),
    pivot(
        5,
        "auto_crm.callback",
        "Successful callbacks in the month",
        [["state", "=", "done"]],
        matching={MONTH: month("date_due"), **cb_store, ADVISOR: rel("visit_id.advisor_id")},
    ),
    pivot(
        6,
        "auto_crm.complaint",
        "Open complaints",
        [["state", "not in", ["awaiting_confirmation", "closed"]]],
        matching={STORE: rel("company_id"), ADVISOR: rel("advisor_id")},
    ),
    pivot(
        7,
        "auto_crm.complaint",
        "Open complaints past their SLA",
        ["&", ["state", "not in", ["awaiting_confirmation", "closed"]], ["is_overdue", "=", True]],
        matching={STORE: rel("company_id"), ADVISOR: rel("advisor_id")},
    ),
    pivot(
        8,
        "auto_crm.csi.report",
        "CSI of the month",
        [["csi_hierarchy_id", "!=", False]],
        measures=("csi", "callback_count"),
        matching={MONTH: month("date_due"), STORE: rel("company_id"), ADVISOR: rel("advisor_id")},
    ),
    pivot(
        9,
        "auto_crm.csi.report",
        "CSI of the month before",
        [["csi_hierarchy_id", "!=", False]],
        measures=("csi", "callback_count"),
        matching={MONTH: month("date_due", -1), STORE: rel("company_id"), ADVISOR: rel("advisor_id")},
    ),
    pivot(
        10,
        "auto_crm.retention.report",
        "Service retention of the month",
        [],
        measures=("due_count", "returned_count"),
        matching={MONTH: month("month"), STORE: rel("company_id"), ADVISOR: rel("advisor_id")},
    ),
    pivot(
        11,
        "auto_crm.csi.report",
        "CSI per store",
        [["csi_hierarchy_id", "!=", False]],
        measures=("csi", "callback_count"),
        rows=("company_id",),
        matching={MONTH: month("date_due"), STORE: rel("company_id"), ADVISOR: rel("advisor_id")},
        sort="csi",
    ),
    pivot(
        12,
        "auto_crm.csi.report",
        "CSI per service advisor",
        [["csi_hierarchy_id", "!=", False]],
        measures=("csi", "callback_count"),
        rows=("advisor_id",),
        matching={MONTH: month("date_due"), STORE: rel("company_id"), ADVISOR: rel("advisor_id")},
        sort="csi",
    ),
    # on-time delivery: the visits delivered in the month, and those delivered by their promised time
    pivot(
        13,
        "auto_crm.delivery.report",
        "On-time delivery of the month",
        [],
        measures=("delivery_count", "on_time_count"),
        matching={
            MONTH: month("date_delivered", typ="datetime"),
            STORE: rel("company_id"),
            ADVISOR: rel("advisor_id"),
        },
    ),
]

# The Data sheet: one figure per row, computed from the pivots.
data_rows = [
    ("Calls due today", '=PIVOT.VALUE(1,"__count")', None),
    ("Overdue calls", '=PIVOT.VALUE(2,"__count")', None),
    ("Callbacks due", '=PIVOT.VALUE(3,"__count")', None),
    ("Executed", '=PIVOT.VALUE(4,"__count")', None),
    ("Execution rate", "=IFERROR(B5/B4,0)", 1),
    ("Successful", '=PIVOT.VALUE(5,"__count")', None),
    ("Success rate", "=IFERROR(B7/B4,0)", 1),
    ("Open complaints", '=PIVOT.VALUE(6,"__count")', None),
    ("Past their SLA", '=PIVOT.VALUE(7,"__count")', None),
    ("Within their SLA", "=B9-B10", None),
    # a month without a done callback has no index: a dash, not 0
    ("CSI this month", '=IF(PIVOT.VALUE(8,"callback_count")+0>0,PIVOT.VALUE(8,"csi"),"-")', 2),
    ("CSI last month", '=IF(PIVOT.VALUE(9,"callback_count")+0>0,PIVOT.VALUE(9,"csi"),"-")', 2),
    ("Vehicles due for service", '=PIVOT.VALUE(10,"due_count")+0', None),
    ("Came back", '=PIVOT.VALUE(10,"returned_count")+0', None),
    ("Service retention", "=IFERROR(B15/B14,0)", 1),
    ("Deliveries", '=PIVOT.VALUE(13,"delivery_count")+0', None),
    ("Delivered on time", '=PIVOT.VALUE(13,"on_time_count")+0', None),
    ("On-time delivery", '=IF(B17>0,B18/B17,"-")', 1),
]
data_cells = {"A1": {"content": '=_t("Figure")'}, "B1": {"content": '=_t("Value")'}}
data_formats = {}
for i, (label, formula, fmt) in enumerate(data_rows, start=2):
    data_cells[f"A{i}"] = {"content": f'=_t("{label}")'}
    data_cells[f"B{i}"] = {"content": formula}
    if fmt:
        data_formats[f"B{i}"] = fmt
ROW = {label: f"Data!B{i}" for i, (label, _f, _x) in enumerate(data_rows, start=2)}


def scorecard(fid, x, y, title, key, baseline=None, descr=None, mode="difference", colour="#EFF6FF"):
    data = {
        "type": "scorecard",
        "title": {"text": title, "bold": True, "color": "#434343"},
        "keyValue": ROW[key],
        "background": colour,
        "baselineMode": mode,
        "baselineColorUp": "#00A04A",
        "baselineColorDown": "#DC6965",
        "humanize": False,
    }
    if baseline:
        data["baseline"] = ROW[baseline]
    if descr:
        data["baselineDescr"] = descr
    return {"id": fid, "x": x, "y": y, "width": 255, "height": 101, "tag": "chart", "data": data}


W = 265
figures = [
    scorecard("auto-crm-calls-today", 0, 64, "Calls due today", "Calls due today", "Overdue calls", "overdue", "text"),
    scorecard(
        "auto-crm-execution", W, 64, "Execution rate", "Execution rate", "Executed", "callbacks executed", "text"
    ),
    scorecard("auto-crm-success", 2 * W, 64, "Success rate", "Success rate", "Successful", "customers reached", "text"),
    scorecard(
        "auto-crm-csi",
        3 * W,
        64,
        "CSI this month",
        "CSI this month",
        "CSI last month",
        "vs last month",
        "difference",
        "#FFF7ED",
    ),
    scorecard(
        "auto-crm-complaints",
        0,
        175,
        "Open complaints",
        "Open complaints",
        "Past their SLA",
        "past their SLA",
        "text",
        "#FEF2F2",
    ),
    scorecard("auto-crm-complaints-ok", W, 175, "Within their SLA", "Within their SLA", None, None, "text", "#FEF2F2"),
    scorecard(
        "auto-crm-retention",
        2 * W,
        175,
        "Service retention",
        "Service retention",
        "Came back",
        "vehicles came back",
        "text",
        "#F0FDF4",
    ),
    scorecard(
        "auto-crm-on-time",
        3 * W,
        175,
        "On-time delivery",
        "On-time delivery",
        "Delivered on time",
        "delivered on time",
        "text",
        "#F0FDF4",
    ),
    {
        "id": "auto-crm-csi-trend",
        "x": 0,
        "y": 296,
        "width": 1050,
        "height": 270,
        "tag": "chart",
        "data": {
            "type": "odoo_bar",
            "title": {"text": "CSI by month"},
            "background": "#FFFFFF",
            "legendPosition": "none",
            "stacked": False,
            "verticalAxisPosition": "left",
            "metaData": {
                "groupBy": ["date_due:month"],
                "measure": "csi",
                "order": None,
                "resModel": "auto_crm.csi.report",
                "mode": "bar",
            },
            "searchParams": {
                "comparison": None,
                "context": {"group_by": []},
                "domain": [["csi_hierarchy_id", "!=", False]],
                "groupBy": ["date_due:month"],
                "orderBy": [],
            },
            "fieldMatching": {STORE: rel("company_id"), ADVISOR: rel("advisor_id")},
        },
    },
]

# Below the tiles and the chart (rows 1-2: 34 + 26 px, then 23 px each: row 26 starts at 589 px): the CSI
# per store and per service advisor, best first (the pivots' sort), ten lines each, with translated headers.
dash_cells = {
    "A1": {"content": '=_t("After-Sales")'},
    "A2": {"content": '=_t("Figures of the month chosen above (this month by default); calls due today as of now.")'},
}
dash_styles = {"A1": 1, "A2": 3}
dash_formats = {}
for pivot_id, field, title, header, first_col in (
    (11, "company_id", "CSI per store", "Store", "A"),
    (12, "advisor_id", "CSI per service advisor", "Service Advisor", "F"),
):
    cols = [first_col, chr(ord(first_col) + 1), chr(ord(first_col) + 2)]
    dash_cells[f"{cols[0]}26"] = {"content": f'=_t("{title}")'}
    dash_styles[f"{cols[0]}26"] = 2
    for col, label in zip(cols, (header, "CSI", "Done Callbacks"), strict=True):
        dash_cells[f"{col}27"] = {"content": f'=_t("{label}")'}
        dash_styles[f"{col}27"] = 4
    for i in range(1, 11):
        row = 27 + i
        position = f'"#{field}",{i}'
        dash_cells[f"{cols[0]}{row}"] = {"content": f'=IFERROR(PIVOT.HEADER({pivot_id},{position}),"")'}
        dash_cells[f"{cols[1]}{row}"] = {"content": f'=IFERROR(PIVOT.VALUE({pivot_id},"csi",{position}),"")'}
        dash_formats[f"{cols[1]}{row}"] = 2
        dash_cells[f"{cols[2]}{row}"] = {"content": f'=IFERROR(PIVOT.VALUE({pivot_id},"callback_count",{position}),"")'}

spreadsheet = {
    "version": 21,
    "sheets": [
        {
            "id": "auto-crm-dashboard",
            "name": "Dashboard",
            "colNumber": 12,
            "rowNumber": 60,
            "rows": {"0": {"size": 34}, "1": {"size": 26}},
            "cols": {"0": {"size": 200}, "5": {"size": 200}},
            "merges": [],
            "cells": dash_cells,
            "styles": dash_styles,
            "formats": dash_formats,
            "borders": {},
            "conditionalFormats": [],
            "figures": figures,
            "tables": [],
            "areGridLinesVisible": False,
            "isVisible": True,
            "headerGroups": {"ROW": [], "COL": []},
            "dataValidationRules": [],
            "comments": {},
        },
        {
            "id": "auto-crm-data",
            "name": "Data",
            "colNumber": 4,
            "rowNumber": 20,
            "rows": {},
            "cols": {"0": {"size": 220}},
            "merges": [],
            "cells": data_cells,
            "styles": {},
            "formats": data_formats,
            "borders": {},
            "conditionalFormats": [],
            "figures": [],
            "tables": [],
            "areGridLinesVisible": True,
            "isVisible": True,
            "headerGroups": {"ROW": [], "COL": []},
            "dataValidationRules": [],
            "comments": {},
        },
    ],
    "styles": {
        "1": {"bold": True, "fontSize": 18},
        "2": {"bold": True, "fontSize": 12},
        "3": {"textColor": "#666666"},
        "4": {"bold": True, "fillColor": "#F2F2F2"},
    },
    "formats": {"1": "0.0%", "2": "0.0"},
    "borders": {},
    "revisionId": "START_REVISION",
    "uniqueFigureIds": True,
    "settings": {
        "locale": {
            "name": "English (US)",
            "code": "en_US",
            "thousandsSeparator": ",",
            "decimalSeparator": ".",
            "dateFormat": "m/d/yyyy",
            "timeFormat": "hh:mm:ss a",
            "formulaArgSeparator": ",",
            "weekStart": 7,
        }
    },
    "pivots": {p["id"]: p for p in pivots},
    "pivotNextId": len(pivots) + 1,
    "customTableStyles": {},
    "odooVersion": 12,
    "globalFilters": [
        {"id": MONTH, "type": "date", "label": "Month", "defaultValue": "this_month", "rangeType": "fixedPeriod"},
        {
            "id": STORE,
            "type": "relation",
            "label": "Store",
            "modelName": "res.company",
            "defaultValue": [],
            "defaultValueDisplayNames": [],
            "rangeType": "year",
        },
        {
            "id": ADVISOR,
            "type": "relation",
            "label": "Service Advisor",
            "modelName": "res.users",
            "defaultValue": [],
            "defaultValueDisplayNames": [],
            "rangeType": "year",
        },
    ],
    "lists": {},
    "listNextId": 1,
    "chartOdooMenusReferences": {"auto-crm-csi-trend": "auto_crm.auto_crm_csi_report_menu"},
}
with open(
    __import__("pathlib").Path(__file__).resolve().parents[1] / "auto_crm/data/files/after_sales_dashboard.json",
    "w",
    encoding="utf-8",
) as f:
    json.dump(spreadsheet, f, ensure_ascii=False, indent=1)
    f.write("\n")
