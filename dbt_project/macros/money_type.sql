{% macro money_type() %}
    {{ return(adapter.dispatch('money_type', 'cloudact')()) }}
{% endmacro %}

{% macro default__money_type() %}
    {#- Exact decimal money. 12 fractional digits keep AWS's sub-cent line items (1.81E-8) exact. -#}
    {{ return('decimal(38, 12)') }}
{% endmacro %}

{% macro bigquery__money_type() %}
    {#- NUMERIC has only 9 fractional digits, so BIGNUMERIC (38 of them) keeps sub-cent line items exact.
        https://cloud.google.com/bigquery/docs/reference/standard-sql/data-types#decimal_types -#}
    {{ return('numeric' if bq_emulated() else 'bignumeric') }}
{% endmacro %}
