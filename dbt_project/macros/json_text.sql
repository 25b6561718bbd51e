{% macro json_text(expression, path) %}
    {#- The scalar at a JSONPath (e.g. '$.amount') of JSON text, as text (null when absent). -#}
    {{ return(adapter.dispatch('json_text', 'cloudact')(expression, path)) }}
{% endmacro %}

{% macro default__json_text(expression, path) %}
    json_extract_string({{ expression }}, '{{ path }}')
{% endmacro %}

{% macro bigquery__json_text(expression, path) %}
    json_value({{ expression }}, '{{ path }}')
{% endmacro %}
