from odoo import api, fields, models
from odoo.tools import SQL


class AutoCrmCallback(models.Model):
    """The satisfaction index (CSI) of a callback, computed once when it is done.

    CSI (0-100) = sum(w_leaf * score_leaf) / sum(w_leaf over the answered leaves), where w_leaf is
    the global AHP weight of a leaf criterion of the store's active hierarchy, and score_leaf the
    mean of the callback's answered questions of the leaf's questionnaire step, mapped 1 -> 0,
    2 -> 25, 3 -> 50, 4 -> 75, 5 -> 100. Leaves without an answer are re-normalised out (they do not
    count as zero). The hierarchy version used is stored with the index, so activating new weights
    never changes the index of past callbacks.
    """

    _inherit = "auto_crm.callback"

    csi = fields.Float(
        string="Satisfaction Index",
        readonly=True,
        copy=False,
        aggregator="avg",
        digits=(5, 1),
        help="Customer satisfaction index (0-100) of the answers, weighted with the AHP weights of "
        "the store's satisfaction hierarchy active when the callback was done.",
    )
    csi_hierarchy_id = fields.Many2one(
        "auto_crm.csi.hierarchy",
        string="Index Weights Used",
        readonly=True,
        copy=False,
        index="btree_not_null",
        ondelete="restrict",
        help="The version of the satisfaction hierarchy whose weights gave this index; empty when "
        "no index could be computed (no active hierarchy, or no scored answer).",
    )

    def _on_done(self):
        super()._on_done()
        self._compute_csi_sql()

    def _compute_csi_sql(self):
        """Compute and store the CSI of these done callbacks in one statement.

        A callback that already has an index keeps its hierarchy version (answers corrected later
        are re-weighted with the same weights); the others take their store's active hierarchy.
        Callbacks without any scored answer on a leaf step keep an empty index.
        """
        callbacks = self.filtered(lambda c: c.state == "done")
        if not callbacks:
            return
        self.env.flush_all()
        self.env.cr.execute(
            SQL(
                """
                WITH target AS (
                    SELECT c.id, COALESCE(c.csi_hierarchy_id, h.id) AS hierarchy_id
                      FROM auto_crm_callback c
                      LEFT JOIN auto_crm_csi_hierarchy h ON h.company_id = c.company_id AND h.state = 'active'
                     WHERE c.id IN %(ids)s AND c.state = 'done'
                ),
                leaf AS (
                    SELECT t.id AS callback_id, t.hierarchy_id, cr.global_weight,
                           AVG((a.score_value - 1) * 25.0) AS score
                      FROM target t
                      JOIN auto_crm_csi_criterion cr ON cr.hierarchy_id = t.hierarchy_id AND cr.step IS NOT NULL
                      JOIN auto_crm_callback_answer a
                        ON a.callback_id = t.id AND a.step = cr.step AND a.score_value BETWEEN 1 AND 5
                     WHERE NOT EXISTS (SELECT 1 FROM auto_crm_csi_criterion ch WHERE ch.parent_id = cr.id)
                  GROUP BY t.id, t.hierarchy_id, cr.id, cr.global_weight
                ),
                result AS (
                    SELECT callback_id, hierarchy_id,
                           SUM(global_weight * score) / NULLIF(SUM(global_weight), 0) AS csi
                      FROM leaf
                  GROUP BY callback_id, hierarchy_id
                )
                UPDATE auto_crm_callback c
                   SET csi = r.csi,
                       csi_hierarchy_id = CASE WHEN r.csi IS NULL THEN NULL ELSE r.hierarchy_id END
                  FROM target t
                  LEFT JOIN result r ON r.callback_id = t.id
                 WHERE c.id = t.id
                """,
                ids=tuple(callbacks.ids),
            )
        )
        callbacks.invalidate_recordset(["csi", "csi_hierarchy_id"])

    @api.model
    def _recompute_missing_csi(self):
        """Give an index to the done callbacks that have none (e.g. done before a hierarchy was
        active); callbacks that have one keep it. Used by the demo data and after an upgrade."""
        self.env.cr.execute("SELECT id FROM auto_crm_callback WHERE state = 'done' AND csi_hierarchy_id IS NULL")
        ids = [row[0] for row in self.env.cr.fetchall()]
        self.browse(ids)._compute_csi_sql()
        return len(ids)


class AutoCrmCallbackAnswer(models.Model):
    _inherit = "auto_crm.callback.answer"

    def write(self, vals):
        result = super().write(vals)
        if "score" in vals:
            # A corrected answer of a done callback: re-weigh with the weights it was done with.
            self.callback_id.filtered(lambda c: c.state == "done")._compute_csi_sql()
        return result
