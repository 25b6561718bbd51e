{% macro json_key_value_object(arrays) %}
    {#- One flat JSON object (FOCUS KeyValueFormat) from JSON arrays of {"key": ..., "value": ...} records, e.g. GCP
        labels. arrays: list of [column, key prefix]. Keys are prefixed, an empty or missing value becomes true
        (FOCUS: valueless tags), keys are sorted; null when no array has an element. -#}
    {{ return(adapter.dispatch('json_key_value_object', 'cloudact')(arrays)) }}
{% endmacro %}

{% macro default__json_key_value_object(arrays) %}
    (
        select '{' || string_agg(
            to_json(tag_key) || ':' || case when tag_value is null or tag_value = '' then 'true' else to_json(tag_value) end,
            ',' order by tag_key
        ) || '}'
        from (
            {%- for array in arrays %}
            select '{{ array[1] }}' || json_extract_string(item.value, '$.key') as tag_key,
                json_extract_string(item.value, '$.value') as tag_value
            from json_each({{ array[0] }}) as item
            {% if not loop.last %}union all{% endif %}
            {%- endfor %}
        ) as tag_items
        where tag_key is not null
    )
{% endmacro %}

{% macro bigquery__json_key_value_object(arrays) %}
    (
        select concat('{', string_agg(
            concat(to_json_string(tag_key), ':', if(tag_value is null or tag_value = '', 'true', to_json_string(tag_value))),
            ',' order by tag_key
        ), '}')
        from (
            {%- for array in arrays %}
            select concat('{{ array[1] }}', json_value(item, '$.key')) as tag_key, json_value(item, '$.value') as tag_value
            from unnest(json_query_array({{ array[0] }})) as item
            {% if not loop.last %}union all{% endif %}
            {%- endfor %}
        ) as tag_items
        where tag_key is not null
    )
{% endmacro %}
