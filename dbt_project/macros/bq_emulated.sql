{% macro bq_emulated() %}
    {#- True on the `emulator` target (crucible, a BigQuery emulator on DuckDB, used by tests/bigquery). It refuses
        BIGNUMERIC (DuckDB decimals stop at 38 digits) and its DIV on NUMERIC does not truncate, so the few macros
        below pick NUMERIC / INT64 there; production BigQuery (target `bigquery`) never takes these branches. -#}
    {{ return(target.type == 'bigquery' and target.name == 'emulator') }}
{% endmacro %}
