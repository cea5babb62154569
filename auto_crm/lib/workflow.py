"""The four workflows of the Dealer CRM as plain data, and small pure helpers over them.

A transition table maps ``(from_state, to_state)`` to ``(button, groups)``: the public method
(button) that makes the move, and the XML ids of the groups allowed to make it (any of them; an
empty tuple: whoever may write the record). :data:`SUDO` in ``groups`` means that only the add-on's
own code makes the move, through the workflow's private path after its own checks (the callback
engine's expiry, activating a satisfaction-index version): a plain ``write`` of the state is refused
to everybody, superuser included. A pair that is not in the table is refused to everybody too.

No Odoo import: the models take their tables from here, and the tests in ``lib/tests`` check them
without Odoo.
"""

ADVISOR = "auto_crm.group_advisor"
MANAGER = "auto_crm.group_manager"
ADMIN = "auto_crm.group_admin"
#: Not a group: only the add-on's own code makes the move (never a plain write, not even as superuser).
SUDO = "sudo"

# ---------------------------------------------------------------------- service visit
VISIT_STATES = ("appointment", "reception", "repair", "inspection", "delivery", "followup", "cancel")
VISIT_INITIAL = ("appointment", "reception")
#: Nothing skips reception or inspection; a failed inspection goes back to repair; delivering
#: (settlement & delivery -> follow-up) needs the amounts settled; a manager may take a delivered
#: visit back to settlement (a billing mistake) and re-open a cancelled one.
VISIT_TRANSITIONS = {
    ("appointment", "reception"): ("action_receive", ()),
    ("reception", "repair"): ("action_start_repair", ()),
    ("repair", "inspection"): ("action_request_inspection", ()),
    ("inspection", "delivery"): ("action_inspection_pass", ()),
    ("inspection", "repair"): ("action_inspection_fail", ()),
    ("delivery", "followup"): ("action_deliver", ()),
    ("followup", "delivery"): ("action_reopen_delivery", (MANAGER,)),
    ("cancel", "appointment"): ("action_reopen", (MANAGER,)),
    **{
        (state, "cancel"): ("action_cancel", (ADVISOR,))
        for state in ("appointment", "reception", "repair", "inspection", "delivery")
    },
}

# ---------------------------------------------------------------------- complaint
COMPLAINT_STATES = ("new", "acknowledged", "investigating", "resolving", "awaiting_confirmation", "closed")
COMPLAINT_INITIAL = ("new",)
#: A complaint may be taken straight into investigation (that acknowledges it); the customer may
#: refuse the resolution (back to resolving); re-opening a closed complaint takes it back to
#: investigating.
COMPLAINT_TRANSITIONS = {
    ("new", "acknowledged"): ("action_acknowledge", ()),
    ("new", "investigating"): ("action_investigate", ()),
    ("acknowledged", "investigating"): ("action_investigate", ()),
    ("investigating", "resolving"): ("action_resolve", ()),
    ("resolving", "awaiting_confirmation"): ("action_await_confirmation", ()),
    ("resolving", "closed"): ("action_close", ()),
    ("resolving", "investigating"): ("action_investigate", ()),
    ("awaiting_confirmation", "closed"): ("action_close", ()),
    ("awaiting_confirmation", "resolving"): ("action_customer_refused", ()),
    ("closed", "investigating"): ("action_reopen", ()),
}

# ---------------------------------------------------------------------- corrective action
ACTION_STATES = ("draft", "waiting_approval", "approved", "in_progress", "done", "verified", "cancel")
ACTION_INITIAL = ("draft",)
#: The general manager (dealer administrator) approves or sends back; the owner or a manager
#: carries the action out (a per-record rule, checked by the model); the supervisor's managers
#: verify it or send it back to work; managers cancel and restore. Verified is final.
ACTION_TRANSITIONS = {
    ("draft", "waiting_approval"): ("action_submit", ()),
    ("waiting_approval", "approved"): ("action_approve", (ADMIN,)),
    ("waiting_approval", "draft"): ("action_send_back", (ADMIN,)),
    ("approved", "in_progress"): ("action_start", ()),
    ("in_progress", "done"): ("action_done", ()),
    ("done", "verified"): ("action_verify", (MANAGER,)),
    ("done", "in_progress"): ("action_not_effective", (MANAGER,)),
    ("cancel", "draft"): ("action_reset", (MANAGER,)),
    **{
        (state, "cancel"): ("action_cancel", (MANAGER,))
        for state in ("draft", "waiting_approval", "approved", "in_progress")
    },
}

# ---------------------------------------------------------------------- callback
CALLBACK_STATES = ("todo", "in_progress", "done", "failed", "expired", "cancel")
CALLBACK_INITIAL = ("todo",)
#: Agents work open callbacks (to do, in progress) to done, failed or cancelled; an answered
#: attempt starts the call. Only the engine expires a callback (its nightly SQL, or superuser
#: code). Managers re-open failed, expired and cancelled callbacks; done is final (its answers
#: count in the satisfaction index).
CALLBACK_TRANSITIONS = {
    ("todo", "in_progress"): ("action_start", ()),
    **{(state, "done"): ("action_done", ()) for state in ("todo", "in_progress")},
    **{(state, "failed"): ("action_fail", ()) for state in ("todo", "in_progress")},
    **{(state, "cancel"): ("action_cancel", ()) for state in ("todo", "in_progress")},
    **{(state, "expired"): ("_expire_overdue", (SUDO,)) for state in ("todo", "in_progress")},
    **{(state, "todo"): ("action_reset", (MANAGER,)) for state in ("failed", "expired", "cancel")},
}

# ---------------------------------------------------------------------- satisfaction index hierarchy
HIERARCHY_STATES = ("draft", "active", "superseded")
HIERARCHY_INITIAL = ("draft",)
#: A draft is activated by its button (which checks consistency first, as the add-on's code); the
#: store's active version is superseded only by activating another one. Nothing goes back to draft:
#: a new version is a copy.
HIERARCHY_TRANSITIONS = {
    ("draft", "active"): ("action_activate", (SUDO,)),
    ("active", "superseded"): ("action_activate", (SUDO,)),
}

#: Every workflow: name -> (states, initial states, transitions).
WORKFLOWS = {
    "auto_crm.service.visit": (VISIT_STATES, VISIT_INITIAL, VISIT_TRANSITIONS),
    "auto_crm.complaint": (COMPLAINT_STATES, COMPLAINT_INITIAL, COMPLAINT_TRANSITIONS),
    "auto_crm.corrective.action": (ACTION_STATES, ACTION_INITIAL, ACTION_TRANSITIONS),
    "auto_crm.callback": (CALLBACK_STATES, CALLBACK_INITIAL, CALLBACK_TRANSITIONS),
}
#: The versions of the satisfaction index weighting (tested on their own: tests/test_history.py).
VERSION_WORKFLOWS = {
    "auto_crm.csi.hierarchy": (HIERARCHY_STATES, HIERARCHY_INITIAL, HIERARCHY_TRANSITIONS),
}


# ---------------------------------------------------------------------- helpers
def allowed(table, old, new):
    """Whether the table has the move from ``old`` to ``new``."""
    return (old, new) in table


def groups_for(table, old, new):
    """The groups allowed to move from ``old`` to ``new`` (empty: anybody who may write), or
    None when the table has no such move."""
    entry = table.get((old, new))
    return None if entry is None else entry[1]


def targets(table, old):
    """The states ``old`` may move to, as a set."""
    return {new for (src, new) in table if src == old}


def reachable(table, start):
    """Every state reachable from ``start`` (a state or an iterable of states), starts included."""
    todo = [start] if isinstance(start, str) else list(start)
    seen = set(todo)
    while todo:
        for new in targets(table, todo.pop()):
            if new not in seen:
                seen.add(new)
                todo.append(new)
    return seen


def final_states(table, states):
    """The states nothing leaves."""
    return {state for state in states if not targets(table, state)}


def refused_pairs(table, states):
    """Every (from, to) pair of distinct states that the table does not allow."""
    return [(old, new) for old in states for new in states if old != new and (old, new) not in table]
