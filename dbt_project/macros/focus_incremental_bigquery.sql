{% macro bigquery__focus_delete_changed_units() %}
    {#- BigQuery side of the FOCUS pre-hook: the rows of the units being replaced (whole periods, or single days) go in
        one MERGE whose only clause deletes (MERGE rather than DELETE: the same statement runs on BigQuery and on the
        emulator, which refuses DELETE). The model's body then inserts those units anew (strategy `merge` without a
        unique key: a plain insert). The table is partitioned by day of ChargePeriodStart and clustered, so the body's insert and every
        read by date touch only their partitions. Two statements, not one transaction: the API reads the snapshot
        published after the build, so it never sees the moment between them. -#}
    {%- if is_incremental() %}
    merge into {{ this }} as focus_target
    using (select period_key, charge_date from {{ ref('int_focus_changed_units') }}) as changed_units
    on {{ period_key('focus_target.x_Provider', 'focus_target.BillingAccountId', 'focus_target.BillingPeriodStart') }}
        = changed_units.period_key
        and (changed_units.charge_date is null
            or {{ charge_date('focus_target.ChargePeriodStart') }} = changed_units.charge_date)
    when matched then delete
    {%- endif %}
{% endmacro %}
