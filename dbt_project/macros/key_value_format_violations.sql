{% macro key_value_format_violations(model, column_name) %}
    {{ return(adapter.dispatch('key_value_format_violations', 'cloudact')(model, column_name)) }}
{% endmacro %}

{% macro default__key_value_format_violations(model, column_name) %}
    select {{ column_name }}
    from {{ model }}
    where {{ column_name }} is not null
      and (
        not json_valid({{ column_name }})
        or json_type({{ column_name }}) <> 'OBJECT'
        {#- json_structure of a flat object is {"k":"TYPE",…}: any further brace or bracket means nesting. -#}
        or regexp_matches(substr(cast(json_structure({{ column_name }}) as varchar), 2), '[\[{]')
      )
{% endmacro %}

{% macro bigquery__key_value_format_violations(model, column_name) %}
    select {{ column_name }}
    from {{ model }}
    where {{ column_name }} is not null
      and (
        safe.parse_json({{ column_name }}) is null
        or json_type(safe.parse_json({{ column_name }})) <> 'object'
        or regexp_contains(substr(to_json_string(safe.parse_json({{ column_name }})), 2), r'[\[{]')
      )
{% endmacro %}
