{% macro genai_unit_price(price, unit_size) %}
    {{ return(adapter.dispatch('genai_unit_price', 'cloudact')(price, unit_size)) }}
{% endmacro %}

{% macro default__genai_unit_price(price, unit_size) %}
    {#- A published price per 1, 1K or 1M units → the exact price of one unit. Division would give a DOUBLE in
        DuckDB, so the price is multiplied by an exact decimal scale (the seed test allows only these sizes). -#}
    cast(
        cast({{ price }} as decimal(38, 18))
        * case {{ unit_size }} when 1 then 1.0 when 1000 then 0.001 when 1000000 then 0.000001 end
        as {{ unit_price_type() }}
    )
{% endmacro %}

{% macro bigquery__genai_unit_price(price, unit_size) %}
    {#- Unsuffixed decimal literals are FLOAT64 in BigQuery: the scale is an exact literal of the unit-price type. -#}
    {%- set exact = unit_price_type() -%}
    cast(
        cast({{ price }} as {{ exact }})
        * case {{ unit_size }}
            when 1 then cast('1' as {{ exact }}) when 1000 then cast('0.001' as {{ exact }})
            when 1000000 then cast('0.000001' as {{ exact }})
        end
        as {{ exact }}
    )
{% endmacro %}
