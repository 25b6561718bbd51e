{% macro is_offline_compile() %}
    {#- True under `dbt compile --vars '{offline_compile: true}'`: macros then must not query the warehouse
        (offline BigQuery compile hangs on any metadata query, see ../shared/STACK.md). -#}
    {{ return(var('offline_compile', false) in [true, 'true', 'True', 1, '1']) }}
{% endmacro %}
