{% macro focus_delete_changed_units() %}
    {#- Pre-hook of cost_data_standard_1_3: on an incremental build, delete the rows of the units being replaced (whole
        billing periods, or single days of a re-delivered one: int_focus_changed_units). -#}
    {{ return(adapter.dispatch('focus_delete_changed_units', 'cloudact')()) }}
{% endmacro %}

{% macro default__focus_delete_changed_units() %}
    {%- if is_incremental() %}
    delete from {{ this }}
    where {{ focus_units_filter('x_Provider', 'BillingAccountId', 'BillingPeriodStart', 'ChargePeriodStart') }}
    {%- endif %}
{% endmacro %}

{% macro focus_record_build_state() %}
    {#- Post-hook of cost_data_standard_1_3: remember which version of the project built the table, so that the next
        build after an upgrade (changed models, macros or seeds) rebuilds every period (see int_focus_changed_periods),
        and which staging models had no raw table (cloudact.transform leaves their views out of the next build). -#}
    create or replace table {{ this.incorporate(path={'identifier': 'focus_build_state'}) }} as
    select
        cast('{{ var("focus_fingerprint", "") }}' as {{ dbt.type_string() }}) as fingerprint,
        cast('{{ var("focus_rawless", "") }}' as {{ dbt.type_string() }}) as rawless_models
{% endmacro %}
