{% macro period_key(provider, billing_account_id, billing_period_start) %}
    {#- The unit the incremental FOCUS build replaces: one provider's billing period of one billing account, as text
        'provider|account|YYYY-MM-DD' (same text on DuckDB and BigQuery). -#}
    concat(
        {{ provider }}, '|', coalesce({{ billing_account_id }}, ''), '|',
        cast(cast({{ billing_period_start }} as date) as {{ dbt.type_string() }})
    )
{% endmacro %}
