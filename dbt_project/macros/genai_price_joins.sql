{% macro genai_price_joins(charges, prices) %}
    {#- Left joins of the effective-dated GenAI price table onto `charges` (an alias with provider, ai_model,
        ai_token_type, consumed_unit, charge_period_start_at). A model matches its own price first ("gpt-4o-2024-05-13"),
        then the price of its undated name ("claude-sonnet-4-20250514" → "claude-sonnet-4"), then a provider-wide
        price (model "*", e.g. web search). Each join hits at most one price row: price periods of one
        (provider, model, token type) never overlap (tested on the seed), and valid_to is exclusive.
        Use genai_matched_price('unit_price') for the winning column. -#}
    {%- for alias, model_expression in [
        ('price_exact', charges ~ '.ai_model'),
        ('price_base', "regexp_replace(" ~ charges ~ ".ai_model, '-([0-9]{4}-[0-9]{2}-[0-9]{2}|[0-9]{8})$', '')"),
        ('price_any', "'*'"),
    ] %}
    left join {{ prices }} as {{ alias }}
        on {{ charges }}.provider = {{ alias }}.provider
        and {{ alias }}.model = {{ model_expression }}
        and {{ charges }}.ai_token_type = {{ alias }}.token_type
        and {{ charges }}.consumed_unit = {{ alias }}.consumed_unit
        and cast({{ charges }}.charge_period_start_at as date) >= {{ alias }}.valid_from
        and cast({{ charges }}.charge_period_start_at as date) < {{ alias }}.valid_until
    {%- endfor %}
{% endmacro %}

{% macro genai_matched_price(column) %}
    coalesce(price_exact.{{ column }}, price_base.{{ column }}, price_any.{{ column }})
{% endmacro %}
