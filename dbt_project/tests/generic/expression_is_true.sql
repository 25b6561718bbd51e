{% test expression_is_true(model, expression) %}
    {#- Fails on every row where `expression` is not true (narrow the rows with the `where` config). -#}
    select *
    from {{ model }}
    where not coalesce({{ expression }}, false)
{% endtest %}
