{% macro unit_price_type() %}
    {{ return(adapter.dispatch('unit_price_type', 'cloudact')()) }}
{% endmacro %}

{% macro default__unit_price_type() %}
    {#- Unit prices need more fractional digits than money (OpenAI prices per token are ~1e-7 USD). -#}
    {{ return('decimal(38, 18)') }}
{% endmacro %}

{% macro bigquery__unit_price_type() %}
    {#- The emulator has no BIGNUMERIC (see bq_emulated.sql): NUMERIC, 9 fractional digits, there only. -#}
    {{ return('numeric' if bq_emulated() else 'bignumeric') }}
{% endmacro %}
