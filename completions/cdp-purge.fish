# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_cdp_purge_global_optspecs
    string join \n q/quiet v/verbose color= config= h/help V/version
end

function __fish_cdp_purge_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_cdp_purge_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_cdp_purge_using_subcommand
    set -l cmd (__fish_cdp_purge_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c cdp-purge -n "__fish_cdp_purge_needs_command" -l color -d 'Colour on stderr: auto (a terminal, and no NO_COLOR), always or never' -r -f -a "auto\t''
always\t''
never\t''"
complete -c cdp-purge -n "__fish_cdp_purge_needs_command" -l config -d 'Config file with named targets [default: $CDP_PURGE_CONFIG, else $XDG_CONFIG_HOME/cdp-purge/cdp-purge.toml]' -r -F
complete -c cdp-purge -n "__fish_cdp_purge_needs_command" -s q -l quiet -d 'Print only errors (no progress, no summary text; --json output still goes to stdout)'
complete -c cdp-purge -n "__fish_cdp_purge_needs_command" -s v -l verbose -d 'More log output (-v: info, -vv: debug). Identifiers are never logged'
complete -c cdp-purge -n "__fish_cdp_purge_needs_command" -s h -l help -d 'Print help'
complete -c cdp-purge -n "__fish_cdp_purge_needs_command" -s V -l version -d 'Print version'
complete -c cdp-purge -n "__fish_cdp_purge_needs_command" -f -a "plan" -d 'Read, clean and batch the input exactly as a real run would; send nothing'
complete -c cdp-purge -n "__fish_cdp_purge_needs_command" -f -a "delete" -d 'Delete the profiles: paced to the vendor\'s quota, retried, recorded in a ledger'
complete -c cdp-purge -n "__fish_cdp_purge_needs_command" -f -a "status" -d 'Poll the vendors for the state of a ledger\'s deletion jobs, oldest check first'
complete -c cdp-purge -n "__fish_cdp_purge_needs_command" -f -a "report" -d 'Summarise a ledger per run, per input row or per person; check it was not altered'
complete -c cdp-purge -n "__fish_cdp_purge_needs_command" -f -a "vendors" -d 'List the supported vendors: per-request cap, quota, identifier kinds, credentials'
complete -c cdp-purge -n "__fish_cdp_purge_needs_command" -f -a "targets" -d 'List the targets in the config file: vendor, settings, limits, credential variables'
complete -c cdp-purge -n "__fish_cdp_purge_needs_command" -f -a "check" -d 'Preflight: validate a target\'s configuration and credentials without deleting anything'
complete -c cdp-purge -n "__fish_cdp_purge_needs_command" -f -a "sandbox" -d 'Run a local fake of every vendor API (for trying the tool and for tests)'
complete -c cdp-purge -n "__fish_cdp_purge_needs_command" -f -a "completions" -d 'Print a shell completion script'
complete -c cdp-purge -n "__fish_cdp_purge_needs_command" -f -a "man" -d 'Print the man page (roff) to stdout'
complete -c cdp-purge -n "__fish_cdp_purge_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c cdp-purge -n "__fish_cdp_purge_using_subcommand plan" -s i -l input -d 'An input file, as the FILE arguments. Repeatable' -r -F
complete -c cdp-purge -n "__fish_cdp_purge_using_subcommand plan" -l format -d 'Input format (default: from the extension; stdin defaults to csv)' -r -f -a "csv\t''
tsv\t''
json\t''
ndjson\t''"
complete -c cdp-purge -n "__fish_cdp_purge_using_subcommand plan" -l column -d 'Column (CSV header name) or key (JSON objects; dotted path for nested keys) holding the identifier' -r
complete -c cdp-purge -n "__fish_cdp_purge_using_subcommand plan" -l column-for -d 'The column one target reads, over its `column` in the config file and --column (several targets reading one file with several identifier columns). Repeatable' -r
complete -c cdp-purge -n "__fish_cdp_purge_using_subcommand plan" -l column-index -d '0-based column index holding the identifier (CSV/TSV)' -r
complete -c cdp-purge -n "__fish_cdp_purge_using_subcommand plan" -l delimiter -d 'Field delimiter for CSV (default: `,`; `\\t` for .tsv)' -r
complete -c cdp-purge -n "__fish_cdp_purge_using_subcommand plan" -l null-values -d 'Values treated as empty, comma-separated, matched ignoring case and surrounding spaces; replaces the built-in list [default: null,(null),<null>,none,nil,nan,undefined, n/a,na,#n/a,\\N,#null!,#value!,#ref!,#div/0!,#name?,#num!,-,0]' -r
complete -c cdp-purge -n "__fish_cdp_purge_using_subcommand plan" -l rejects -d 'Write one CSV line per rejected row (file, row, column, reason) to FILE' -r -F
complete -c cdp-purge -n "__fish_cdp_purge_using_subcommand plan" -l batch-size -d 'Identifiers per request (at most the vendor\'s cap; see `cdp-purge vendors`)' -r
complete -c cdp-purge -n "__fish_cdp_purge_using_subcommand plan" -l vendor -d 'The vendor to delete from (see `cdp-purge vendors`); not needed with --target' -r -f -a "lytics\t''
mparticle\t''
clevertap\t''
segment\t''
hightouch\t''
amplitude\t''
iterable\t''
posthog\t''
segment-regs\t''
mixpanel\t''
braze\t''"
complete -c cdp-purge -n "__fish_cdp_purge_using_subcommand plan" -l target -d 'A target from the config file (see `cdp-purge targets`); flags override its settings. Repeatable' -r
complete -c cdp-purge -n "__fish_cdp_purge_using_subcommand plan" -l group -d 'The targets of a group in the config file (`[groups] NAME = ["a", "b"]`): one run per target, each with its own ledger, one summary line each' -r
complete -c cdp-purge -n "__fish_cdp_purge_using_subcommand plan" -l base-url -d 'Override the vendor\'s host, e.g. a proxy or the local sandbox (https://, or http:// to localhost; no credentials in it)' -r
complete -c cdp-purge -n "__fish_cdp_purge_using_subcommand plan" -l credentials-file -d 'Read credentials from this file (KEY=VALUE lines, as the environment variables)' -r -F
complete -c cdp-purge -n "__fish_cdp_purge_using_subcommand plan" -l id-type -d 'What the values are: Lytics\' identity field (email, member_id), mParticle\'s identity type (mpid, customerid, email, ...), CleverTap\'s identity or guid, Segment\'s external id type (email, anonymous_id, ...), Hightouch\'s identifier name (email, phone, ...)' -r
complete -c cdp-purge -n "__fish_cdp_purge_using_subcommand plan" -l id-type-column -d 'Segment / Hightouch: column holding each row\'s identifier type (instead of --id-type)' -r
complete -c cdp-purge -n "__fish_cdp_purge_using_subcommand plan" -l table -d 'Lytics: the table (default: user)' -r
complete -c cdp-purge -n "__fish_cdp_purge_using_subcommand plan" -l pod -d 'mParticle: pod hosting the account' -r -f -a "us1\t''
us2\t''
eu1\t''
au1\t''"
complete -c cdp-purge -n "__fish_cdp_purge_using_subcommand plan" -l environment -d 'mParticle: environment_type of the deletion (not needed by `plan`)' -r -f -a "production\t''
development\t''"
complete -c cdp-purge -n "__fish_cdp_purge_using_subcommand plan" -l requester -d 'Amplitude: who asked for the deletion (Amplitude\'s `requester`, for its audit trail)' -r
complete -c cdp-purge -n "__fish_cdp_purge_using_subcommand plan" -l project-id -d 'PostHog: the project ID (not needed by `plan`)' -r
complete -c cdp-purge -n "__fish_cdp_purge_using_subcommand plan" -l region -d 'Region of the account: CleverTap (in1, sg1, us1, aps3, mec1, eu1), Segment, Segment regulations, Amplitude, Iterable, PostHog (us or eu), Mixpanel (us, eu or in)' -r
complete -c cdp-purge -n "__fish_cdp_purge_using_subcommand plan" -l source -d 'Segment regulations: regulate one source instead of the whole workspace' -r
complete -c cdp-purge -n "__fish_cdp_purge_using_subcommand plan" -l regulation-type -d 'Segment regulations: SUPPRESS_WITH_DELETE (default), DELETE_ONLY, SUPPRESS_WITH_DELETE_INTERNAL, DELETE_INTERNAL, SUPPRESS_ONLY or UNSUPPRESS' -r
complete -c cdp-purge -n "__fish_cdp_purge_using_subcommand plan" -l compliance-type -d 'Mixpanel: GDPR (default) or CCPA' -r
complete -c cdp-purge -n "__fish_cdp_purge_using_subcommand plan" -l data-groups -d 'Mixpanel: the project\'s data groups (each lowers the per-request cap: 2000/(N+1))' -r
complete -c cdp-purge -n "__fish_cdp_purge_using_subcommand plan" -l instance -d 'Braze: the REST instance of the workspace (iad-01 ... iad-08, us-10, fra-01, fra-02, au-01, ...)' -r
complete -c cdp-purge -n "__fish_cdp_purge_using_subcommand plan" -l alias-label -d 'Braze: the alias_label of the user aliases deleted with --id-type user_alias' -r
complete -c cdp-purge -n "__fish_cdp_purge_using_subcommand plan" -l space -d 'Segment: the Unify space ID (not needed by `plan`)' -r
complete -c cdp-purge -n "__fish_cdp_purge_using_subcommand plan" -l user-id-column -d 'Segment: column holding each row\'s lookup user_id' -r
complete -c cdp-purge -n "__fish_cdp_purge_using_subcommand plan" -l lookup-type -d 'Segment: find each row\'s profile by this external id type (email, anonymous_id, any type of the space) through the Profile API, instead of a user_id column. The lookups share the space\'s quota with the deletions' -r
complete -c cdp-purge -n "__fish_cdp_purge_using_subcommand plan" -l lookup-column -d 'Segment: with --lookup-type, the column holding the value to look up [default: --column]' -r
complete -c cdp-purge -n "__fish_cdp_purge_using_subcommand plan" -l graph -d 'Hightouch: the identity graph ID (not needed by `plan`)' -r
complete -c cdp-purge -n "__fish_cdp_purge_using_subcommand plan" -l field -d 'Old name of --id-type for Lytics (deprecated)' -r
complete -c cdp-purge -n "__fish_cdp_purge_using_subcommand plan" -l identity-type -d 'Old name of --id-type for mParticle (deprecated)' -r
complete -c cdp-purge -n "__fish_cdp_purge_using_subcommand plan" -l id-kind -d 'Old name of --id-type for CleverTap (deprecated)' -r
complete -c cdp-purge -n "__fish_cdp_purge_using_subcommand plan" -l identifier-type -d 'Old name of --id-type for Hightouch (deprecated)' -r
complete -c cdp-purge -n "__fish_cdp_purge_using_subcommand plan" -l identifier-type-column -d 'Old name of --id-type-column (deprecated)' -r
complete -c cdp-purge -n "__fish_cdp_purge_using_subcommand plan" -l color -d 'Colour on stderr: auto (a terminal, and no NO_COLOR), always or never' -r -f -a "auto\t''
always\t''
never\t''"
complete -c cdp-purge -n "__fish_cdp_purge_using_subcommand plan" -l config -d 'Config file with named targets [default: $CDP_PURGE_CONFIG, else $XDG_CONFIG_HOME/cdp-purge/cdp-purge.toml]' -r -F
complete -c cdp-purge -n "__fish_cdp_purge_using_subcommand plan" -l no-header -d 'The CSV/TSV file has no header row (one identifier per line unless --column-index)'
complete -c cdp-purge -n "__fish_cdp_purge_using_subcommand plan" -l lowercase -d 'Lowercase identifiers before de-duplication (for case-insensitive kinds such as email)'
complete -c cdp-purge -n "__fish_cdp_purge_using_subcommand plan" -l no-validate -d 'Skip per-kind validation (email syntax, MPID range, ...)'
complete -c cdp-purge -n "__fish_cdp_purge_using_subcommand plan" -l allow-empty -d 'Exit 0 even when nothing is left to send (no rows, or every row rejected), for scheduled runs whose list may be empty; without it that is an error (exit 2)'
complete -c cdp-purge -n "__fish_cdp_purge_using_subcommand plan" -l rejects-include-values -d 'Also write the raw rejected value to the rejects file (personal data)'
complete -c cdp-purge -n "__fish_cdp_purge_using_subcommand plan" -l all-targets -d 'Every target in the config file (with --vendor: every target of that vendor)'
complete -c cdp-purge -n "__fish_cdp_purge_using_subcommand plan" -l allow-insecure-http -d 'Allow a plain http:// --base-url to a host other than this machine (the credentials travel unencrypted)'
complete -c cdp-purge -n "__fish_cdp_purge_using_subcommand plan" -l no-block -d 'Hightouch: do not blocklist the values (supercluster repair only, not for deletion)'
complete -c cdp-purge -n "__fish_cdp_purge_using_subcommand plan" -l source-data-deleted -d 'Hightouch: confirm the rows are already gone from the warehouse sources'
complete -c cdp-purge -n "__fish_cdp_purge_using_subcommand plan" -l json -d 'Print the plan as one JSON object on stdout (one line per target)'
complete -c cdp-purge -n "__fish_cdp_purge_using_subcommand plan" -s q -l quiet -d 'Print only errors (no progress, no summary text; --json output still goes to stdout)'
complete -c cdp-purge -n "__fish_cdp_purge_using_subcommand plan" -s v -l verbose -d 'More log output (-v: info, -vv: debug). Identifiers are never logged'
complete -c cdp-purge -n "__fish_cdp_purge_using_subcommand plan" -s h -l help -d 'Print help'
complete -c cdp-purge -n "__fish_cdp_purge_using_subcommand plan" -s V -l version -d 'Print version'
complete -c cdp-purge -n "__fish_cdp_purge_using_subcommand delete" -s i -l input -d 'An input file, as the FILE arguments. Repeatable' -r -F
complete -c cdp-purge -n "__fish_cdp_purge_using_subcommand delete" -l format -d 'Input format (default: from the extension; stdin defaults to csv)' -r -f -a "csv\t''
tsv\t''
json\t''
ndjson\t''"
complete -c cdp-purge -n "__fish_cdp_purge_using_subcommand delete" -l column -d 'Column (CSV header name) or key (JSON objects; dotted path for nested keys) holding the identifier' -r
complete -c cdp-purge -n "__fish_cdp_purge_using_subcommand delete" -l column-for -d 'The column one target reads, over its `column` in the config file and --column (several targets reading one file with several identifier columns). Repeatable' -r
complete -c cdp-purge -n "__fish_cdp_purge_using_subcommand delete" -l column-index -d '0-based column index holding the identifier (CSV/TSV)' -r
complete -c cdp-purge -n "__fish_cdp_purge_using_subcommand delete" -l delimiter -d 'Field delimiter for CSV (default: `,`; `\\t` for .tsv)' -r
complete -c cdp-purge -n "__fish_cdp_purge_using_subcommand delete" -l null-values -d 'Values treated as empty, comma-separated, matched ignoring case and surrounding spaces; replaces the built-in list [default: null,(null),<null>,none,nil,nan,undefined, n/a,na,#n/a,\\N,#null!,#value!,#ref!,#div/0!,#name?,#num!,-,0]' -r
complete -c cdp-purge -n "__fish_cdp_purge_using_subcommand delete" -l rejects -d 'Write one CSV line per rejected row (file, row, column, reason) to FILE' -r -F
complete -c cdp-purge -n "__fish_cdp_purge_using_subcommand delete" -l batch-size -d 'Identifiers per request (at most the vendor\'s cap; see `cdp-purge vendors`)' -r
complete -c cdp-purge -n "__fish_cdp_purge_using_subcommand delete" -l vendor -d 'The vendor to delete from (see `cdp-purge vendors`); not needed with --target' -r -f -a "lytics\t''
mparticle\t''
clevertap\t''
segment\t''
hightouch\t''
amplitude\t''
iterable\t''
posthog\t''
segment-regs\t''
mixpanel\t''
braze\t''"
complete -c cdp-purge -n "__fish_cdp_purge_using_subcommand delete" -l target -d 'A target from the config file (see `cdp-purge targets`); flags override its settings. Repeatable' -r
complete -c cdp-purge -n "__fish_cdp_purge_using_subcommand delete" -l group -d 'The targets of a group in the config file (`[groups] NAME = ["a", "b"]`): one run per target, each with its own ledger, one summary line each' -r
complete -c cdp-purge -n "__fish_cdp_purge_using_subcommand delete" -l base-url -d 'Override the vendor\'s host, e.g. a proxy or the local sandbox (https://, or http:// to localhost; no credentials in it)' -r
complete -c cdp-purge -n "__fish_cdp_purge_using_subcommand delete" -l credentials-file -d 'Read credentials from this file (KEY=VALUE lines, as the environment variables)' -r -F
complete -c cdp-purge -n "__fish_cdp_purge_using_subcommand delete" -l id-type -d 'What the values are: Lytics\' identity field (email, member_id), mParticle\'s identity type (mpid, customerid, email, ...), CleverTap\'s identity or guid, Segment\'s external id type (email, anonymous_id, ...), Hightouch\'s identifier name (email, phone, ...)' -r
complete -c cdp-purge -n "__fish_cdp_purge_using_subcommand delete" -l id-type-column -d 'Segment / Hightouch: column holding each row\'s identifier type (instead of --id-type)' -r
complete -c cdp-purge -n "__fish_cdp_purge_using_subcommand delete" -l table -d 'Lytics: the table (default: user)' -r
complete -c cdp-purge -n "__fish_cdp_purge_using_subcommand delete" -l pod -d 'mParticle: pod hosting the account' -r -f -a "us1\t''
us2\t''
eu1\t''
au1\t''"
complete -c cdp-purge -n "__fish_cdp_purge_using_subcommand delete" -l environment -d 'mParticle: environment_type of the deletion (not needed by `plan`)' -r -f -a "production\t''
development\t''"
complete -c cdp-purge -n "__fish_cdp_purge_using_subcommand delete" -l requester -d 'Amplitude: who asked for the deletion (Amplitude\'s `requester`, for its audit trail)' -r
complete -c cdp-purge -n "__fish_cdp_purge_using_subcommand delete" -l project-id -d 'PostHog: the project ID (not needed by `plan`)' -r
complete -c cdp-purge -n "__fish_cdp_purge_using_subcommand delete" -l region -d 'Region of the account: CleverTap (in1, sg1, us1, aps3, mec1, eu1), Segment, Segment regulations, Amplitude, Iterable, PostHog (us or eu), Mixpanel (us, eu or in)' -r
complete -c cdp-purge -n "__fish_cdp_purge_using_subcommand delete" -l source -d 'Segment regulations: regulate one source instead of the whole workspace' -r
complete -c cdp-purge -n "__fish_cdp_purge_using_subcommand delete" -l regulation-type -d 'Segment regulations: SUPPRESS_WITH_DELETE (default), DELETE_ONLY, SUPPRESS_WITH_DELETE_INTERNAL, DELETE_INTERNAL, SUPPRESS_ONLY or UNSUPPRESS' -r
complete -c cdp-purge -n "__fish_cdp_purge_using_subcommand delete" -l compliance-type -d 'Mixpanel: GDPR (default) or CCPA' -r
complete -c cdp-purge -n "__fish_cdp_purge_using_subcommand delete" -l data-groups -d 'Mixpanel: the project\'s data groups (each lowers the per-request cap: 2000/(N+1))' -r
complete -c cdp-purge -n "__fish_cdp_purge_using_subcommand delete" -l instance -d 'Braze: the REST instance of the workspace (iad-01 ... iad-08, us-10, fra-01, fra-02, au-01, ...)' -r
complete -c cdp-purge -n "__fish_cdp_purge_using_subcommand delete" -l alias-label -d 'Braze: the alias_label of the user aliases deleted with --id-type user_alias' -r
complete -c cdp-purge -n "__fish_cdp_purge_using_subcommand delete" -l space -d 'Segment: the Unify space ID (not needed by `plan`)' -r
complete -c cdp-purge -n "__fish_cdp_purge_using_subcommand delete" -l user-id-column -d 'Segment: column holding each row\'s lookup user_id' -r
complete -c cdp-purge -n "__fish_cdp_purge_using_subcommand delete" -l lookup-type -d 'Segment: find each row\'s profile by this external id type (email, anonymous_id, any type of the space) through the Profile API, instead of a user_id column. The lookups share the space\'s quota with the deletions' -r
complete -c cdp-purge -n "__fish_cdp_purge_using_subcommand delete" -l lookup-column -d 'Segment: with --lookup-type, the column holding the value to look up [default: --column]' -r
complete -c cdp-purge -n "__fish_cdp_purge_using_subcommand delete" -l graph -d 'Hightouch: the identity graph ID (not needed by `plan`)' -r
complete -c cdp-purge -n "__fish_cdp_purge_using_subcommand delete" -l field -d 'Old name of --id-type for Lytics (deprecated)' -r
complete -c cdp-purge -n "__fish_cdp_purge_using_subcommand delete" -l identity-type -d 'Old name of --id-type for mParticle (deprecated)' -r
complete -c cdp-purge -n "__fish_cdp_purge_using_subcommand delete" -l id-kind -d 'Old name of --id-type for CleverTap (deprecated)' -r
complete -c cdp-purge -n "__fish_cdp_purge_using_subcommand delete" -l identifier-type -d 'Old name of --id-type for Hightouch (deprecated)' -r
complete -c cdp-purge -n "__fish_cdp_purge_using_subcommand delete" -l identifier-type-column -d 'Old name of --id-type-column (deprecated)' -r
complete -c cdp-purge -n "__fish_cdp_purge_using_subcommand delete" -l ledger -d 'Ledger file (JSON Lines) [default: <first input>.ledger.<destination>.jsonl, one per input and destination; cdp-purge-stdin.ledger.<destination>.jsonl for stdin and pipes]' -r -F
complete -c cdp-purge -n "__fish_cdp_purge_using_subcommand delete" -l max-rps -d 'Requests per second (default: the vendor\'s quota; above it only with a warning)' -r
complete -c cdp-purge -n "__fish_cdp_purge_using_subcommand delete" -l max-items-per-sec -d 'Identifiers per second (default: the vendor\'s quota; above it only with a warning)' -r
complete -c cdp-purge -n "__fish_cdp_purge_using_subcommand delete" -l max-per-window -d 'The account\'s own quota terms, N/DURATION from 1s to 30d (e.g. 200000/30d): replaces the vendor\'s documented item quota (or request quota where it counts requests)' -r
complete -c cdp-purge -n "__fish_cdp_purge_using_subcommand delete" -l concurrency -d 'Requests in flight at once (default: the vendor\'s, enough to reach the quota at ~1 s latency)' -r
complete -c cdp-purge -n "__fish_cdp_purge_using_subcommand delete" -l max-retries -d 'Retries per batch after the first attempt [default: 8, or the config file\'s]' -r
complete -c cdp-purge -n "__fish_cdp_purge_using_subcommand delete" -l max-backoff -d 'Longest wait between two attempts (also caps Retry-After)' -r
complete -c cdp-purge -n "__fish_cdp_purge_using_subcommand delete" -l timeout -d 'Per-request timeout (connect and total)' -r
complete -c cdp-purge -n "__fish_cdp_purge_using_subcommand delete" -l breaker-after -d 'Stop the run when this many first identifiers all failed permanently for the same reason (a refused permission, a misspelt field, a wrong space): the configuration is wrong, not the data. Those identifiers are recorded as retryable, so the same command resends them once fixed' -r
complete -c cdp-purge -n "__fish_cdp_purge_using_subcommand delete" -l color -d 'Colour on stderr: auto (a terminal, and no NO_COLOR), always or never' -r -f -a "auto\t''
always\t''
never\t''"
complete -c cdp-purge -n "__fish_cdp_purge_using_subcommand delete" -l config -d 'Config file with named targets [default: $CDP_PURGE_CONFIG, else $XDG_CONFIG_HOME/cdp-purge/cdp-purge.toml]' -r -F
complete -c cdp-purge -n "__fish_cdp_purge_using_subcommand delete" -l no-header -d 'The CSV/TSV file has no header row (one identifier per line unless --column-index)'
complete -c cdp-purge -n "__fish_cdp_purge_using_subcommand delete" -l lowercase -d 'Lowercase identifiers before de-duplication (for case-insensitive kinds such as email)'
complete -c cdp-purge -n "__fish_cdp_purge_using_subcommand delete" -l no-validate -d 'Skip per-kind validation (email syntax, MPID range, ...)'
complete -c cdp-purge -n "__fish_cdp_purge_using_subcommand delete" -l allow-empty -d 'Exit 0 even when nothing is left to send (no rows, or every row rejected), for scheduled runs whose list may be empty; without it that is an error (exit 2)'
complete -c cdp-purge -n "__fish_cdp_purge_using_subcommand delete" -l rejects-include-values -d 'Also write the raw rejected value to the rejects file (personal data)'
complete -c cdp-purge -n "__fish_cdp_purge_using_subcommand delete" -l all-targets -d 'Every target in the config file (with --vendor: every target of that vendor)'
complete -c cdp-purge -n "__fish_cdp_purge_using_subcommand delete" -l allow-insecure-http -d 'Allow a plain http:// --base-url to a host other than this machine (the credentials travel unencrypted)'
complete -c cdp-purge -n "__fish_cdp_purge_using_subcommand delete" -l no-block -d 'Hightouch: do not blocklist the values (supercluster repair only, not for deletion)'
complete -c cdp-purge -n "__fish_cdp_purge_using_subcommand delete" -l source-data-deleted -d 'Hightouch: confirm the rows are already gone from the warehouse sources'
complete -c cdp-purge -n "__fish_cdp_purge_using_subcommand delete" -l ledger-include-identifiers -d 'Store raw identifiers in the ledger (personal data; off by default)'
complete -c cdp-purge -n "__fish_cdp_purge_using_subcommand delete" -l ledger-any-destination -d 'Append to a ledger that records runs to another destination (each destination still resumes only from its own records)'
complete -c cdp-purge -n "__fish_cdp_purge_using_subcommand delete" -l retry-failed -d 'Resend identifiers the ledger records as permanently failed (not_found, invalid)'
complete -c cdp-purge -n "__fish_cdp_purge_using_subcommand delete" -l no-breaker -d 'Never stop for failures that look systemic (see --breaker-after): use it when the first identifiers really are unknown or invalid'
complete -c cdp-purge -n "__fish_cdp_purge_using_subcommand delete" -l json -d 'Print the final summary as one JSON object on stdout'
complete -c cdp-purge -n "__fish_cdp_purge_using_subcommand delete" -s y -l yes -d 'Do not ask for confirmation (required when stdin is not a terminal)'
complete -c cdp-purge -n "__fish_cdp_purge_using_subcommand delete" -l dry-run -d 'Send nothing; print the plan (same as `cdp-purge plan`)'
complete -c cdp-purge -n "__fish_cdp_purge_using_subcommand delete" -l sandbox -d 'Delete from a built-in sandbox of the vendor, started on 127.0.0.1 for this run, with its fake credentials: no account needed and nothing real is touched'
complete -c cdp-purge -n "__fish_cdp_purge_using_subcommand delete" -s q -l quiet -d 'Print only errors (no progress, no summary text; --json output still goes to stdout)'
complete -c cdp-purge -n "__fish_cdp_purge_using_subcommand delete" -s v -l verbose -d 'More log output (-v: info, -vv: debug). Identifiers are never logged'
complete -c cdp-purge -n "__fish_cdp_purge_using_subcommand delete" -s h -l help -d 'Print help'
complete -c cdp-purge -n "__fish_cdp_purge_using_subcommand delete" -s V -l version -d 'Print version'
complete -c cdp-purge -n "__fish_cdp_purge_using_subcommand status" -l ledger -d 'The ledger a `delete` run wrote; status records are appended to it' -r -F
complete -c cdp-purge -n "__fish_cdp_purge_using_subcommand status" -l group -d 'Every target of a `delete --group NAME` over the input given with -i (each target\'s own ledger and credentials); the exit code is the most urgent one' -r
complete -c cdp-purge -n "__fish_cdp_purge_using_subcommand status" -l base-url -d 'Poll this host instead of the one recorded in the ledger (mParticle --verify: the Profile API host)' -r
complete -c cdp-purge -n "__fish_cdp_purge_using_subcommand status" -l credentials-file -d 'Read credentials from this file (KEY=VALUE lines, as the environment variables)' -r -F
complete -c cdp-purge -n "__fish_cdp_purge_using_subcommand status" -l target -d 'Read a vendor\'s credentials from the variables this config target names (repeatable, one per vendor); other vendors use the standard variables' -r
complete -c cdp-purge -n "__fish_cdp_purge_using_subcommand status" -l until -d 'With --watch: give up after this long and exit 1 if jobs are still pending' -r
complete -c cdp-purge -n "__fish_cdp_purge_using_subcommand status" -l interval -d 'With --watch: the first wait between two polls; each wait is 1.5 times the last' -r
complete -c cdp-purge -n "__fish_cdp_purge_using_subcommand status" -l max-interval -d 'With --watch: the longest wait between two polls' -r
complete -c cdp-purge -n "__fish_cdp_purge_using_subcommand status" -l sample -d 'Look up a random sample of N jobs per vendor instead of all of them, and report the 95% confidence interval of the share that is done. The same ledger and --seed pick the same sample' -r
complete -c cdp-purge -n "__fish_cdp_purge_using_subcommand status" -l limit -d 'Look up at most N open (not yet finished) jobs or profiles per vendor in this invocation, or per --watch round: those never checked first, then the least recently checked. The others are counted, reported as not checked, and keep the exit code non-zero until a later invocation (or round) gets to them [default: about 30 s of lookups at the vendor\'s polling pace, e.g. 300 for Lytics at 10/s]' -r
complete -c cdp-purge -n "__fish_cdp_purge_using_subcommand status" -l seed -d 'With --sample: the seed that picks the sample [default: from the ledger\'s first run]' -r
complete -c cdp-purge -n "__fish_cdp_purge_using_subcommand status" -l max-rps -d 'Lookups per second (default: the vendor\'s quota, which status polls share with deletions)' -r
complete -c cdp-purge -n "__fish_cdp_purge_using_subcommand status" -l concurrency -d 'Lookups in flight at once (default: the vendor\'s)' -r
complete -c cdp-purge -n "__fish_cdp_purge_using_subcommand status" -l max-retries -d 'Retries per lookup after the first attempt' -r
complete -c cdp-purge -n "__fish_cdp_purge_using_subcommand status" -l max-backoff -d 'Longest wait between two attempts (also caps Retry-After)' -r
complete -c cdp-purge -n "__fish_cdp_purge_using_subcommand status" -l timeout -d 'Per-request timeout (connect and total)' -r
complete -c cdp-purge -n "__fish_cdp_purge_using_subcommand status" -l auth-url -d 'OAuth token endpoint' -r
complete -c cdp-purge -n "__fish_cdp_purge_using_subcommand status" -l org-id -d 'mParticle organisation ID' -r
complete -c cdp-purge -n "__fish_cdp_purge_using_subcommand status" -l account-id -d 'mParticle account ID' -r
complete -c cdp-purge -n "__fish_cdp_purge_using_subcommand status" -l workspace-id -d 'mParticle workspace ID' -r
complete -c cdp-purge -n "__fish_cdp_purge_using_subcommand status" -s i -l input -d 'An input file, as the FILE arguments. Repeatable' -r -F
complete -c cdp-purge -n "__fish_cdp_purge_using_subcommand status" -l column -d 'Column (CSV header) or key (JSON) holding the deleted identifiers in --input (MPIDs, mParticle identities, CleverTap identities, Segment external ids). With --group, each target reads the columns its own run read (from the group\'s index)' -r
complete -c cdp-purge -n "__fish_cdp_purge_using_subcommand status" -l lookup-column -l user-id-column -d 'Segment: the column holding each row\'s user_id (runs with --user-id-column) or the value its profile was looked up by (runs with --lookup-type) [default: --column]' -r
complete -c cdp-purge -n "__fish_cdp_purge_using_subcommand status" -l format -d 'Input format of FILE (default: from the extension)' -r -f -a "csv\t''
tsv\t''
json\t''
ndjson\t''"
complete -c cdp-purge -n "__fish_cdp_purge_using_subcommand status" -l color -d 'Colour on stderr: auto (a terminal, and no NO_COLOR), always or never' -r -f -a "auto\t''
always\t''
never\t''"
complete -c cdp-purge -n "__fish_cdp_purge_using_subcommand status" -l config -d 'Config file with named targets [default: $CDP_PURGE_CONFIG, else $XDG_CONFIG_HOME/cdp-purge/cdp-purge.toml]' -r -F
complete -c cdp-purge -n "__fish_cdp_purge_using_subcommand status" -l allow-insecure-http -d 'Allow a plain http:// --base-url to a host other than this machine'
complete -c cdp-purge -n "__fish_cdp_purge_using_subcommand status" -l watch -d 'Keep polling until every job is finished (or --until passes)'
complete -c cdp-purge -n "__fish_cdp_purge_using_subcommand status" -l json -d 'Print the summary as one JSON object on stdout'
complete -c cdp-purge -n "__fish_cdp_purge_using_subcommand status" -l per-job -d 'Ask for each job\'s status one by one, never through the vendor\'s account-wide list (Lytics\' deletestatus/list)'
complete -c cdp-purge -n "__fish_cdp_purge_using_subcommand status" -l recheck -d 'Look again at every identifier the ledger shows as deleted, even those already verified (deleted profiles come back), and record each answer with its time. Exit 1 when any came back. An interrupted re-check is finished by the next one. mParticle needs the --verify settings and the input (-i FILE --column NAME)'
complete -c cdp-purge -n "__fish_cdp_purge_using_subcommand status" -l verify -d 'Look every deleted identifier up in the vendor\'s profile API: mParticle by MPID or through its resolve route (needs MPARTICLE_CLIENT_ID and MPARTICLE_CLIENT_SECRET, a credential with Profile API access); Segment\'s profile external ids; CleverTap\'s profile, 24 h after the deletion. Only the vendor\'s documented "not found" proves a deletion (mParticle by MPID, Segment); CleverTap and mParticle\'s resolve route document none, so they prove a profile present or nothing. Anything else is unknown'
complete -c cdp-purge -n "__fish_cdp_purge_using_subcommand status" -s q -l quiet -d 'Print only errors (no progress, no summary text; --json output still goes to stdout)'
complete -c cdp-purge -n "__fish_cdp_purge_using_subcommand status" -s v -l verbose -d 'More log output (-v: info, -vv: debug). Identifiers are never logged'
complete -c cdp-purge -n "__fish_cdp_purge_using_subcommand status" -s h -l help -d 'Print help'
complete -c cdp-purge -n "__fish_cdp_purge_using_subcommand status" -s V -l version -d 'Print version'
complete -c cdp-purge -n "__fish_cdp_purge_using_subcommand report" -l ledger -d 'The ledger to report on (read only). Repeatable with --proof: one ledger per destination' -r -F
complete -c cdp-purge -n "__fish_cdp_purge_using_subcommand report" -l proof -d 'Print the proof of a deletion for a data-subject-request ticket: per --ledger, what was sent and when, the vendor\'s IDs, every later check and its answer, and the ledger\'s chain head at each step. ROW is an input row number as `report --csv` shows it (FILE:ROW for one input file); or give --lookup VALUE' -r
complete -c cdp-purge -n "__fish_cdp_purge_using_subcommand report" -l group -d 'Per input row, the state at every target of a `delete --group NAME` over the input given with -i (one column per target; --csv or --json)' -r
complete -c cdp-purge -n "__fish_cdp_purge_using_subcommand report" -l format -d 'Old name of --json / --csv (deprecated: --format names the input format elsewhere)' -r -f -a "text\t''
json\t''
csv\t'One line per kept input row: attach it to the data-subject request'"
complete -c cdp-purge -n "__fish_cdp_purge_using_subcommand report" -l lookup -d 'What happened to this person? Hashed with the ledger\'s key (`<ledger>.key`); the value is never printed. Repeatable' -r
complete -c cdp-purge -n "__fish_cdp_purge_using_subcommand report" -l lookup-file -d 'Like --lookup, one value per line (keeps the values out of shell history and `ps`)' -r -F
complete -c cdp-purge -n "__fish_cdp_purge_using_subcommand report" -s i -l input -d 'An input to hash, as the FILE arguments (with --group: the input of the group\'s `delete`). Repeatable' -r -F
complete -c cdp-purge -n "__fish_cdp_purge_using_subcommand report" -l color -d 'Colour on stderr: auto (a terminal, and no NO_COLOR), always or never' -r -f -a "auto\t''
always\t''
never\t''"
complete -c cdp-purge -n "__fish_cdp_purge_using_subcommand report" -l config -d 'Config file with named targets [default: $CDP_PURGE_CONFIG, else $XDG_CONFIG_HOME/cdp-purge/cdp-purge.toml]' -r -F
complete -c cdp-purge -n "__fish_cdp_purge_using_subcommand report" -l json -d 'Print the report as JSON'
complete -c cdp-purge -n "__fish_cdp_purge_using_subcommand report" -l csv -d 'Print one CSV line per kept input row: attach it to the data-subject request'
complete -c cdp-purge -n "__fish_cdp_purge_using_subcommand report" -l verify -d 'Check the hash chain and the input files\' SHA-256 digests; exit 1 if either does not match'
complete -c cdp-purge -n "__fish_cdp_purge_using_subcommand report" -s q -l quiet -d 'Print only errors (no progress, no summary text; --json output still goes to stdout)'
complete -c cdp-purge -n "__fish_cdp_purge_using_subcommand report" -s v -l verbose -d 'More log output (-v: info, -vv: debug). Identifiers are never logged'
complete -c cdp-purge -n "__fish_cdp_purge_using_subcommand report" -s h -l help -d 'Print help'
complete -c cdp-purge -n "__fish_cdp_purge_using_subcommand report" -s V -l version -d 'Print version'
complete -c cdp-purge -n "__fish_cdp_purge_using_subcommand vendors" -l color -d 'Colour on stderr: auto (a terminal, and no NO_COLOR), always or never' -r -f -a "auto\t''
always\t''
never\t''"
complete -c cdp-purge -n "__fish_cdp_purge_using_subcommand vendors" -l config -d 'Config file with named targets [default: $CDP_PURGE_CONFIG, else $XDG_CONFIG_HOME/cdp-purge/cdp-purge.toml]' -r -F
complete -c cdp-purge -n "__fish_cdp_purge_using_subcommand vendors" -l json -d 'Print as JSON'
complete -c cdp-purge -n "__fish_cdp_purge_using_subcommand vendors" -s q -l quiet -d 'Print only errors (no progress, no summary text; --json output still goes to stdout)'
complete -c cdp-purge -n "__fish_cdp_purge_using_subcommand vendors" -s v -l verbose -d 'More log output (-v: info, -vv: debug). Identifiers are never logged'
complete -c cdp-purge -n "__fish_cdp_purge_using_subcommand vendors" -s h -l help -d 'Print help'
complete -c cdp-purge -n "__fish_cdp_purge_using_subcommand vendors" -s V -l version -d 'Print version'
complete -c cdp-purge -n "__fish_cdp_purge_using_subcommand targets" -l color -d 'Colour on stderr: auto (a terminal, and no NO_COLOR), always or never' -r -f -a "auto\t''
always\t''
never\t''"
complete -c cdp-purge -n "__fish_cdp_purge_using_subcommand targets" -l config -d 'Config file with named targets [default: $CDP_PURGE_CONFIG, else $XDG_CONFIG_HOME/cdp-purge/cdp-purge.toml]' -r -F
complete -c cdp-purge -n "__fish_cdp_purge_using_subcommand targets" -l json -d 'Print as JSON'
complete -c cdp-purge -n "__fish_cdp_purge_using_subcommand targets" -s q -l quiet -d 'Print only errors (no progress, no summary text; --json output still goes to stdout)'
complete -c cdp-purge -n "__fish_cdp_purge_using_subcommand targets" -s v -l verbose -d 'More log output (-v: info, -vv: debug). Identifiers are never logged'
complete -c cdp-purge -n "__fish_cdp_purge_using_subcommand targets" -s h -l help -d 'Print help'
complete -c cdp-purge -n "__fish_cdp_purge_using_subcommand targets" -s V -l version -d 'Print version'
complete -c cdp-purge -n "__fish_cdp_purge_using_subcommand check" -l vendor -d 'The vendor to delete from (see `cdp-purge vendors`); not needed with --target' -r -f -a "lytics\t''
mparticle\t''
clevertap\t''
segment\t''
hightouch\t''
amplitude\t''
iterable\t''
posthog\t''
segment-regs\t''
mixpanel\t''
braze\t''"
complete -c cdp-purge -n "__fish_cdp_purge_using_subcommand check" -l target -d 'A target from the config file (see `cdp-purge targets`); flags override its settings. Repeatable' -r
complete -c cdp-purge -n "__fish_cdp_purge_using_subcommand check" -l group -d 'The targets of a group in the config file (`[groups] NAME = ["a", "b"]`): one run per target, each with its own ledger, one summary line each' -r
complete -c cdp-purge -n "__fish_cdp_purge_using_subcommand check" -l base-url -d 'Override the vendor\'s host, e.g. a proxy or the local sandbox (https://, or http:// to localhost; no credentials in it)' -r
complete -c cdp-purge -n "__fish_cdp_purge_using_subcommand check" -l credentials-file -d 'Read credentials from this file (KEY=VALUE lines, as the environment variables)' -r -F
complete -c cdp-purge -n "__fish_cdp_purge_using_subcommand check" -l id-type -d 'What the values are: Lytics\' identity field (email, member_id), mParticle\'s identity type (mpid, customerid, email, ...), CleverTap\'s identity or guid, Segment\'s external id type (email, anonymous_id, ...), Hightouch\'s identifier name (email, phone, ...)' -r
complete -c cdp-purge -n "__fish_cdp_purge_using_subcommand check" -l id-type-column -d 'Segment / Hightouch: column holding each row\'s identifier type (instead of --id-type)' -r
complete -c cdp-purge -n "__fish_cdp_purge_using_subcommand check" -l table -d 'Lytics: the table (default: user)' -r
complete -c cdp-purge -n "__fish_cdp_purge_using_subcommand check" -l pod -d 'mParticle: pod hosting the account' -r -f -a "us1\t''
us2\t''
eu1\t''
au1\t''"
complete -c cdp-purge -n "__fish_cdp_purge_using_subcommand check" -l environment -d 'mParticle: environment_type of the deletion (not needed by `plan`)' -r -f -a "production\t''
development\t''"
complete -c cdp-purge -n "__fish_cdp_purge_using_subcommand check" -l requester -d 'Amplitude: who asked for the deletion (Amplitude\'s `requester`, for its audit trail)' -r
complete -c cdp-purge -n "__fish_cdp_purge_using_subcommand check" -l project-id -d 'PostHog: the project ID (not needed by `plan`)' -r
complete -c cdp-purge -n "__fish_cdp_purge_using_subcommand check" -l region -d 'Region of the account: CleverTap (in1, sg1, us1, aps3, mec1, eu1), Segment, Segment regulations, Amplitude, Iterable, PostHog (us or eu), Mixpanel (us, eu or in)' -r
complete -c cdp-purge -n "__fish_cdp_purge_using_subcommand check" -l source -d 'Segment regulations: regulate one source instead of the whole workspace' -r
complete -c cdp-purge -n "__fish_cdp_purge_using_subcommand check" -l regulation-type -d 'Segment regulations: SUPPRESS_WITH_DELETE (default), DELETE_ONLY, SUPPRESS_WITH_DELETE_INTERNAL, DELETE_INTERNAL, SUPPRESS_ONLY or UNSUPPRESS' -r
complete -c cdp-purge -n "__fish_cdp_purge_using_subcommand check" -l compliance-type -d 'Mixpanel: GDPR (default) or CCPA' -r
complete -c cdp-purge -n "__fish_cdp_purge_using_subcommand check" -l data-groups -d 'Mixpanel: the project\'s data groups (each lowers the per-request cap: 2000/(N+1))' -r
complete -c cdp-purge -n "__fish_cdp_purge_using_subcommand check" -l instance -d 'Braze: the REST instance of the workspace (iad-01 ... iad-08, us-10, fra-01, fra-02, au-01, ...)' -r
complete -c cdp-purge -n "__fish_cdp_purge_using_subcommand check" -l alias-label -d 'Braze: the alias_label of the user aliases deleted with --id-type user_alias' -r
complete -c cdp-purge -n "__fish_cdp_purge_using_subcommand check" -l space -d 'Segment: the Unify space ID (not needed by `plan`)' -r
complete -c cdp-purge -n "__fish_cdp_purge_using_subcommand check" -l user-id-column -d 'Segment: column holding each row\'s lookup user_id' -r
complete -c cdp-purge -n "__fish_cdp_purge_using_subcommand check" -l lookup-type -d 'Segment: find each row\'s profile by this external id type (email, anonymous_id, any type of the space) through the Profile API, instead of a user_id column. The lookups share the space\'s quota with the deletions' -r
complete -c cdp-purge -n "__fish_cdp_purge_using_subcommand check" -l lookup-column -d 'Segment: with --lookup-type, the column holding the value to look up [default: --column]' -r
complete -c cdp-purge -n "__fish_cdp_purge_using_subcommand check" -l graph -d 'Hightouch: the identity graph ID (not needed by `plan`)' -r
complete -c cdp-purge -n "__fish_cdp_purge_using_subcommand check" -l field -d 'Old name of --id-type for Lytics (deprecated)' -r
complete -c cdp-purge -n "__fish_cdp_purge_using_subcommand check" -l identity-type -d 'Old name of --id-type for mParticle (deprecated)' -r
complete -c cdp-purge -n "__fish_cdp_purge_using_subcommand check" -l id-kind -d 'Old name of --id-type for CleverTap (deprecated)' -r
complete -c cdp-purge -n "__fish_cdp_purge_using_subcommand check" -l identifier-type -d 'Old name of --id-type for Hightouch (deprecated)' -r
complete -c cdp-purge -n "__fish_cdp_purge_using_subcommand check" -l identifier-type-column -d 'Old name of --id-type-column (deprecated)' -r
complete -c cdp-purge -n "__fish_cdp_purge_using_subcommand check" -l timeout -d 'Timeout of the preflight call' -r
complete -c cdp-purge -n "__fish_cdp_purge_using_subcommand check" -l color -d 'Colour on stderr: auto (a terminal, and no NO_COLOR), always or never' -r -f -a "auto\t''
always\t''
never\t''"
complete -c cdp-purge -n "__fish_cdp_purge_using_subcommand check" -l config -d 'Config file with named targets [default: $CDP_PURGE_CONFIG, else $XDG_CONFIG_HOME/cdp-purge/cdp-purge.toml]' -r -F
complete -c cdp-purge -n "__fish_cdp_purge_using_subcommand check" -l all-targets -d 'Every target in the config file (with --vendor: every target of that vendor)'
complete -c cdp-purge -n "__fish_cdp_purge_using_subcommand check" -l allow-insecure-http -d 'Allow a plain http:// --base-url to a host other than this machine (the credentials travel unencrypted)'
complete -c cdp-purge -n "__fish_cdp_purge_using_subcommand check" -l no-block -d 'Hightouch: do not blocklist the values (supercluster repair only, not for deletion)'
complete -c cdp-purge -n "__fish_cdp_purge_using_subcommand check" -l source-data-deleted -d 'Hightouch: confirm the rows are already gone from the warehouse sources'
complete -c cdp-purge -n "__fish_cdp_purge_using_subcommand check" -l json -d 'Print the findings as JSON'
complete -c cdp-purge -n "__fish_cdp_purge_using_subcommand check" -s q -l quiet -d 'Print only errors (no progress, no summary text; --json output still goes to stdout)'
complete -c cdp-purge -n "__fish_cdp_purge_using_subcommand check" -s v -l verbose -d 'More log output (-v: info, -vv: debug). Identifiers are never logged'
complete -c cdp-purge -n "__fish_cdp_purge_using_subcommand check" -s h -l help -d 'Print help'
complete -c cdp-purge -n "__fish_cdp_purge_using_subcommand check" -s V -l version -d 'Print version'
complete -c cdp-purge -n "__fish_cdp_purge_using_subcommand sandbox" -l port -d 'Port on 127.0.0.1 (0 picks a free one)' -r
complete -c cdp-purge -n "__fish_cdp_purge_using_subcommand sandbox" -l faults -d 'Faults to inject, e.g. 429=0.1,503=0.05,reset=0.02,seed=7 (see `--help`)' -r
complete -c cdp-purge -n "__fish_cdp_purge_using_subcommand sandbox" -l competing-rate -d 'Another caller shares every quota and takes RATE of it per second, in the vendor\'s unit (profiles for mParticle, requests for Segment and Hightouch), e.g. 500' -r
complete -c cdp-purge -n "__fish_cdp_purge_using_subcommand sandbox" -l competing-for -d 'The other caller stops after this long (e.g. 20s); without it, it never stops' -r
complete -c cdp-purge -n "__fish_cdp_purge_using_subcommand sandbox" -l latency -d 'Hold every vendor request this long before answering (e.g. 100ms), like a real API' -r
complete -c cdp-purge -n "__fish_cdp_purge_using_subcommand sandbox" -l color -d 'Colour on stderr: auto (a terminal, and no NO_COLOR), always or never' -r -f -a "auto\t''
always\t''
never\t''"
complete -c cdp-purge -n "__fish_cdp_purge_using_subcommand sandbox" -l config -d 'Config file with named targets [default: $CDP_PURGE_CONFIG, else $XDG_CONFIG_HOME/cdp-purge/cdp-purge.toml]' -r -F
complete -c cdp-purge -n "__fish_cdp_purge_using_subcommand sandbox" -l no-quota -d 'Do not enforce the vendors\' quotas (no 429 for pace or concurrency)'
complete -c cdp-purge -n "__fish_cdp_purge_using_subcommand sandbox" -s q -l quiet -d 'Print only errors (no progress, no summary text; --json output still goes to stdout)'
complete -c cdp-purge -n "__fish_cdp_purge_using_subcommand sandbox" -s v -l verbose -d 'More log output (-v: info, -vv: debug). Identifiers are never logged'
complete -c cdp-purge -n "__fish_cdp_purge_using_subcommand sandbox" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c cdp-purge -n "__fish_cdp_purge_using_subcommand sandbox" -s V -l version -d 'Print version'
complete -c cdp-purge -n "__fish_cdp_purge_using_subcommand completions" -l color -d 'Colour on stderr: auto (a terminal, and no NO_COLOR), always or never' -r -f -a "auto\t''
always\t''
never\t''"
complete -c cdp-purge -n "__fish_cdp_purge_using_subcommand completions" -l config -d 'Config file with named targets [default: $CDP_PURGE_CONFIG, else $XDG_CONFIG_HOME/cdp-purge/cdp-purge.toml]' -r -F
complete -c cdp-purge -n "__fish_cdp_purge_using_subcommand completions" -s q -l quiet -d 'Print only errors (no progress, no summary text; --json output still goes to stdout)'
complete -c cdp-purge -n "__fish_cdp_purge_using_subcommand completions" -s v -l verbose -d 'More log output (-v: info, -vv: debug). Identifiers are never logged'
complete -c cdp-purge -n "__fish_cdp_purge_using_subcommand completions" -s h -l help -d 'Print help'
complete -c cdp-purge -n "__fish_cdp_purge_using_subcommand completions" -s V -l version -d 'Print version'
complete -c cdp-purge -n "__fish_cdp_purge_using_subcommand man" -l color -d 'Colour on stderr: auto (a terminal, and no NO_COLOR), always or never' -r -f -a "auto\t''
always\t''
never\t''"
complete -c cdp-purge -n "__fish_cdp_purge_using_subcommand man" -l config -d 'Config file with named targets [default: $CDP_PURGE_CONFIG, else $XDG_CONFIG_HOME/cdp-purge/cdp-purge.toml]' -r -F
complete -c cdp-purge -n "__fish_cdp_purge_using_subcommand man" -s q -l quiet -d 'Print only errors (no progress, no summary text; --json output still goes to stdout)'
complete -c cdp-purge -n "__fish_cdp_purge_using_subcommand man" -s v -l verbose -d 'More log output (-v: info, -vv: debug). Identifiers are never logged'
complete -c cdp-purge -n "__fish_cdp_purge_using_subcommand man" -s h -l help -d 'Print help'
complete -c cdp-purge -n "__fish_cdp_purge_using_subcommand man" -s V -l version -d 'Print version'
complete -c cdp-purge -n "__fish_cdp_purge_using_subcommand help; and not __fish_seen_subcommand_from plan delete status report vendors targets check sandbox completions man help" -f -a "plan" -d 'Read, clean and batch the input exactly as a real run would; send nothing'
complete -c cdp-purge -n "__fish_cdp_purge_using_subcommand help; and not __fish_seen_subcommand_from plan delete status report vendors targets check sandbox completions man help" -f -a "delete" -d 'Delete the profiles: paced to the vendor\'s quota, retried, recorded in a ledger'
complete -c cdp-purge -n "__fish_cdp_purge_using_subcommand help; and not __fish_seen_subcommand_from plan delete status report vendors targets check sandbox completions man help" -f -a "status" -d 'Poll the vendors for the state of a ledger\'s deletion jobs, oldest check first'
complete -c cdp-purge -n "__fish_cdp_purge_using_subcommand help; and not __fish_seen_subcommand_from plan delete status report vendors targets check sandbox completions man help" -f -a "report" -d 'Summarise a ledger per run, per input row or per person; check it was not altered'
complete -c cdp-purge -n "__fish_cdp_purge_using_subcommand help; and not __fish_seen_subcommand_from plan delete status report vendors targets check sandbox completions man help" -f -a "vendors" -d 'List the supported vendors: per-request cap, quota, identifier kinds, credentials'
complete -c cdp-purge -n "__fish_cdp_purge_using_subcommand help; and not __fish_seen_subcommand_from plan delete status report vendors targets check sandbox completions man help" -f -a "targets" -d 'List the targets in the config file: vendor, settings, limits, credential variables'
complete -c cdp-purge -n "__fish_cdp_purge_using_subcommand help; and not __fish_seen_subcommand_from plan delete status report vendors targets check sandbox completions man help" -f -a "check" -d 'Preflight: validate a target\'s configuration and credentials without deleting anything'
complete -c cdp-purge -n "__fish_cdp_purge_using_subcommand help; and not __fish_seen_subcommand_from plan delete status report vendors targets check sandbox completions man help" -f -a "sandbox" -d 'Run a local fake of every vendor API (for trying the tool and for tests)'
complete -c cdp-purge -n "__fish_cdp_purge_using_subcommand help; and not __fish_seen_subcommand_from plan delete status report vendors targets check sandbox completions man help" -f -a "completions" -d 'Print a shell completion script'
complete -c cdp-purge -n "__fish_cdp_purge_using_subcommand help; and not __fish_seen_subcommand_from plan delete status report vendors targets check sandbox completions man help" -f -a "man" -d 'Print the man page (roff) to stdout'
complete -c cdp-purge -n "__fish_cdp_purge_using_subcommand help; and not __fish_seen_subcommand_from plan delete status report vendors targets check sandbox completions man help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
