{% macro integer_divide(numerator, denominator) %}
    {{ return(adapter.dispatch('integer_divide', 'cloudact')(numerator, denominator)) }}
{% endmacro %}

{% macro default__integer_divide(numerator, denominator) %}
    {#- Exact integer quotient (truncated toward zero) of two whole numbers. DuckDB's `/` on DECIMAL returns a DOUBLE,
        which cannot be trusted at a rounding boundary (5.005 is 5.00499… in binary); `//` on HUGEINT is exact. -#}
    (cast({{ numerator }} as hugeint) // cast({{ denominator }} as hugeint))
{% endmacro %}

{% macro bigquery__integer_divide(numerator, denominator) %}
    {#- DIV truncates toward zero and is exact on BIGNUMERIC.
        https://cloud.google.com/bigquery/docs/reference/standard-sql/mathematical_functions#div -#}
    {%- if bq_emulated() %}
    div(cast({{ numerator }} as int64), cast({{ denominator }} as int64))
    {%- else %}
    div(cast({{ numerator }} as bignumeric), cast({{ denominator }} as bignumeric))
    {%- endif %}
{% endmacro %}
