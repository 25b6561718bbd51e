{% test genai_price_periods_do_not_overlap(model) %}
    {#- Invariant: for one (provider, model, token_type, consumed_unit) at most one price is valid on any day, so the
        effective-dated price join never duplicates a charge. valid_to is exclusive; an empty valid_to is open-ended.
        Fails on two periods starting the same day, a period starting inside an earlier one, and a period that ends
        before it starts. -#}
    with periods as (
        select
            provider, model, token_type, consumed_unit, valid_from,
            coalesce(valid_to, cast('9999-12-31' as date)) as valid_until
        from {{ model }}
    )

    select provider, model, token_type, consumed_unit, valid_from, 'two prices start that day' as problem
    from periods
    group by provider, model, token_type, consumed_unit, valid_from
    having count(*) > 1
    union all
    select
        earlier.provider, earlier.model, earlier.token_type, earlier.consumed_unit, later.valid_from,
        'starts inside an earlier period' as problem
    from periods as earlier
    inner join periods as later
        on earlier.provider = later.provider
        and earlier.model = later.model
        and earlier.token_type = later.token_type
        and earlier.consumed_unit = later.consumed_unit
        and earlier.valid_from < later.valid_from
        and later.valid_from < earlier.valid_until
    union all
    select provider, model, token_type, consumed_unit, valid_from, 'ends before it starts' as problem
    from periods
    where valid_until <= valid_from
{% endtest %}
