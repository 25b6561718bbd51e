{% macro money_product(unit_price, quantity) %}
    {{ return(adapter.dispatch('money_product', 'cloudact')(unit_price, quantity)) }}
{% endmacro %}

{% macro default__money_product(unit_price, quantity) %}
    {#- DuckDB sizes a decimal product as scale s1+s2 within 38 digits: decimal(38,18) x decimal(38,18) keeps two
        integer digits and overflows from 100 (123.5/h x 720 h fails). So multiply in two parts, each within range:
        the price (18 decimals) by the quantity's whole part, exactly; and the price (12 decimals) by its fraction
        (< 1, so the error is below 1e-12). Each part is money before the sum. -#}
    (
        cast(cast({{ unit_price }} as decimal(38, 18)) * cast(trunc({{ quantity }}) as decimal(38, 0)) as {{ money_type() }})
        + cast(
            cast({{ unit_price }} as decimal(38, 12)) * cast({{ quantity }} - trunc({{ quantity }}) as decimal(38, 18))
            as {{ money_type() }}
        )
    )
{% endmacro %}

{% macro bigquery__money_product(unit_price, quantity) %}
    cast({{ unit_price }} * {{ quantity }} as {{ money_type() }})
{% endmacro %}
