{% macro to_utc_timestamp(expression) %}
    {{ return(adapter.dispatch('to_utc_timestamp', 'cloudact')(expression)) }}
{% endmacro %}

{% macro default__to_utc_timestamp(expression) %}
    {#- ISO 8601 text with a zone designator (…Z) to an instant; the session time zone is UTC (profiles.yml). -#}
    cast({{ expression }} as timestamp with time zone)
{% endmacro %}

{% macro bigquery__to_utc_timestamp(expression) %}
    {#- BigQuery TIMESTAMP is an instant; the string's Z designator is honoured by CAST. -#}
    cast({{ expression }} as timestamp)
{% endmacro %}
