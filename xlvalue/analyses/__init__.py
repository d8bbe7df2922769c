"""One module per analysis (rfm, ranking, clv, compare, lifecycle, scores, costing, elasticity,
bgbb, sbg), each declaring what it reads, what it needs, how it runs and what it shows
(xlvalue.analyses.spec); the registry (xlvalue.analyses.registry) lists them in dependency
order, and the pipeline, the workbook contract's outputs, --only, the ribbon and the Lite
scripts are generated from it. summary holds the report around them (xv_Summary, the run
log)."""

__all__: list[str] = []
