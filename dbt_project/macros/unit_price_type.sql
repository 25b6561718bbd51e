{% macro unit_price_type() %}
    {{ return(adapter.dispatch('unit_price_type', 'cloudact')()) }}
{% endmacro %}

{% macro default__unit_price_type() %}
    {#- Unit prices need more fractional digits than money (OpenAI prices per token are ~1e-7 USD). -#}
    {{ return('decimal(38, 18)') }}
{% endmacro %}

{% macro bigquery__unit_price_type() %}
    {{ return('bignumeric') }}
{% endmacro %}
