import { registry } from "@web/core/registry";
import { cartesian, sections, symmetricalDifference } from "@web/core/utils/arrays";
import { pivotView } from "@web/views/pivot/pivot_view";
import { PivotModel } from "@web/views/pivot/pivot_model";

/**
 * The satisfaction analysis's pivot, loaded in one request per origin.
 *
 * Odoo's pivot asks `read_group` once for every combination of its row and column group-bys (the
 * total, per row, per column, per row and column), and the total first on its own: each of these
 * requests scans the same period of callbacks. This model asks `read_group_sets` once with all the
 * combinations (one GROUPING SETS query on the server) and hands each combination its groups, so the
 * table is built from exactly what the separate calls would have returned.
 */
export class CsiPivotModel extends PivotModel {
    /**
     * Odoo 18's `PivotModel._loadData` with one change: it asks for the total on its own, then for
     * the other combinations; here for all of them in one `_subdivideGroup` (whose `_prepareData`
     * takes the total among the others), hence one request. Only the number of requests changes.
     *
     * @override
     */
    async _loadData(config, prune = true) {
        config.data = {}; // data will be completely recomputed
        const { data, metaData } = config;
        data.rowGroupTree = { root: { labels: [], values: [] }, directSubTrees: new Map() };
        data.colGroupTree = { root: { labels: [], values: [] }, directSubTrees: new Map() };
        data.measurements = {};
        data.counts = {};
        data.groupDomains = {};
        data.numbering = {};
        const key = JSON.stringify([[], []]);
        data.groupDomains[key] = metaData.domains.slice(0);

        const group = { rowValues: [], colValues: [] };
        const leftDivisors = sections(metaData.fullRowGroupBys);
        const rightDivisors = sections(metaData.fullColGroupBys);
        const divisors = cartesian(leftDivisors, rightDivisors);

        await this._subdivideGroup(group, divisors, config);

        // keep folded groups folded after the reload if the structure of the table is the same
        if (prune && this._hasData(data) && this._hasData(this.data)) {
            if (symmetricalDifference(metaData.rowGroupBys, this.metaData.rowGroupBys).length === 0) {
                this._pruneTree(data.rowGroupTree, this.data.rowGroupTree);
            }
            if (symmetricalDifference(metaData.colGroupBys, this.metaData.colGroupBys).length === 0) {
                this._pruneTree(data.colGroupTree, this.data.colGroupTree);
            }
        }

        this.data = config.data;
        this.metaData = config.metaData;
    }

    /**
     * Every `_getSubGroups` call made in the same tick for the same origin (one `_subdivideGroup`)
     * joins one `read_group_sets` request.
     *
     * @override
     */
    _getSubGroups(groupBy, params) {
        const { resModel, groupDomain, measureSpecs, kwargs, mapping } = params;
        const key = JSON.stringify(groupBy);
        if (!mapping[key]) {
            let batch = mapping.__autoCrmBatch;
            if (!batch) {
                batch = mapping.__autoCrmBatch = { groupBys: [] };
                batch.result = Promise.resolve().then(() => {
                    delete mapping.__autoCrmBatch;
                    return this.orm.call(resModel, "read_group_sets", [], {
                        domain: groupDomain,
                        fields: measureSpecs,
                        groupbys: batch.groupBys,
                        context: kwargs.context,
                    });
                });
            }
            const index = batch.groupBys.push([...new Set(groupBy)]) - 1;
            mapping[key] = batch.result.then((results) => results[index]);
        }
        return mapping[key];
    }
}

export const csiPivotView = { ...pivotView, Model: CsiPivotModel };

registry.category("views").add("auto_crm_csi_pivot", csiPivotView);

// The sample data shown on an empty analysis answers read_group_sets as it answers read_group.
registry.category("sample_server").add("auto_crm.csi.report/read_group_sets", function (params) {
    return params.groupbys.map((groupBy) => this._mockReadGroup({ ...params, groupBy, lazy: false }));
});
