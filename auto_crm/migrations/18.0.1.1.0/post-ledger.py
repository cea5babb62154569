"""18.0.1.1.0: a member's points balance is stored (``auto_crm.loyalty.member.points_balance``) and
moved by the ledger in the same transaction as each entry, so that two postings for one member at
once conflict (REPEATABLE READ) instead of both passing the check on a stale sum.

The update has just created the column, filled with 0. Here every member gets the sum of its ledger
entries, the balance the previous release computed. A member whose sum is negative (overdrawn by
concurrent redemptions before this release) keeps that negative balance, so that balance and ledger
agree; it is named in the log, and a manager gives the points back with an adjustment (taking is
refused below zero, giving never is).
"""

import logging

_logger = logging.getLogger(__name__)


def migrate(cr, version):
    cr.execute(
        """
        UPDATE auto_crm_loyalty_member m
           SET points_balance = s.total
          FROM (SELECT member_id, SUM(points) AS total FROM auto_crm_loyalty_ledger GROUP BY member_id) s
         WHERE s.member_id = m.id AND m.points_balance IS DISTINCT FROM s.total
        """
    )
    _logger.info("auto_crm: stored the points balance of %s loyalty members from their ledger", cr.rowcount)
    cr.execute("SELECT id, card_number, points_balance FROM auto_crm_loyalty_member WHERE points_balance < 0")
    for member_id, card_number, balance in cr.fetchall():
        _logger.warning(
            "auto_crm: loyalty member %s (id %s) is overdrawn: %s points; a manager can give them back with an "
            "adjustment",
            card_number,
            member_id,
            balance,
        )
