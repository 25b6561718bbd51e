{% macro bigquery__focus_delete_changed_periods() %}
    {#- BigQuery side of the FOCUS pre-hook: the rows of the periods being replaced go in one MERGE whose only clause
        deletes (MERGE rather than DELETE: the same statement runs on BigQuery and on the emulator, which refuses
        DELETE). The model's body then inserts those periods anew (strategy `merge` without a unique key: a plain
        insert). The table is partitioned by day of ChargePeriodStart and clustered, so the body's insert and every
        read by date touch only their partitions. Two statements, not one transaction: the API reads the snapshot
        published after the build, so it never sees the moment between them. -#}
    {%- if is_incremental() %}
    merge into {{ this }} as focus_target
    using (select period_key from {{ ref('int_focus_changed_periods') }}) as changed_periods
    on {{ period_key('focus_target.x_Provider', 'focus_target.BillingAccountId', 'focus_target.BillingPeriodStart') }}
        = changed_periods.period_key
    when matched then delete
    {%- endif %}
{% endmacro %}
