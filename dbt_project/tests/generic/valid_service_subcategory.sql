{% test valid_service_subcategory(model, column_name, category_column) %}
    {#- FOCUS 1.3: each ServiceSubcategory is one of the 82 allowed values and belongs to its row's ServiceCategory. -#}
    select charges.{{ category_column }}, charges.{{ column_name }}
    from {{ model }} as charges
    left join {{ ref('focus_service_subcategories') }} as allowed
        on charges.{{ category_column }} = allowed.service_category
        and charges.{{ column_name }} = allowed.service_subcategory
    where charges.{{ column_name }} is not null
      and allowed.service_subcategory is null
{% endtest %}
