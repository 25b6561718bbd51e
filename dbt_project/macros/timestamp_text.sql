{% macro timestamp_text(expression) %}
    {#- An instant as ISO 8601 text in UTC with microseconds ('2025-12-01T08:00:00.000000Z'), the same text on every
        warehouse, so that a value read by one query can be written back as a literal (to_utc_timestamp) by another. -#}
    {{ return(adapter.dispatch('timestamp_text', 'cloudact')(expression)) }}
{% endmacro %}

{% macro default__timestamp_text(expression) %}
    strftime(timezone('UTC', {{ expression }}), '%Y-%m-%dT%H:%M:%S.%fZ')
{% endmacro %}

{% macro bigquery__timestamp_text(expression) %}
    format_timestamp('%Y-%m-%dT%H:%M:%E6SZ', {{ expression }}, 'UTC')
{% endmacro %}
