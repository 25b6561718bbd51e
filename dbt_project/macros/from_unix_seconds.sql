{% macro from_unix_seconds(expression) %}
    {{ return(adapter.dispatch('from_unix_seconds', 'cloudact')(expression)) }}
{% endmacro %}

{% macro default__from_unix_seconds(expression) %}
    to_timestamp(cast({{ expression }} as bigint))
{% endmacro %}

{% macro bigquery__from_unix_seconds(expression) %}
    timestamp_seconds(cast({{ expression }} as int64))
{% endmacro %}
