{% macro month_start(expression) %}
    {{ return(adapter.dispatch('month_start', 'cloudact')(expression)) }}
{% endmacro %}

{% macro default__month_start(expression) %}
    date_trunc('month', {{ expression }})
{% endmacro %}

{% macro bigquery__month_start(expression) %}
    timestamp_trunc({{ expression }}, month, 'UTC')
{% endmacro %}
