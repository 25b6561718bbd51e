{% macro add_months(expression, months) %}
    {{ return(adapter.dispatch('add_months', 'cloudact')(expression, months)) }}
{% endmacro %}

{% macro default__add_months(expression, months) %}
    ({{ expression }} + interval ({{ months }}) month)
{% endmacro %}

{% macro bigquery__add_months(expression, months) %}
    {#- TIMESTAMP_ADD does not take MONTH; go through DATETIME in UTC.
        https://cloud.google.com/bigquery/docs/reference/standard-sql/timestamp_functions#timestamp_add -#}
    timestamp(datetime_add(datetime({{ expression }}, 'UTC'), interval {{ months }} month), 'UTC')
{% endmacro %}
