{% macro union_charges(relations) %}
    {#- union all of staging charge models, column by column in charge_columns() order. -#}
    {%- for relation in relations %}
    select {{ charge_columns() | join(', ') }}
    from {{ relation }}
    {% if not loop.last %}union all{% endif %}
    {%- endfor %}
{% endmacro %}
