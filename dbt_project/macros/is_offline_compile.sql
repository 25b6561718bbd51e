{% macro is_offline_compile() %}
    {#- True under `dbt compile --vars '{offline_compile: true}'`: macros then must not query the warehouse
        (offline BigQuery compile hangs on any metadata query, see ../shared/STACK.md). -#}
    {{ return(var('offline_compile', false) in [true, 'true', 'True', 1, '1']) }}
{% endmacro %}

{% macro is_incremental() %}
    {#- dbt's is_incremental() looks the model's table up in the warehouse, which hangs an offline compile: answer
        false there (the compile then shows the full-build SQL), and defer to dbt's own everywhere else. -#}
    {%- if is_offline_compile() -%}
        {{ return(false) }}
    {%- endif -%}
    {{ return(dbt.is_incremental()) }}
{% endmacro %}
