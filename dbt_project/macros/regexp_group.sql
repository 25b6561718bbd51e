{% macro regexp_group(expression, pattern) %}
    {#- The first capturing group of an RE2 pattern's first match, null when it does not match. Keep backslashes and
        single quotes out of the pattern: the two warehouses quote string literals differently. -#}
    {{ return(adapter.dispatch('regexp_group', 'cloudact')(expression, pattern)) }}
{% endmacro %}

{% macro default__regexp_group(expression, pattern) %}
    {#- DuckDB returns '' (not null) when nothing matches. -#}
    nullif(regexp_extract({{ expression }}, '{{ pattern }}', 1), '')
{% endmacro %}

{% macro bigquery__regexp_group(expression, pattern) %}
    {#- https://cloud.google.com/bigquery/docs/reference/standard-sql/string_functions#regexp_extract -#}
    regexp_extract({{ expression }}, r'{{ pattern }}')
{% endmacro %}
