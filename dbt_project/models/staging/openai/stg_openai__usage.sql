{%- set string = dbt.type_string() -%}
with source as (
    {{ pinned_source('openai', 'openai_usage', [
        ['usage_id', string], ['organization_id', string], ['endpoint', string],
        ['bucket_start_time', dbt.type_bigint()], ['bucket_end_time', dbt.type_bigint()],
        ['project_id', string], ['api_key_id', string], ['model', string], ['service_tier', string],
        ['batch', dbt.type_boolean()], ['metric', string], ['quantity', dbt.type_bigint()],
        ['_dlt_load_id', string],
    ]) }}
),

renamed as (
    select
        usage_id,
        'openai' as provider,
        organization_id as billing_account_id,
        project_id as sub_account_id,
        api_key_id,
        endpoint,
        metric,
        {#- Endpoints without a model (storage, sessions) are priced by a named product in the price seed. -#}
        case endpoint
            when 'code_interpreter_sessions' then coalesce(model, 'code-interpreter')
            when 'vector_stores' then coalesce(model, 'vector-store')
            else model
        end as ai_model,
        service_tier,
        coalesce(batch, false) as is_batch,
        cast(quantity as {{ unit_price_type() }}) as quantity,
        {{ from_unix_seconds('bucket_start_time') }} as charge_period_start_at,
        {{ from_unix_seconds('bucket_end_time') }} as charge_period_end_at,
        _dlt_load_id as load_id
    from source
),

typed as (
    select
        *,
        {#- Which counts are billable units, in the token types of the price seed. input_tokens of completions
            includes cached and cache-write tokens, so completions bill input_uncached_tokens instead (the loader
            derives it when the API omits it). Request counts and the audio/image splits are not billed units. -#}
        case
            when endpoint = 'completions' and metric = 'input_uncached_tokens'
                then case when is_batch then 'batch_input' else 'input' end
            when endpoint = 'completions' and metric = 'input_cached_tokens' then 'cached_input'
            when endpoint = 'completions' and metric = 'output_tokens'
                then case when is_batch then 'batch_output' else 'output' end
            when endpoint in ('embeddings', 'moderations') and metric = 'input_tokens'
                then case when is_batch then 'batch_input' else 'input' end
            when endpoint = 'images' and metric = 'images' then 'images'
            when endpoint = 'audio_speeches' and metric = 'characters' then 'characters'
            when endpoint = 'audio_transcriptions' and metric = 'seconds' then 'seconds'
            when endpoint = 'code_interpreter_sessions' and metric in ('num_sessions', 'sessions') then 'sessions'
            when endpoint = 'vector_stores' and metric = 'usage_bytes' then 'storage_bytes'
        end as ai_token_type,
        case
            when metric like '%tokens' then 'Tokens'
            when metric = 'images' then 'Images'
            when metric = 'characters' then 'Characters'
            when metric = 'seconds' then 'Seconds'
            when metric in ('num_sessions', 'sessions') then 'Sessions'
            when metric = 'usage_bytes' then 'Bytes'
            else 'Requests'
        end as consumed_unit
    from renamed
)

select * from typed
