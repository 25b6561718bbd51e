{% macro pinned_source(source_name, table_name, columns) %}
    {#- Select the declared columns of a raw table, in a fixed order and type, whatever the provider delivered:
        a column the raw table lacks (billing exports drift month to month) becomes a typed null, and a raw table
        that was never loaded (the tenant has no such integration) becomes an empty relation of the same shape.
        columns: list of [name, type] where type is a dbt.type_*() result. -#}
    {%- set relation = source(source_name, table_name) -%}
    {%- set present = none -%}
    {%- if execute and not is_offline_compile() -%}
        {%- set existing = adapter.get_relation(database=relation.database, schema=relation.schema, identifier=relation.identifier) -%}
        {%- if existing is not none -%}
            {%- set present = adapter.get_columns_in_relation(existing) | map(attribute='name') | map('lower') | list -%}
        {%- else -%}
            {%- set present = [] -%}
        {%- endif -%}
    {%- endif %}
    select
    {%- for column in columns %}
        {%- set name, data_type = column[0], column[1] %}
        {%- if present is none or name in present %}
        cast({{ adapter.quote(name) }} as {{ data_type }}) as {{ name }}{{ "," if not loop.last }}
        {%- else %}
        cast(null as {{ data_type }}) as {{ name }}{{ "," if not loop.last }}
        {%- endif %}
    {%- endfor %}
    {%- if present is not none and present | length == 0 %}
    from (select 1 as placeholder) as no_raw_table
    where 1 = 0
    {%- else %}
    from {{ relation }}
    {%- endif %}
{% endmacro %}
