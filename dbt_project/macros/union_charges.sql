{% macro union_charges(relations, hashed=[]) %}
    {#- union all of staging charge models, column by column in charge_columns() order, then two columns that only
        the models in `hashed` fill (null from the others): source_row_hash, the row_hash of the raw line (their rows
        each depend on one raw line only, so the incremental build can replace single days of theirs), and
        billing_period_text, their raw billing period column as delivered (a filter on it, unlike one on the
        timestamp cast from it, is pushed into the raw table's scan and skips the other periods' row groups). -#}
    {%- for relation in relations %}
    select {{ charge_columns() | join(', ') }},
        {% if relation | string in hashed | map('string') | list -%}
        source_row_hash, billing_period_text
        {%- else -%}
        cast(null as {{ dbt.type_bigint() }}) as source_row_hash, cast(null as {{ dbt.type_string() }}) as billing_period_text
        {%- endif %}
    from {{ relation }}
    {% if not loop.last %}union all{% endif %}
    {%- endfor %}
{% endmacro %}
