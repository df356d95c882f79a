
using namespace System.Management.Automation
using namespace System.Management.Automation.Language

Register-ArgumentCompleter -Native -CommandName 'cdp-purge' -ScriptBlock {
    param($wordToComplete, $commandAst, $cursorPosition)

    $commandElements = $commandAst.CommandElements
    $command = @(
        'cdp-purge'
        for ($i = 1; $i -lt $commandElements.Count; $i++) {
            $element = $commandElements[$i]
            if ($element -isnot [StringConstantExpressionAst] -or
                $element.StringConstantType -ne [StringConstantType]::BareWord -or
                $element.Value.StartsWith('-') -or
                $element.Value -eq $wordToComplete) {
                break
        }
        $element.Value
    }) -join ';'

    $completions = @(switch ($command) {
        'cdp-purge' {
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'Colour on stderr: auto (a terminal, and no NO_COLOR), always or never')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Config file with named targets [default: $CDP_PURGE_CONFIG, else $XDG_CONFIG_HOME/cdp-purge/cdp-purge.toml]')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only errors (no progress, no summary text; --json output still goes to stdout)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only errors (no progress, no summary text; --json output still goes to stdout)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More log output (-v: info, -vv: debug). Identifiers are never logged')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More log output (-v: info, -vv: debug). Identifiers are never logged')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('plan', 'plan', [CompletionResultType]::ParameterValue, 'Read, clean and batch the input exactly as a real run would; send nothing')
            [CompletionResult]::new('delete', 'delete', [CompletionResultType]::ParameterValue, 'Delete the profiles: paced to the vendor''s quota, retried, recorded in a ledger')
            [CompletionResult]::new('status', 'status', [CompletionResultType]::ParameterValue, 'Poll the vendors for the state of a ledger''s deletion jobs, oldest check first')
            [CompletionResult]::new('report', 'report', [CompletionResultType]::ParameterValue, 'Summarise a ledger per run, per input row or per person; check it was not altered')
            [CompletionResult]::new('vendors', 'vendors', [CompletionResultType]::ParameterValue, 'List the supported vendors: per-request cap, quota, identifier kinds, credentials')
            [CompletionResult]::new('targets', 'targets', [CompletionResultType]::ParameterValue, 'List the targets in the config file: vendor, settings, limits, credential variables')
            [CompletionResult]::new('check', 'check', [CompletionResultType]::ParameterValue, 'Preflight: validate a target''s configuration and credentials without deleting anything')
            [CompletionResult]::new('sandbox', 'sandbox', [CompletionResultType]::ParameterValue, 'Run a local fake of every vendor API (for trying the tool and for tests)')
            [CompletionResult]::new('completions', 'completions', [CompletionResultType]::ParameterValue, 'Print a shell completion script')
            [CompletionResult]::new('man', 'man', [CompletionResultType]::ParameterValue, 'Print the man page (roff) to stdout')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'cdp-purge;plan' {
            [CompletionResult]::new('-i', '-i', [CompletionResultType]::ParameterName, 'An input file, as the FILE arguments. Repeatable')
            [CompletionResult]::new('--input', '--input', [CompletionResultType]::ParameterName, 'An input file, as the FILE arguments. Repeatable')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Input format (default: from the extension; stdin defaults to csv)')
            [CompletionResult]::new('--column', '--column', [CompletionResultType]::ParameterName, 'Column (CSV header name) or key (JSON objects; dotted path for nested keys) holding the identifier')
            [CompletionResult]::new('--column-for', '--column-for', [CompletionResultType]::ParameterName, 'The column one target reads, over its `column` in the config file and --column (several targets reading one file with several identifier columns). Repeatable')
            [CompletionResult]::new('--column-index', '--column-index', [CompletionResultType]::ParameterName, '0-based column index holding the identifier (CSV/TSV)')
            [CompletionResult]::new('--delimiter', '--delimiter', [CompletionResultType]::ParameterName, 'Field delimiter for CSV (default: `,`; `\t` for .tsv)')
            [CompletionResult]::new('--null-values', '--null-values', [CompletionResultType]::ParameterName, 'Values treated as empty, comma-separated, matched ignoring case and surrounding spaces; replaces the built-in list [default: null,(null),<null>,none,nil,nan,undefined, n/a,na,#n/a,\N,#null!,#value!,#ref!,#div/0!,#name?,#num!,-,0]')
            [CompletionResult]::new('--rejects', '--rejects', [CompletionResultType]::ParameterName, 'Write one CSV line per rejected row (file, row, column, reason) to FILE')
            [CompletionResult]::new('--batch-size', '--batch-size', [CompletionResultType]::ParameterName, 'Identifiers per request (at most the vendor''s cap; see `cdp-purge vendors`)')
            [CompletionResult]::new('--vendor', '--vendor', [CompletionResultType]::ParameterName, 'The vendor to delete from (see `cdp-purge vendors`); not needed with --target')
            [CompletionResult]::new('--target', '--target', [CompletionResultType]::ParameterName, 'A target from the config file (see `cdp-purge targets`); flags override its settings. Repeatable')
            [CompletionResult]::new('--group', '--group', [CompletionResultType]::ParameterName, 'The targets of a group in the config file (`[groups] NAME = ["a", "b"]`): one run per target, each with its own ledger, one summary line each')
            [CompletionResult]::new('--base-url', '--base-url', [CompletionResultType]::ParameterName, 'Override the vendor''s host, e.g. a proxy or the local sandbox (https://, or http:// to localhost; no credentials in it)')
            [CompletionResult]::new('--credentials-file', '--credentials-file', [CompletionResultType]::ParameterName, 'Read credentials from this file (KEY=VALUE lines, as the environment variables)')
            [CompletionResult]::new('--id-type', '--id-type', [CompletionResultType]::ParameterName, 'What the values are: Lytics'' identity field (email, member_id), mParticle''s identity type (mpid, customerid, email, ...), CleverTap''s identity or guid, Segment''s external id type (email, anonymous_id, ...), Hightouch''s identifier name (email, phone, ...)')
            [CompletionResult]::new('--id-type-column', '--id-type-column', [CompletionResultType]::ParameterName, 'Segment / Hightouch: column holding each row''s identifier type (instead of --id-type)')
            [CompletionResult]::new('--table', '--table', [CompletionResultType]::ParameterName, 'Lytics: the table (default: user)')
            [CompletionResult]::new('--pod', '--pod', [CompletionResultType]::ParameterName, 'mParticle: pod hosting the account')
            [CompletionResult]::new('--environment', '--environment', [CompletionResultType]::ParameterName, 'mParticle: environment_type of the deletion (not needed by `plan`)')
            [CompletionResult]::new('--requester', '--requester', [CompletionResultType]::ParameterName, 'Amplitude: who asked for the deletion (Amplitude''s `requester`, for its audit trail)')
            [CompletionResult]::new('--project-id', '--project-id', [CompletionResultType]::ParameterName, 'PostHog: the project ID (not needed by `plan`)')
            [CompletionResult]::new('--region', '--region', [CompletionResultType]::ParameterName, 'Region of the account: CleverTap (in1, sg1, us1, aps3, mec1, eu1), Segment, Segment regulations, Amplitude, Iterable, PostHog (us or eu), Mixpanel (us, eu or in)')
            [CompletionResult]::new('--source', '--source', [CompletionResultType]::ParameterName, 'Segment regulations: regulate one source instead of the whole workspace')
            [CompletionResult]::new('--regulation-type', '--regulation-type', [CompletionResultType]::ParameterName, 'Segment regulations: SUPPRESS_WITH_DELETE (default), DELETE_ONLY, SUPPRESS_WITH_DELETE_INTERNAL, DELETE_INTERNAL, SUPPRESS_ONLY or UNSUPPRESS')
            [CompletionResult]::new('--compliance-type', '--compliance-type', [CompletionResultType]::ParameterName, 'Mixpanel: GDPR (default) or CCPA')
            [CompletionResult]::new('--data-groups', '--data-groups', [CompletionResultType]::ParameterName, 'Mixpanel: the project''s data groups (each lowers the per-request cap: 2000/(N+1))')
            [CompletionResult]::new('--instance', '--instance', [CompletionResultType]::ParameterName, 'Braze: the REST instance of the workspace (iad-01 ... iad-08, us-10, fra-01, fra-02, au-01, ...)')
            [CompletionResult]::new('--alias-label', '--alias-label', [CompletionResultType]::ParameterName, 'Braze: the alias_label of the user aliases deleted with --id-type user_alias')
            [CompletionResult]::new('--space', '--space', [CompletionResultType]::ParameterName, 'Segment: the Unify space ID (not needed by `plan`)')
            [CompletionResult]::new('--user-id-column', '--user-id-column', [CompletionResultType]::ParameterName, 'Segment: column holding each row''s lookup user_id')
            [CompletionResult]::new('--lookup-type', '--lookup-type', [CompletionResultType]::ParameterName, 'Segment: find each row''s profile by this external id type (email, anonymous_id, any type of the space) through the Profile API, instead of a user_id column. The lookups share the space''s quota with the deletions')
            [CompletionResult]::new('--lookup-column', '--lookup-column', [CompletionResultType]::ParameterName, 'Segment: with --lookup-type, the column holding the value to look up [default: --column]')
            [CompletionResult]::new('--graph', '--graph', [CompletionResultType]::ParameterName, 'Hightouch: the identity graph ID (not needed by `plan`)')
            [CompletionResult]::new('--field', '--field', [CompletionResultType]::ParameterName, 'Old name of --id-type for Lytics (deprecated)')
            [CompletionResult]::new('--identity-type', '--identity-type', [CompletionResultType]::ParameterName, 'Old name of --id-type for mParticle (deprecated)')
            [CompletionResult]::new('--id-kind', '--id-kind', [CompletionResultType]::ParameterName, 'Old name of --id-type for CleverTap (deprecated)')
            [CompletionResult]::new('--identifier-type', '--identifier-type', [CompletionResultType]::ParameterName, 'Old name of --id-type for Hightouch (deprecated)')
            [CompletionResult]::new('--identifier-type-column', '--identifier-type-column', [CompletionResultType]::ParameterName, 'Old name of --id-type-column (deprecated)')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'Colour on stderr: auto (a terminal, and no NO_COLOR), always or never')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Config file with named targets [default: $CDP_PURGE_CONFIG, else $XDG_CONFIG_HOME/cdp-purge/cdp-purge.toml]')
            [CompletionResult]::new('--no-header', '--no-header', [CompletionResultType]::ParameterName, 'The CSV/TSV file has no header row (one identifier per line unless --column-index)')
            [CompletionResult]::new('--lowercase', '--lowercase', [CompletionResultType]::ParameterName, 'Lowercase identifiers before de-duplication (for case-insensitive kinds such as email)')
            [CompletionResult]::new('--no-validate', '--no-validate', [CompletionResultType]::ParameterName, 'Skip per-kind validation (email syntax, MPID range, ...)')
            [CompletionResult]::new('--allow-empty', '--allow-empty', [CompletionResultType]::ParameterName, 'Exit 0 even when nothing is left to send (no rows, or every row rejected), for scheduled runs whose list may be empty; without it that is an error (exit 2)')
            [CompletionResult]::new('--rejects-include-values', '--rejects-include-values', [CompletionResultType]::ParameterName, 'Also write the raw rejected value to the rejects file (personal data)')
            [CompletionResult]::new('--all-targets', '--all-targets', [CompletionResultType]::ParameterName, 'Every target in the config file (with --vendor: every target of that vendor)')
            [CompletionResult]::new('--allow-insecure-http', '--allow-insecure-http', [CompletionResultType]::ParameterName, 'Allow a plain http:// --base-url to a host other than this machine (the credentials travel unencrypted)')
            [CompletionResult]::new('--no-block', '--no-block', [CompletionResultType]::ParameterName, 'Hightouch: do not blocklist the values (supercluster repair only, not for deletion)')
            [CompletionResult]::new('--source-data-deleted', '--source-data-deleted', [CompletionResultType]::ParameterName, 'Hightouch: confirm the rows are already gone from the warehouse sources')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print the plan as one JSON object on stdout (one line per target)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only errors (no progress, no summary text; --json output still goes to stdout)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only errors (no progress, no summary text; --json output still goes to stdout)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More log output (-v: info, -vv: debug). Identifiers are never logged')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More log output (-v: info, -vv: debug). Identifiers are never logged')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'cdp-purge;delete' {
            [CompletionResult]::new('-i', '-i', [CompletionResultType]::ParameterName, 'An input file, as the FILE arguments. Repeatable')
            [CompletionResult]::new('--input', '--input', [CompletionResultType]::ParameterName, 'An input file, as the FILE arguments. Repeatable')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Input format (default: from the extension; stdin defaults to csv)')
            [CompletionResult]::new('--column', '--column', [CompletionResultType]::ParameterName, 'Column (CSV header name) or key (JSON objects; dotted path for nested keys) holding the identifier')
            [CompletionResult]::new('--column-for', '--column-for', [CompletionResultType]::ParameterName, 'The column one target reads, over its `column` in the config file and --column (several targets reading one file with several identifier columns). Repeatable')
            [CompletionResult]::new('--column-index', '--column-index', [CompletionResultType]::ParameterName, '0-based column index holding the identifier (CSV/TSV)')
            [CompletionResult]::new('--delimiter', '--delimiter', [CompletionResultType]::ParameterName, 'Field delimiter for CSV (default: `,`; `\t` for .tsv)')
            [CompletionResult]::new('--null-values', '--null-values', [CompletionResultType]::ParameterName, 'Values treated as empty, comma-separated, matched ignoring case and surrounding spaces; replaces the built-in list [default: null,(null),<null>,none,nil,nan,undefined, n/a,na,#n/a,\N,#null!,#value!,#ref!,#div/0!,#name?,#num!,-,0]')
            [CompletionResult]::new('--rejects', '--rejects', [CompletionResultType]::ParameterName, 'Write one CSV line per rejected row (file, row, column, reason) to FILE')
            [CompletionResult]::new('--batch-size', '--batch-size', [CompletionResultType]::ParameterName, 'Identifiers per request (at most the vendor''s cap; see `cdp-purge vendors`)')
            [CompletionResult]::new('--vendor', '--vendor', [CompletionResultType]::ParameterName, 'The vendor to delete from (see `cdp-purge vendors`); not needed with --target')
            [CompletionResult]::new('--target', '--target', [CompletionResultType]::ParameterName, 'A target from the config file (see `cdp-purge targets`); flags override its settings. Repeatable')
            [CompletionResult]::new('--group', '--group', [CompletionResultType]::ParameterName, 'The targets of a group in the config file (`[groups] NAME = ["a", "b"]`): one run per target, each with its own ledger, one summary line each')
            [CompletionResult]::new('--base-url', '--base-url', [CompletionResultType]::ParameterName, 'Override the vendor''s host, e.g. a proxy or the local sandbox (https://, or http:// to localhost; no credentials in it)')
            [CompletionResult]::new('--credentials-file', '--credentials-file', [CompletionResultType]::ParameterName, 'Read credentials from this file (KEY=VALUE lines, as the environment variables)')
            [CompletionResult]::new('--id-type', '--id-type', [CompletionResultType]::ParameterName, 'What the values are: Lytics'' identity field (email, member_id), mParticle''s identity type (mpid, customerid, email, ...), CleverTap''s identity or guid, Segment''s external id type (email, anonymous_id, ...), Hightouch''s identifier name (email, phone, ...)')
            [CompletionResult]::new('--id-type-column', '--id-type-column', [CompletionResultType]::ParameterName, 'Segment / Hightouch: column holding each row''s identifier type (instead of --id-type)')
            [CompletionResult]::new('--table', '--table', [CompletionResultType]::ParameterName, 'Lytics: the table (default: user)')
            [CompletionResult]::new('--pod', '--pod', [CompletionResultType]::ParameterName, 'mParticle: pod hosting the account')
            [CompletionResult]::new('--environment', '--environment', [CompletionResultType]::ParameterName, 'mParticle: environment_type of the deletion (not needed by `plan`)')
            [CompletionResult]::new('--requester', '--requester', [CompletionResultType]::ParameterName, 'Amplitude: who asked for the deletion (Amplitude''s `requester`, for its audit trail)')
            [CompletionResult]::new('--project-id', '--project-id', [CompletionResultType]::ParameterName, 'PostHog: the project ID (not needed by `plan`)')
            [CompletionResult]::new('--region', '--region', [CompletionResultType]::ParameterName, 'Region of the account: CleverTap (in1, sg1, us1, aps3, mec1, eu1), Segment, Segment regulations, Amplitude, Iterable, PostHog (us or eu), Mixpanel (us, eu or in)')
            [CompletionResult]::new('--source', '--source', [CompletionResultType]::ParameterName, 'Segment regulations: regulate one source instead of the whole workspace')
            [CompletionResult]::new('--regulation-type', '--regulation-type', [CompletionResultType]::ParameterName, 'Segment regulations: SUPPRESS_WITH_DELETE (default), DELETE_ONLY, SUPPRESS_WITH_DELETE_INTERNAL, DELETE_INTERNAL, SUPPRESS_ONLY or UNSUPPRESS')
            [CompletionResult]::new('--compliance-type', '--compliance-type', [CompletionResultType]::ParameterName, 'Mixpanel: GDPR (default) or CCPA')
            [CompletionResult]::new('--data-groups', '--data-groups', [CompletionResultType]::ParameterName, 'Mixpanel: the project''s data groups (each lowers the per-request cap: 2000/(N+1))')
            [CompletionResult]::new('--instance', '--instance', [CompletionResultType]::ParameterName, 'Braze: the REST instance of the workspace (iad-01 ... iad-08, us-10, fra-01, fra-02, au-01, ...)')
            [CompletionResult]::new('--alias-label', '--alias-label', [CompletionResultType]::ParameterName, 'Braze: the alias_label of the user aliases deleted with --id-type user_alias')
            [CompletionResult]::new('--space', '--space', [CompletionResultType]::ParameterName, 'Segment: the Unify space ID (not needed by `plan`)')
            [CompletionResult]::new('--user-id-column', '--user-id-column', [CompletionResultType]::ParameterName, 'Segment: column holding each row''s lookup user_id')
            [CompletionResult]::new('--lookup-type', '--lookup-type', [CompletionResultType]::ParameterName, 'Segment: find each row''s profile by this external id type (email, anonymous_id, any type of the space) through the Profile API, instead of a user_id column. The lookups share the space''s quota with the deletions')
            [CompletionResult]::new('--lookup-column', '--lookup-column', [CompletionResultType]::ParameterName, 'Segment: with --lookup-type, the column holding the value to look up [default: --column]')
            [CompletionResult]::new('--graph', '--graph', [CompletionResultType]::ParameterName, 'Hightouch: the identity graph ID (not needed by `plan`)')
            [CompletionResult]::new('--field', '--field', [CompletionResultType]::ParameterName, 'Old name of --id-type for Lytics (deprecated)')
            [CompletionResult]::new('--identity-type', '--identity-type', [CompletionResultType]::ParameterName, 'Old name of --id-type for mParticle (deprecated)')
            [CompletionResult]::new('--id-kind', '--id-kind', [CompletionResultType]::ParameterName, 'Old name of --id-type for CleverTap (deprecated)')
            [CompletionResult]::new('--identifier-type', '--identifier-type', [CompletionResultType]::ParameterName, 'Old name of --id-type for Hightouch (deprecated)')
            [CompletionResult]::new('--identifier-type-column', '--identifier-type-column', [CompletionResultType]::ParameterName, 'Old name of --id-type-column (deprecated)')
            [CompletionResult]::new('--ledger', '--ledger', [CompletionResultType]::ParameterName, 'Ledger file (JSON Lines) [default: <first input>.ledger.<destination>.jsonl, one per input and destination; cdp-purge-stdin.ledger.<destination>.jsonl for stdin and pipes]')
            [CompletionResult]::new('--max-rps', '--max-rps', [CompletionResultType]::ParameterName, 'Requests per second (default: the vendor''s quota; above it only with a warning)')
            [CompletionResult]::new('--max-items-per-sec', '--max-items-per-sec', [CompletionResultType]::ParameterName, 'Identifiers per second (default: the vendor''s quota; above it only with a warning)')
            [CompletionResult]::new('--max-per-window', '--max-per-window', [CompletionResultType]::ParameterName, 'The account''s own quota terms, N/DURATION from 1s to 30d (e.g. 200000/30d): replaces the vendor''s documented item quota (or request quota where it counts requests)')
            [CompletionResult]::new('--concurrency', '--concurrency', [CompletionResultType]::ParameterName, 'Requests in flight at once (default: the vendor''s, enough to reach the quota at ~1 s latency)')
            [CompletionResult]::new('--max-retries', '--max-retries', [CompletionResultType]::ParameterName, 'Retries per batch after the first attempt [default: 8, or the config file''s]')
            [CompletionResult]::new('--max-backoff', '--max-backoff', [CompletionResultType]::ParameterName, 'Longest wait between two attempts (also caps Retry-After)')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'Per-request timeout (connect and total)')
            [CompletionResult]::new('--breaker-after', '--breaker-after', [CompletionResultType]::ParameterName, 'Stop the run when this many first identifiers all failed permanently for the same reason (a refused permission, a misspelt field, a wrong space): the configuration is wrong, not the data. Those identifiers are recorded as retryable, so the same command resends them once fixed')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'Colour on stderr: auto (a terminal, and no NO_COLOR), always or never')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Config file with named targets [default: $CDP_PURGE_CONFIG, else $XDG_CONFIG_HOME/cdp-purge/cdp-purge.toml]')
            [CompletionResult]::new('--no-header', '--no-header', [CompletionResultType]::ParameterName, 'The CSV/TSV file has no header row (one identifier per line unless --column-index)')
            [CompletionResult]::new('--lowercase', '--lowercase', [CompletionResultType]::ParameterName, 'Lowercase identifiers before de-duplication (for case-insensitive kinds such as email)')
            [CompletionResult]::new('--no-validate', '--no-validate', [CompletionResultType]::ParameterName, 'Skip per-kind validation (email syntax, MPID range, ...)')
            [CompletionResult]::new('--allow-empty', '--allow-empty', [CompletionResultType]::ParameterName, 'Exit 0 even when nothing is left to send (no rows, or every row rejected), for scheduled runs whose list may be empty; without it that is an error (exit 2)')
            [CompletionResult]::new('--rejects-include-values', '--rejects-include-values', [CompletionResultType]::ParameterName, 'Also write the raw rejected value to the rejects file (personal data)')
            [CompletionResult]::new('--all-targets', '--all-targets', [CompletionResultType]::ParameterName, 'Every target in the config file (with --vendor: every target of that vendor)')
            [CompletionResult]::new('--allow-insecure-http', '--allow-insecure-http', [CompletionResultType]::ParameterName, 'Allow a plain http:// --base-url to a host other than this machine (the credentials travel unencrypted)')
            [CompletionResult]::new('--no-block', '--no-block', [CompletionResultType]::ParameterName, 'Hightouch: do not blocklist the values (supercluster repair only, not for deletion)')
            [CompletionResult]::new('--source-data-deleted', '--source-data-deleted', [CompletionResultType]::ParameterName, 'Hightouch: confirm the rows are already gone from the warehouse sources')
            [CompletionResult]::new('--ledger-include-identifiers', '--ledger-include-identifiers', [CompletionResultType]::ParameterName, 'Store raw identifiers in the ledger (personal data; off by default)')
            [CompletionResult]::new('--ledger-any-destination', '--ledger-any-destination', [CompletionResultType]::ParameterName, 'Append to a ledger that records runs to another destination (each destination still resumes only from its own records)')
            [CompletionResult]::new('--retry-failed', '--retry-failed', [CompletionResultType]::ParameterName, 'Resend identifiers the ledger records as permanently failed (not_found, invalid)')
            [CompletionResult]::new('--no-breaker', '--no-breaker', [CompletionResultType]::ParameterName, 'Never stop for failures that look systemic (see --breaker-after): use it when the first identifiers really are unknown or invalid')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print the final summary as one JSON object on stdout')
            [CompletionResult]::new('-y', '-y', [CompletionResultType]::ParameterName, 'Do not ask for confirmation (required when stdin is not a terminal)')
            [CompletionResult]::new('--yes', '--yes', [CompletionResultType]::ParameterName, 'Do not ask for confirmation (required when stdin is not a terminal)')
            [CompletionResult]::new('--dry-run', '--dry-run', [CompletionResultType]::ParameterName, 'Send nothing; print the plan (same as `cdp-purge plan`)')
            [CompletionResult]::new('--sandbox', '--sandbox', [CompletionResultType]::ParameterName, 'Delete from a built-in sandbox of the vendor, started on 127.0.0.1 for this run, with its fake credentials: no account needed and nothing real is touched')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only errors (no progress, no summary text; --json output still goes to stdout)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only errors (no progress, no summary text; --json output still goes to stdout)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More log output (-v: info, -vv: debug). Identifiers are never logged')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More log output (-v: info, -vv: debug). Identifiers are never logged')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'cdp-purge;status' {
            [CompletionResult]::new('--ledger', '--ledger', [CompletionResultType]::ParameterName, 'The ledger a `delete` run wrote; status records are appended to it')
            [CompletionResult]::new('--group', '--group', [CompletionResultType]::ParameterName, 'Every target of a `delete --group NAME` over the input given with -i (each target''s own ledger and credentials); the exit code is the most urgent one')
            [CompletionResult]::new('--base-url', '--base-url', [CompletionResultType]::ParameterName, 'Poll this host instead of the one recorded in the ledger (mParticle --verify: the Profile API host)')
            [CompletionResult]::new('--credentials-file', '--credentials-file', [CompletionResultType]::ParameterName, 'Read credentials from this file (KEY=VALUE lines, as the environment variables)')
            [CompletionResult]::new('--target', '--target', [CompletionResultType]::ParameterName, 'Read a vendor''s credentials from the variables this config target names (repeatable, one per vendor); other vendors use the standard variables')
            [CompletionResult]::new('--until', '--until', [CompletionResultType]::ParameterName, 'With --watch: give up after this long and exit 1 if jobs are still pending')
            [CompletionResult]::new('--interval', '--interval', [CompletionResultType]::ParameterName, 'With --watch: the first wait between two polls; each wait is 1.5 times the last')
            [CompletionResult]::new('--max-interval', '--max-interval', [CompletionResultType]::ParameterName, 'With --watch: the longest wait between two polls')
            [CompletionResult]::new('--sample', '--sample', [CompletionResultType]::ParameterName, 'Look up a random sample of N jobs per vendor instead of all of them, and report the 95% confidence interval of the share that is done. The same ledger and --seed pick the same sample')
            [CompletionResult]::new('--limit', '--limit', [CompletionResultType]::ParameterName, 'Look up at most N open (not yet finished) jobs or profiles per vendor in this invocation, or per --watch round: those never checked first, then the least recently checked. The others are counted, reported as not checked, and keep the exit code non-zero until a later invocation (or round) gets to them [default: about 30 s of lookups at the vendor''s polling pace, e.g. 300 for Lytics at 10/s]')
            [CompletionResult]::new('--seed', '--seed', [CompletionResultType]::ParameterName, 'With --sample: the seed that picks the sample [default: from the ledger''s first run]')
            [CompletionResult]::new('--max-rps', '--max-rps', [CompletionResultType]::ParameterName, 'Lookups per second (default: the vendor''s quota, which status polls share with deletions)')
            [CompletionResult]::new('--concurrency', '--concurrency', [CompletionResultType]::ParameterName, 'Lookups in flight at once (default: the vendor''s)')
            [CompletionResult]::new('--max-retries', '--max-retries', [CompletionResultType]::ParameterName, 'Retries per lookup after the first attempt')
            [CompletionResult]::new('--max-backoff', '--max-backoff', [CompletionResultType]::ParameterName, 'Longest wait between two attempts (also caps Retry-After)')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'Per-request timeout (connect and total)')
            [CompletionResult]::new('--auth-url', '--auth-url', [CompletionResultType]::ParameterName, 'OAuth token endpoint')
            [CompletionResult]::new('--org-id', '--org-id', [CompletionResultType]::ParameterName, 'mParticle organisation ID')
            [CompletionResult]::new('--account-id', '--account-id', [CompletionResultType]::ParameterName, 'mParticle account ID')
            [CompletionResult]::new('--workspace-id', '--workspace-id', [CompletionResultType]::ParameterName, 'mParticle workspace ID')
            [CompletionResult]::new('-i', '-i', [CompletionResultType]::ParameterName, 'An input file, as the FILE arguments. Repeatable')
            [CompletionResult]::new('--input', '--input', [CompletionResultType]::ParameterName, 'An input file, as the FILE arguments. Repeatable')
            [CompletionResult]::new('--column', '--column', [CompletionResultType]::ParameterName, 'Column (CSV header) or key (JSON) holding the deleted identifiers in --input (MPIDs, mParticle identities, CleverTap identities, Segment external ids). With --group, each target reads the columns its own run read (from the group''s index)')
            [CompletionResult]::new('--lookup-column', '--lookup-column', [CompletionResultType]::ParameterName, 'Segment: the column holding each row''s user_id (runs with --user-id-column) or the value its profile was looked up by (runs with --lookup-type) [default: --column]')
            [CompletionResult]::new('--user-id-column', '--user-id-column', [CompletionResultType]::ParameterName, 'Segment: the column holding each row''s user_id (runs with --user-id-column) or the value its profile was looked up by (runs with --lookup-type) [default: --column]')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Input format of FILE (default: from the extension)')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'Colour on stderr: auto (a terminal, and no NO_COLOR), always or never')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Config file with named targets [default: $CDP_PURGE_CONFIG, else $XDG_CONFIG_HOME/cdp-purge/cdp-purge.toml]')
            [CompletionResult]::new('--allow-insecure-http', '--allow-insecure-http', [CompletionResultType]::ParameterName, 'Allow a plain http:// --base-url to a host other than this machine')
            [CompletionResult]::new('--watch', '--watch', [CompletionResultType]::ParameterName, 'Keep polling until every job is finished (or --until passes)')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print the summary as one JSON object on stdout')
            [CompletionResult]::new('--per-job', '--per-job', [CompletionResultType]::ParameterName, 'Ask for each job''s status one by one, never through the vendor''s account-wide list (Lytics'' deletestatus/list)')
            [CompletionResult]::new('--recheck', '--recheck', [CompletionResultType]::ParameterName, 'Look again at every identifier the ledger shows as deleted, even those already verified (deleted profiles come back), and record each answer with its time. Exit 1 when any came back. An interrupted re-check is finished by the next one. mParticle needs the --verify settings and the input (-i FILE --column NAME)')
            [CompletionResult]::new('--verify', '--verify', [CompletionResultType]::ParameterName, 'Look every deleted identifier up in the vendor''s profile API: mParticle by MPID or through its resolve route (needs MPARTICLE_CLIENT_ID and MPARTICLE_CLIENT_SECRET, a credential with Profile API access); Segment''s profile external ids; CleverTap''s profile, 24 h after the deletion. Only the vendor''s documented "not found" proves a deletion (mParticle by MPID, Segment); CleverTap and mParticle''s resolve route document none, so they prove a profile present or nothing. Anything else is unknown')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only errors (no progress, no summary text; --json output still goes to stdout)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only errors (no progress, no summary text; --json output still goes to stdout)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More log output (-v: info, -vv: debug). Identifiers are never logged')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More log output (-v: info, -vv: debug). Identifiers are never logged')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'cdp-purge;report' {
            [CompletionResult]::new('--ledger', '--ledger', [CompletionResultType]::ParameterName, 'The ledger to report on (read only). Repeatable with --proof: one ledger per destination')
            [CompletionResult]::new('--proof', '--proof', [CompletionResultType]::ParameterName, 'Print the proof of a deletion for a data-subject-request ticket: per --ledger, what was sent and when, the vendor''s IDs, every later check and its answer, and the ledger''s chain head at each step. ROW is an input row number as `report --csv` shows it (FILE:ROW for one input file); or give --lookup VALUE')
            [CompletionResult]::new('--group', '--group', [CompletionResultType]::ParameterName, 'Per input row, the state at every target of a `delete --group NAME` over the input given with -i (one column per target; --csv or --json)')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Old name of --json / --csv (deprecated: --format names the input format elsewhere)')
            [CompletionResult]::new('--lookup', '--lookup', [CompletionResultType]::ParameterName, 'What happened to this person? Hashed with the ledger''s key (`<ledger>.key`); the value is never printed. Repeatable')
            [CompletionResult]::new('--lookup-file', '--lookup-file', [CompletionResultType]::ParameterName, 'Like --lookup, one value per line (keeps the values out of shell history and `ps`)')
            [CompletionResult]::new('-i', '-i', [CompletionResultType]::ParameterName, 'An input to hash, as the FILE arguments (with --group: the input of the group''s `delete`). Repeatable')
            [CompletionResult]::new('--input', '--input', [CompletionResultType]::ParameterName, 'An input to hash, as the FILE arguments (with --group: the input of the group''s `delete`). Repeatable')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'Colour on stderr: auto (a terminal, and no NO_COLOR), always or never')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Config file with named targets [default: $CDP_PURGE_CONFIG, else $XDG_CONFIG_HOME/cdp-purge/cdp-purge.toml]')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print the report as JSON')
            [CompletionResult]::new('--csv', '--csv', [CompletionResultType]::ParameterName, 'Print one CSV line per kept input row: attach it to the data-subject request')
            [CompletionResult]::new('--verify', '--verify', [CompletionResultType]::ParameterName, 'Check the hash chain and the input files'' SHA-256 digests; exit 1 if either does not match')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only errors (no progress, no summary text; --json output still goes to stdout)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only errors (no progress, no summary text; --json output still goes to stdout)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More log output (-v: info, -vv: debug). Identifiers are never logged')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More log output (-v: info, -vv: debug). Identifiers are never logged')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'cdp-purge;vendors' {
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'Colour on stderr: auto (a terminal, and no NO_COLOR), always or never')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Config file with named targets [default: $CDP_PURGE_CONFIG, else $XDG_CONFIG_HOME/cdp-purge/cdp-purge.toml]')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print as JSON')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only errors (no progress, no summary text; --json output still goes to stdout)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only errors (no progress, no summary text; --json output still goes to stdout)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More log output (-v: info, -vv: debug). Identifiers are never logged')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More log output (-v: info, -vv: debug). Identifiers are never logged')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'cdp-purge;targets' {
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'Colour on stderr: auto (a terminal, and no NO_COLOR), always or never')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Config file with named targets [default: $CDP_PURGE_CONFIG, else $XDG_CONFIG_HOME/cdp-purge/cdp-purge.toml]')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print as JSON')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only errors (no progress, no summary text; --json output still goes to stdout)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only errors (no progress, no summary text; --json output still goes to stdout)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More log output (-v: info, -vv: debug). Identifiers are never logged')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More log output (-v: info, -vv: debug). Identifiers are never logged')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'cdp-purge;check' {
            [CompletionResult]::new('--vendor', '--vendor', [CompletionResultType]::ParameterName, 'The vendor to delete from (see `cdp-purge vendors`); not needed with --target')
            [CompletionResult]::new('--target', '--target', [CompletionResultType]::ParameterName, 'A target from the config file (see `cdp-purge targets`); flags override its settings. Repeatable')
            [CompletionResult]::new('--group', '--group', [CompletionResultType]::ParameterName, 'The targets of a group in the config file (`[groups] NAME = ["a", "b"]`): one run per target, each with its own ledger, one summary line each')
            [CompletionResult]::new('--base-url', '--base-url', [CompletionResultType]::ParameterName, 'Override the vendor''s host, e.g. a proxy or the local sandbox (https://, or http:// to localhost; no credentials in it)')
            [CompletionResult]::new('--credentials-file', '--credentials-file', [CompletionResultType]::ParameterName, 'Read credentials from this file (KEY=VALUE lines, as the environment variables)')
            [CompletionResult]::new('--id-type', '--id-type', [CompletionResultType]::ParameterName, 'What the values are: Lytics'' identity field (email, member_id), mParticle''s identity type (mpid, customerid, email, ...), CleverTap''s identity or guid, Segment''s external id type (email, anonymous_id, ...), Hightouch''s identifier name (email, phone, ...)')
            [CompletionResult]::new('--id-type-column', '--id-type-column', [CompletionResultType]::ParameterName, 'Segment / Hightouch: column holding each row''s identifier type (instead of --id-type)')
            [CompletionResult]::new('--table', '--table', [CompletionResultType]::ParameterName, 'Lytics: the table (default: user)')
            [CompletionResult]::new('--pod', '--pod', [CompletionResultType]::ParameterName, 'mParticle: pod hosting the account')
            [CompletionResult]::new('--environment', '--environment', [CompletionResultType]::ParameterName, 'mParticle: environment_type of the deletion (not needed by `plan`)')
            [CompletionResult]::new('--requester', '--requester', [CompletionResultType]::ParameterName, 'Amplitude: who asked for the deletion (Amplitude''s `requester`, for its audit trail)')
            [CompletionResult]::new('--project-id', '--project-id', [CompletionResultType]::ParameterName, 'PostHog: the project ID (not needed by `plan`)')
            [CompletionResult]::new('--region', '--region', [CompletionResultType]::ParameterName, 'Region of the account: CleverTap (in1, sg1, us1, aps3, mec1, eu1), Segment, Segment regulations, Amplitude, Iterable, PostHog (us or eu), Mixpanel (us, eu or in)')
            [CompletionResult]::new('--source', '--source', [CompletionResultType]::ParameterName, 'Segment regulations: regulate one source instead of the whole workspace')
            [CompletionResult]::new('--regulation-type', '--regulation-type', [CompletionResultType]::ParameterName, 'Segment regulations: SUPPRESS_WITH_DELETE (default), DELETE_ONLY, SUPPRESS_WITH_DELETE_INTERNAL, DELETE_INTERNAL, SUPPRESS_ONLY or UNSUPPRESS')
            [CompletionResult]::new('--compliance-type', '--compliance-type', [CompletionResultType]::ParameterName, 'Mixpanel: GDPR (default) or CCPA')
            [CompletionResult]::new('--data-groups', '--data-groups', [CompletionResultType]::ParameterName, 'Mixpanel: the project''s data groups (each lowers the per-request cap: 2000/(N+1))')
            [CompletionResult]::new('--instance', '--instance', [CompletionResultType]::ParameterName, 'Braze: the REST instance of the workspace (iad-01 ... iad-08, us-10, fra-01, fra-02, au-01, ...)')
            [CompletionResult]::new('--alias-label', '--alias-label', [CompletionResultType]::ParameterName, 'Braze: the alias_label of the user aliases deleted with --id-type user_alias')
            [CompletionResult]::new('--space', '--space', [CompletionResultType]::ParameterName, 'Segment: the Unify space ID (not needed by `plan`)')
            [CompletionResult]::new('--user-id-column', '--user-id-column', [CompletionResultType]::ParameterName, 'Segment: column holding each row''s lookup user_id')
            [CompletionResult]::new('--lookup-type', '--lookup-type', [CompletionResultType]::ParameterName, 'Segment: find each row''s profile by this external id type (email, anonymous_id, any type of the space) through the Profile API, instead of a user_id column. The lookups share the space''s quota with the deletions')
            [CompletionResult]::new('--lookup-column', '--lookup-column', [CompletionResultType]::ParameterName, 'Segment: with --lookup-type, the column holding the value to look up [default: --column]')
            [CompletionResult]::new('--graph', '--graph', [CompletionResultType]::ParameterName, 'Hightouch: the identity graph ID (not needed by `plan`)')
            [CompletionResult]::new('--field', '--field', [CompletionResultType]::ParameterName, 'Old name of --id-type for Lytics (deprecated)')
            [CompletionResult]::new('--identity-type', '--identity-type', [CompletionResultType]::ParameterName, 'Old name of --id-type for mParticle (deprecated)')
            [CompletionResult]::new('--id-kind', '--id-kind', [CompletionResultType]::ParameterName, 'Old name of --id-type for CleverTap (deprecated)')
            [CompletionResult]::new('--identifier-type', '--identifier-type', [CompletionResultType]::ParameterName, 'Old name of --id-type for Hightouch (deprecated)')
            [CompletionResult]::new('--identifier-type-column', '--identifier-type-column', [CompletionResultType]::ParameterName, 'Old name of --id-type-column (deprecated)')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'Timeout of the preflight call')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'Colour on stderr: auto (a terminal, and no NO_COLOR), always or never')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Config file with named targets [default: $CDP_PURGE_CONFIG, else $XDG_CONFIG_HOME/cdp-purge/cdp-purge.toml]')
            [CompletionResult]::new('--all-targets', '--all-targets', [CompletionResultType]::ParameterName, 'Every target in the config file (with --vendor: every target of that vendor)')
            [CompletionResult]::new('--allow-insecure-http', '--allow-insecure-http', [CompletionResultType]::ParameterName, 'Allow a plain http:// --base-url to a host other than this machine (the credentials travel unencrypted)')
            [CompletionResult]::new('--no-block', '--no-block', [CompletionResultType]::ParameterName, 'Hightouch: do not blocklist the values (supercluster repair only, not for deletion)')
            [CompletionResult]::new('--source-data-deleted', '--source-data-deleted', [CompletionResultType]::ParameterName, 'Hightouch: confirm the rows are already gone from the warehouse sources')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print the findings as JSON')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only errors (no progress, no summary text; --json output still goes to stdout)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only errors (no progress, no summary text; --json output still goes to stdout)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More log output (-v: info, -vv: debug). Identifiers are never logged')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More log output (-v: info, -vv: debug). Identifiers are never logged')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'cdp-purge;sandbox' {
            [CompletionResult]::new('--port', '--port', [CompletionResultType]::ParameterName, 'Port on 127.0.0.1 (0 picks a free one)')
            [CompletionResult]::new('--faults', '--faults', [CompletionResultType]::ParameterName, 'Faults to inject, e.g. 429=0.1,503=0.05,reset=0.02,seed=7 (see `--help`)')
            [CompletionResult]::new('--competing-rate', '--competing-rate', [CompletionResultType]::ParameterName, 'Another caller shares every quota and takes RATE of it per second, in the vendor''s unit (profiles for mParticle, requests for Segment and Hightouch), e.g. 500')
            [CompletionResult]::new('--competing-for', '--competing-for', [CompletionResultType]::ParameterName, 'The other caller stops after this long (e.g. 20s); without it, it never stops')
            [CompletionResult]::new('--latency', '--latency', [CompletionResultType]::ParameterName, 'Hold every vendor request this long before answering (e.g. 100ms), like a real API')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'Colour on stderr: auto (a terminal, and no NO_COLOR), always or never')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Config file with named targets [default: $CDP_PURGE_CONFIG, else $XDG_CONFIG_HOME/cdp-purge/cdp-purge.toml]')
            [CompletionResult]::new('--no-quota', '--no-quota', [CompletionResultType]::ParameterName, 'Do not enforce the vendors'' quotas (no 429 for pace or concurrency)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only errors (no progress, no summary text; --json output still goes to stdout)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only errors (no progress, no summary text; --json output still goes to stdout)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More log output (-v: info, -vv: debug). Identifiers are never logged')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More log output (-v: info, -vv: debug). Identifiers are never logged')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'cdp-purge;completions' {
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'Colour on stderr: auto (a terminal, and no NO_COLOR), always or never')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Config file with named targets [default: $CDP_PURGE_CONFIG, else $XDG_CONFIG_HOME/cdp-purge/cdp-purge.toml]')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only errors (no progress, no summary text; --json output still goes to stdout)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only errors (no progress, no summary text; --json output still goes to stdout)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More log output (-v: info, -vv: debug). Identifiers are never logged')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More log output (-v: info, -vv: debug). Identifiers are never logged')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'cdp-purge;man' {
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'Colour on stderr: auto (a terminal, and no NO_COLOR), always or never')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Config file with named targets [default: $CDP_PURGE_CONFIG, else $XDG_CONFIG_HOME/cdp-purge/cdp-purge.toml]')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only errors (no progress, no summary text; --json output still goes to stdout)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only errors (no progress, no summary text; --json output still goes to stdout)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More log output (-v: info, -vv: debug). Identifiers are never logged')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More log output (-v: info, -vv: debug). Identifiers are never logged')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'cdp-purge;help' {
            [CompletionResult]::new('plan', 'plan', [CompletionResultType]::ParameterValue, 'Read, clean and batch the input exactly as a real run would; send nothing')
            [CompletionResult]::new('delete', 'delete', [CompletionResultType]::ParameterValue, 'Delete the profiles: paced to the vendor''s quota, retried, recorded in a ledger')
            [CompletionResult]::new('status', 'status', [CompletionResultType]::ParameterValue, 'Poll the vendors for the state of a ledger''s deletion jobs, oldest check first')
            [CompletionResult]::new('report', 'report', [CompletionResultType]::ParameterValue, 'Summarise a ledger per run, per input row or per person; check it was not altered')
            [CompletionResult]::new('vendors', 'vendors', [CompletionResultType]::ParameterValue, 'List the supported vendors: per-request cap, quota, identifier kinds, credentials')
            [CompletionResult]::new('targets', 'targets', [CompletionResultType]::ParameterValue, 'List the targets in the config file: vendor, settings, limits, credential variables')
            [CompletionResult]::new('check', 'check', [CompletionResultType]::ParameterValue, 'Preflight: validate a target''s configuration and credentials without deleting anything')
            [CompletionResult]::new('sandbox', 'sandbox', [CompletionResultType]::ParameterValue, 'Run a local fake of every vendor API (for trying the tool and for tests)')
            [CompletionResult]::new('completions', 'completions', [CompletionResultType]::ParameterValue, 'Print a shell completion script')
            [CompletionResult]::new('man', 'man', [CompletionResultType]::ParameterValue, 'Print the man page (roff) to stdout')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'cdp-purge;help;plan' {
            break
        }
        'cdp-purge;help;delete' {
            break
        }
        'cdp-purge;help;status' {
            break
        }
        'cdp-purge;help;report' {
            break
        }
        'cdp-purge;help;vendors' {
            break
        }
        'cdp-purge;help;targets' {
            break
        }
        'cdp-purge;help;check' {
            break
        }
        'cdp-purge;help;sandbox' {
            break
        }
        'cdp-purge;help;completions' {
            break
        }
        'cdp-purge;help;man' {
            break
        }
        'cdp-purge;help;help' {
            break
        }
    })

    $completions.Where{ $_.CompletionText -like "$wordToComplete*" } |
        Sort-Object -Property ListItemText
}
