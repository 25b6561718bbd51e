{% macro anthropic_token_type(token_type, cost_type, service_tier) %}
    {#- Anthropic's token type names (cost report token_type, usage report metric) → the price seed's token types.
        Batch-tier input and output have their own prices; cache reads and writes keep theirs in every tier. -#}
    case
        when {{ cost_type }} = 'web_search' then 'web_search'
        when {{ cost_type }} is not null and {{ cost_type }} <> 'tokens' then {{ cost_type }}
        when {{ token_type }} = 'uncached_input_tokens'
            then case when {{ service_tier }} = 'batch' then 'batch_input' else 'input' end
        when {{ token_type }} = 'output_tokens'
            then case when {{ service_tier }} = 'batch' then 'batch_output' else 'output' end
        when {{ token_type }} = 'cache_read_input_tokens' then 'cached_input'
        when {{ token_type }} in ('cache_creation.ephemeral_5m_input_tokens', 'ephemeral_5m_input_tokens')
            then 'cache_write_5m'
        when {{ token_type }} in ('cache_creation.ephemeral_1h_input_tokens', 'ephemeral_1h_input_tokens')
            then 'cache_write_1h'
    end
{% endmacro %}
