{% macro add_days(expression, days) %}
    {{ return(adapter.dispatch('add_days', 'cloudact')(expression, days)) }}
{% endmacro %}

{% macro default__add_days(expression, days) %}
    ({{ expression }} + interval ({{ days }}) day)
{% endmacro %}

{% macro bigquery__add_days(expression, days) %}
    {#- A UTC day is always 24 hours, so TIMESTAMP_ADD keeps the instant exact (no DATETIME detour as for months). -#}
    timestamp_add({{ expression }}, interval {{ days }} day)
{% endmacro %}
