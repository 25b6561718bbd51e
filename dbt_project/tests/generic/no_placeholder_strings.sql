{% test no_placeholder_strings(model, column_names) %}
    {#- FOCUS nulls are real NULLs: no '' or 'Not Applicable'-style placeholder in any string column. -#}
    {%- for column in column_names %}
    select '{{ column }}' as column_name, cast({{ column }} as {{ dbt.type_string() }}) as value
    from {{ model }}
    where trim({{ column }}) = '' or lower({{ column }}) in ('n/a', 'na', 'not applicable', 'null', 'none')
    {% if not loop.last %}union all{% endif %}
    {%- endfor %}
{% endtest %}
