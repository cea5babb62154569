"""The SLA state of a complaint at a moment: a pure rule, no Odoo.

A complaint must be acknowledged by one deadline and offered a resolution by another. Until it is
acknowledged the acknowledgement deadline runs; after that, the resolution deadline. An open
deadline is "at risk" when less than ``AT_RISK_SHARE`` of its time is left.
"""

#: The share of the time allowed below which an open deadline is "at risk".
AT_RISK_SHARE = 0.25


def sla_state(now, received, deadline_acknowledge, deadline_resolve, acknowledged=None, resolved=None):
    """One of none, on_track, at_risk, overdue, met, missed.

    All arguments are naive UTC datetimes (or None for what has not happened / has no deadline).
    """
    if not deadline_acknowledge or not deadline_resolve:
        return "none"
    ack_late = (acknowledged or now) > deadline_acknowledge
    if resolved:
        return "missed" if ack_late or resolved > deadline_resolve else "met"
    if acknowledged:
        start, deadline = acknowledged, deadline_resolve
        if acknowledged > deadline_acknowledge and now <= deadline:
            # Acknowledged late but the resolution can still be on time: at risk at best.
            return "at_risk"
    else:
        start, deadline = received, deadline_acknowledge
    if now > deadline:
        return "overdue"
    if (deadline - now) < (deadline - start) * AT_RISK_SHARE:
        return "at_risk"
    return "on_track"
