{% macro aws_focus_export_periods() %}
    {#- The payer accounts and billing periods (raw text) that AWS's own FOCUS export delivers: the CUR's lines of the
        same account and period are superseded (stg_aws__cost_line_items, stg_aws__cost_line_item_periods). -#}
    select distinct billing_account_id, billing_period_start
    from ({{ pinned_source('aws', 'aws_focus_export', [['billing_account_id', dbt.type_string()], ['billing_period_start', dbt.type_string()]]) }})
        as focus_export
{% endmacro %}
