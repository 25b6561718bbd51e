{% macro key_value_json(pairs) %}
    {{ return(adapter.dispatch('key_value_json', 'cloudact')(pairs)) }}
{% endmacro %}

{% macro default__key_value_json(pairs) %}
    {#- A FOCUS KeyValueFormat object (flat JSON, serialised) from [key, expression] pairs; null values stay null. -#}
    cast(json_object(
        {%- for pair in pairs %}'{{ pair[0] }}', {{ pair[1] }}{{ ", " if not loop.last }}{% endfor -%}
    ) as {{ dbt.type_string() }})
{% endmacro %}

{% macro bigquery__key_value_json(pairs) %}
    to_json_string(json_object(
        {%- for pair in pairs %}'{{ pair[0] }}', {{ pair[1] }}{{ ", " if not loop.last }}{% endfor -%}
    ))
{% endmacro %}
