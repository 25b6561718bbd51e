{% macro json_array_elements(column, value_alias, index_alias) %}
    {#- A lateral FROM item with one row per element of a JSON array held as text: `value_alias` is the element (JSON),
        `index_alias` its 0-based position. A null or empty array yields no rows. Use after `cross join`. -#}
    {{ return(adapter.dispatch('json_array_elements', 'cloudact')(column, value_alias, index_alias)) }}
{% endmacro %}

{% macro default__json_array_elements(column, value_alias, index_alias) %}
    {#- DuckDB's json_each table function, its first two columns (key, value) renamed. -#}
    json_each({{ column }}) as {{ value_alias }}_items({{ index_alias }}, {{ value_alias }})
{% endmacro %}

{% macro bigquery__json_array_elements(column, value_alias, index_alias) %}
    {#- https://cloud.google.com/bigquery/docs/reference/standard-sql/json_functions#json_query_array -#}
    unnest(json_query_array({{ column }})) as {{ value_alias }} with offset as {{ index_alias }}
{% endmacro %}
