{% macro row_hash(columns) %}
    {#- A 60- to 63-bit fingerprint of a raw line: every column that shapes its FOCUS rows, in a fixed order, nulls
        included. A non-negative BIGINT on every warehouse, so that sums of it (hash_sum) stay exact. -#}
    {{ return(adapter.dispatch('row_hash', 'cloudact')(columns)) }}
{% endmacro %}

{% macro default__row_hash(columns) %}
    cast(hash({{ columns | join(', ') }}) >> 1 as {{ dbt.type_bigint() }})
{% endmacro %}

{% macro bigquery__row_hash(columns) %}
    {#- The first 60 bits of the md5 of the row as JSON (FARM_FINGERPRINT would do, but the emulator that tests this
        path lacks it). -#}
    cast(concat('0x', substr(to_hex(md5(to_json_string(struct({{ columns | join(', ') }})))), 1, 15)) as int64)
{% endmacro %}

{% macro hash_sum(expression) %}
    {#- Exact, order-independent sum of row_hash values (a day's fingerprint): HUGEINT on DuckDB, NUMERIC on BigQuery
        (29 integer digits: room for 10^10 rows of 63-bit hashes). -#}
    {{ return(adapter.dispatch('hash_sum', 'cloudact')(expression)) }}
{% endmacro %}

{% macro default__hash_sum(expression) %}
    sum({{ expression }})
{% endmacro %}

{% macro bigquery__hash_sum(expression) %}
    sum(cast({{ expression }} as numeric))
{% endmacro %}

{% macro charge_date(charge_period_start) %}
    {#- The UTC calendar day of a charge as 'YYYY-MM-DD' text, the same on every warehouse (DuckDB's session time
        zone is UTC, profiles.yml). -#}
    cast(cast({{ charge_period_start }} as date) as {{ dbt.type_string() }})
{% endmacro %}

{% macro unit_key(provider, billing_account_id, billing_period_start, charge_period_start) %}
    {#- The key of one day of one billing period ('provider|account|YYYY-MM-DD|YYYY-MM-DD'): the unit the incremental
        FOCUS build replaces for sources whose rows each come from one raw line (see int_focus_changed_units). -#}
    concat({{ period_key(provider, billing_account_id, billing_period_start) }}, '|', {{ charge_date(charge_period_start) }})
{% endmacro %}

{% macro day_fingerprints(relation, provider, billing_account_id, billing_period_start, charge_period_start, row_hash, where, in_keys) %}
    {#- One row per billing period key and UTC day of `relation` (raw charges or the FOCUS table, named by its columns):
        row_count, hashed_count (rows with a fingerprint) and hash_sum (their exact sum); int_focus_changed_units
        compares the two sides. `where` restricts the scan (bare columns, pushed down); `in_keys` ("in (...)") keeps
        the period keys. Grouped by the bare columns (the day as a date) and keyed after: building the key text of
        every row costs more than the grouping. -#}
    select
        {{ period_key('provider', 'billing_account_id', 'billing_period_start') }} as period_key,
        {{ charge_date('charge_day') }} as charge_date,
        row_count,
        hashed_count,
        hash_sum
    from (
        select
            {{ provider }} as provider,
            {{ billing_account_id }} as billing_account_id,
            {{ billing_period_start }} as billing_period_start,
            cast({{ charge_period_start }} as date) as charge_day,
            count(*) as row_count,
            count({{ row_hash }}) as hashed_count,
            {{ hash_sum(row_hash) }} as hash_sum
        from {{ relation }}
        where {{ where }}
        group by 1, 2, 3, 4
    ) as grouped
    where {{ period_key('provider', 'billing_account_id', 'billing_period_start') }} {{ in_keys }}
{% endmacro %}

{% macro focus_units_filter(provider, billing_account_id, billing_period_start, charge_period_start, billing_period_text=none) %}
    {#- A where condition selecting the rows of the units int_focus_changed_units lists: whole billing periods by
        period_key, single days by unit_key. The units are read first and inlined as constants, with the bare billing
        period and charge day columns beside the keys, so that the warehouse prunes by them (pushed down to the raw
        scans, or to the FOCUS table's zone maps and partitions) before it builds any key text. When every unit has
        a billing_period_text (the raw column as delivered, see union_charges) and a billing_period_text column is
        given, the condition names it too: DuckDB then skips the other periods' row groups of the raw table. When a
        key is not plainly safe as a literal, the condition reads the unit table in subqueries instead. Only on an
        incremental build (execute): at parse time it renders a placeholder. -#}
    {%- set units = none -%}
    {%- if execute -%}
        {%- set units = run_query('select period_key, billing_period_start, charge_date, unit_key, billing_period_text from ' ~ ref('int_focus_changed_units')) -%}
    {%- endif -%}
    {%- if units is none or units.rows | length == 0 -%}
        1 = 0
    {%- else -%}
        {%- set safe = namespace(keys=true, texts=billing_period_text is not none) -%}
        {%- for row in units.rows -%}
            {%- for value in row[:4] if value is not none and not is_plain_literal(value) -%}
                {%- set safe.keys = false -%}
            {%- endfor -%}
            {%- if not is_plain_literal(row[4]) -%}
                {%- set safe.texts = false -%}
            {%- endif -%}
        {%- endfor -%}
        {%- set period = period_key(provider, billing_account_id, billing_period_start) -%}
        {%- set day_unit = unit_key(provider, billing_account_id, billing_period_start, charge_period_start) -%}
        {%- if not safe.keys -%}
        ({{ period }} in (select period_key from {{ ref('int_focus_changed_units') }} where charge_date is null)
            or {{ day_unit }} in (select unit_key from {{ ref('int_focus_changed_units') }} where charge_date is not null))
        {%- else -%}
            {%- set starts = units.columns[1].values() | unique | list -%}
            {%- set wholes = [] -%}
            {%- set days = [] -%}
            {%- set dates = [] -%}
            {%- for row in units.rows -%}
                {%- if row[2] is none -%}
                    {%- do wholes.append(row[0]) -%}
                {%- else -%}
                    {%- do days.append(row[3]) -%}
                    {%- if row[2] not in dates %}{% do dates.append(row[2]) %}{% endif -%}
                {%- endif -%}
            {%- endfor -%}
        {{ billing_period_start }} in (
            {{- timestamp_literals(starts) -}}
        )
        {%- if safe.texts %}
        and {{ billing_period_text }} in (
            {{- text_literals(units.columns[4].values() | unique) -}}
        )
        {%- endif %}
        and (
            {%- if wholes %}
            {{ period }} in ({{ text_literals(wholes) }})
            {%- endif %}
            {%- if wholes and days %}
            or {% endif %}
            {%- if days %}
            {#- The days as ranges of instants (consecutive days merged): a comparison of the bare column with
                constants is pushed down through the views; a cast of it to a date is not (measured: 0.58 s against
                0.33 s for two days of a month at 1M rows). #}
            {%- set ranges = [] -%}
            {%- for day in dates | sort -%}
                {%- set start = modules.datetime.date.fromisoformat(day) -%}
                {%- if ranges and ranges[-1][1] == start -%}
                    {%- set merged = ranges.pop() -%}
                    {%- do ranges.append([merged[0], start + modules.datetime.timedelta(days=1)]) -%}
                {%- else -%}
                    {%- do ranges.append([start, start + modules.datetime.timedelta(days=1)]) -%}
                {%- endif -%}
            {%- endfor %}
            ((
                {%- for first, after in ranges %}
                ({{ charge_period_start }} >= {{ to_utc_timestamp("'" ~ first.isoformat() ~ "T00:00:00.000000Z'") }}
                    and {{ charge_period_start }} < {{ to_utc_timestamp("'" ~ after.isoformat() ~ "T00:00:00.000000Z'") }})
                {{- " or" if not loop.last }}
                {%- endfor %}
            )
                and {{ day_unit }} in ({{ text_literals(days) }}))
            {%- endif %}
        )
        {%- endif -%}
    {%- endif -%}
{% endmacro %}

{% macro is_plain_literal(value) %}
    {#- True when a value read back from the warehouse (a key, an ISO timestamp, a raw period text) can be inlined as a
        quoted SQL literal on every warehouse as it is: no quote, backslash or other character needing an escape. -#}
    {{ return(value is not none and modules.re.match('^[A-Za-z0-9 _.:@/|-]*$', value) is not none) }}
{% endmacro %}

{% macro text_literals(values) %}
    {#- Plain text values (is_plain_literal) as a comma-separated list of quoted literals, for an `in (...)`. -#}
    {%- for value in values %}'{{ value }}'{{ ", " if not loop.last }}{% endfor -%}
{% endmacro %}

{% macro timestamp_literals(values) %}
    {#- UTC ISO timestamps (timestamp_text) as a comma-separated list of timestamp literals, for an `in (...)`. -#}
    {%- for value in values %}{{ to_utc_timestamp("'" ~ value ~ "'") }}{{ ", " if not loop.last }}{% endfor -%}
{% endmacro %}
