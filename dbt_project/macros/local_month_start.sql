{% macro local_month_start(month_text, time_zone, months=0) %}
    {#- The UTC instant a calendar month given as 'YYYYMM' text starts in `time_zone` (plus `months` months), e.g.
        GCP invoice months, which run on Pacific time: '202511' in America/Los_Angeles → 2025-11-01T07:00:00Z. -#}
    {{ return(adapter.dispatch('local_month_start', 'cloudact')(month_text, time_zone, months)) }}
{% endmacro %}

{% macro default__local_month_start(month_text, time_zone, months) %}
    {#- timezone(zone, local timestamp) reads the wall-clock time in that zone (DuckDB ICU). -#}
    timezone('{{ time_zone }}', cast(strptime({{ month_text }} || '01', '%Y%m%d') as timestamp) + interval ({{ months }}) month)
{% endmacro %}

{% macro bigquery__local_month_start(month_text, time_zone, months) %}
    timestamp(date_add(parse_date('%Y%m%d', concat({{ month_text }}, '01')), interval {{ months }} month), '{{ time_zone }}')
{% endmacro %}
