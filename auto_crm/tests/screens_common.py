"""The boards' server calls, as the web client makes them (Odoo 18 kanban, first load).

A grouped kanban first calls ``web_read_group`` (the columns and their counts; the aggregates of the
card fields that have one), then ``read_progress_bar`` when the view has a ``<progressbar>``, then one
``web_search_read`` per open, non-empty column (the first ``limit`` cards, the view's order). A folded
column (``__fold``) loads no card. Shared by ``tests/test_screens.py`` and ``benchmarks/cases/screens.py``.
"""

M2O = {"fields": {"display_name": {}}}
#: What a card's activity widget reads (every board of the add-on has one).
ACTIVITY_SPEC = {
    "activity_ids": {"fields": {}},
    "activity_exception_decoration": {},
    "activity_exception_icon": {},
    "activity_state": {},
    "activity_summary": {},
    "activity_type_icon": {},
    "activity_type_id": M2O,
}

#: The workshop board: the visit kanban (auto_crm_service_visit_view_kanban), grouped by stage.
VISIT_BOARD = {
    "model": "auto_crm.service.visit",
    "aggregates": ["amount_total:sum"],
    "order": "date_appointment desc, id desc",
    "limit": 40,
    "progress_bar": {"field": "lateness", "colors": {"on_time": "success", "at_risk": "warning", "late": "danger"}},
    "spec": {
        "color": {},
        "currency_id": M2O,
        "state": {},
        "lateness": {},
        "vehicle_id": M2O,
        "visit_type": {},
        "partner_id": M2O,
        "loyalty_tier_id": M2O,
        "board_phone": {},
        "date_appointment": {},
        "date_promised": {},
        "technician_id": M2O,
        **ACTIVITY_SPEC,
        "kanban_state": {},
        "name": {},
        "amount_total": {},
        "advisor_id": M2O,
    },
}

#: The agents' board: the callback kanban (auto_crm_callback_view_kanban), grouped by status.
CALLBACK_BOARD = {
    "model": "auto_crm.callback",
    "aggregates": ["overall_score:avg"],
    "order": "date_due ASC, id ASC",
    "limit": 40,
    "progress_bar": None,
    "spec": {
        "due_status": {},
        "partner_id": M2O,
        "partner_mobile": {},
        "partner_phone": {},
        "vehicle_id": M2O,
        "rule_id": M2O,
        "channel": {},
        "date_due": {},
        "attempt_progress": {},
        "last_outcome": {},
        **ACTIVITY_SPEC,
        "overall_score": {},
        "user_id": M2O,
    },
}

#: The complaint kanban (auto_crm_complaint_view_kanban), grouped by stage.
COMPLAINT_BOARD = {
    "model": "auto_crm.complaint",
    "aggregates": [],
    "order": "date_received desc, id desc",
    "limit": 40,
    "progress_bar": None,
    "spec": {
        "sla_color": {},
        "name": {},
        "severity": {},
        "subject": {},
        "partner_id": M2O,
        "category_id": M2O,
        "sla_state": {},
        "deadline_resolve": {},
        "state": {},
        "activity_ids": {"fields": {}},
        "activity_state": {},
        "channel": {},
        "user_id": M2O,
    },
}

#: The visit list (auto_crm_service_visit_view_list): its first page.
VISIT_LIST_SPEC = {
    "name": {},
    "date_appointment": {},
    "partner_id": M2O,
    "vehicle_id": M2O,
    "visit_type": {},
    "advisor_id": M2O,
    "amount_total": {},
    "currency_id": M2O,
    "company_id": M2O,
    **ACTIVITY_SPEC,
    "state": {},
}


def on_board_domain():
    """The workshop board's default filter (the action's search_default_on_board)."""
    return [("on_board", "=", True)]


def my_calls_today_domain(uid):
    """The callback board's default filter, "My Calls Today" (auto_crm_callback_view_search)."""
    return [("due_status", "in", ("today", "overdue")), "|", ("user_id", "=", uid), ("user_id", "=", False)]


def open_complaints_domain():
    """The complaint board's default filter, "Open"."""
    return [("state", "in", ("new", "acknowledged", "investigating", "resolving", "awaiting_confirmation"))]


def board_calls(model, board, domain):
    """Open a board as the web client does; returns ``(groups, {state: records loaded})``."""
    result = model.web_read_group(domain, board["aggregates"], ["state"], orderby="state", lazy=True)
    if board["progress_bar"]:
        model.read_progress_bar(domain, "state", board["progress_bar"])
    cards = {}
    for group in result["groups"]:
        if group.get("__fold") or not group["state_count"]:
            continue
        page = model.web_search_read(
            group["__domain"], board["spec"], offset=0, limit=board["limit"], order=board["order"], count_limit=None
        )
        cards[group["state"]] = page["records"]
    return result["groups"], cards
