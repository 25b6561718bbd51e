with charges as (
    select * from {{ ref('int_charges_unioned') }}
),

{#- One lookup seed per provider: seeds/service_categories/<provider>_service_categories.csv. -#}
{%- set providers = ['aws', 'openai', 'anthropic', 'saas', 'azure', 'oci', 'gcp'] %}

service_categories as (
    {%- for provider in providers %}
    select '{{ provider }}' as provider, service_code, service_name, service_category, service_subcategory
    from {{ ref(provider ~ '_service_categories') }}
    {%- if not loop.last %}
    union all
    {%- endif %}
    {%- endfor %}
),

categorized as (
    select
        {%- for column in charge_columns() if column != 'service_name' %}
        charges.{{ column }},
        {%- endfor %}
        charges.source_row_hash,
        charges.billing_period_text,
        {#- Rows without a product name (AWS tax and credits) take the service's name from the lookup. -#}
        coalesce(charges.service_name, service_categories.service_name, charges.service_code) as service_name,
        {#- An unmapped service stays visible as Other; the lookup seeds are ours to extend. -#}
        coalesce(service_categories.service_category, 'Other') as service_category,
        case
            {#- Vertex AI mixes generative model SKUs with training, notebooks and endpoints: a GCP row whose SKU the
                staging model recognised as generative AI (a model or token type) is Generative AI, the rest of the
                service follows the seed. #}
            when charges.provider = 'gcp' and (charges.ai_model is not null or charges.ai_token_type is not null)
                then 'Generative AI'
            else coalesce(service_categories.service_subcategory, 'Other (Other)')
        end as service_subcategory
    from charges
    left join service_categories
        on charges.provider = service_categories.provider
        and lower(charges.service_code) = lower(service_categories.service_code)
)

select * from categorized
