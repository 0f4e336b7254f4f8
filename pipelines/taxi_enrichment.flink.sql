-- Flink SQL of the pipeline "Taxi workshop: enrich with zones, revenue per borough", exported by Eddy from pipelines/taxi_enrichment.ron.
-- What does not translate: taxi_enrichment.flink-report.txt

SET 'table.local-time-zone' = 'UTC';

SET 'execution.runtime-mode' = 'streaming';
