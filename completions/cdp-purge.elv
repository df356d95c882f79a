
use builtin;
use str;

set edit:completion:arg-completer[cdp-purge] = {|@words|
    fn spaces {|n|
        builtin:repeat $n ' ' | str:join ''
    }
    fn cand {|text desc|
        edit:complex-candidate $text &display=$text' '(spaces (- 14 (wcswidth $text)))$desc
    }
    var command = 'cdp-purge'
    for word $words[1..-1] {
        if (str:has-prefix $word '-') {
            break
        }
        set command = $command';'$word
    }
    var completions = [
        &'cdp-purge'= {
            cand --config 'Config file with named targets [default: $CDP_PURGE_CONFIG, else $XDG_CONFIG_HOME/cdp-purge/cdp-purge.toml]'
            cand -q 'Print only errors (no progress, no summary text; --json output still goes to stdout)'
            cand --quiet 'Print only errors (no progress, no summary text; --json output still goes to stdout)'
            cand -v 'More log output (-v: info, -vv: debug). Identifiers are never logged'
            cand --verbose 'More log output (-v: info, -vv: debug). Identifiers are never logged'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
            cand plan 'Read, clean and batch the input exactly as a real run would; send nothing'
            cand delete 'Delete the profiles: paced to the vendor''s quota, retried, recorded in a ledger'
            cand status 'Poll the vendors for the state of every deletion job a ledger recorded'
            cand report 'Summarise a ledger per run, per input row or per person; check it was not altered'
            cand vendors 'List the supported vendors: per-request cap, quota, identifier kinds, credentials'
            cand targets 'List the targets in the config file: vendor, settings, limits, credential variables'
            cand check 'Preflight: validate a target''s configuration and credentials without deleting anything'
            cand sandbox 'Run a local fake of every vendor API (for trying the tool and for tests)'
            cand completions 'Print a shell completion script'
            cand man 'Print the man page (roff) to stdout'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'cdp-purge;plan'= {
            cand -i 'Input file(s); `-` reads stdin; `.gz` is decompressed on the fly. Repeatable'
            cand --input 'Input file(s); `-` reads stdin; `.gz` is decompressed on the fly. Repeatable'
            cand --format 'Input format (default: from the extension; stdin defaults to csv)'
            cand --column 'Column (CSV header name) or key (JSON objects; dotted path for nested keys) holding the identifier'
            cand --column-index '0-based column index holding the identifier (CSV/TSV)'
            cand --delimiter 'Field delimiter for CSV (default: `,`; `\t` for .tsv)'
            cand --null-values 'Values treated as empty, comma-separated; replaces the built-in list [default: null,NULL,Null,None,none,nan,NaN,NAN,undefined,nil,NIL,N/A,n/a,NA,#N/A,0]'
            cand --rejects 'Write one CSV line per rejected row (file, row, column, reason) to FILE'
            cand --batch-size 'Identifiers per request (at most the vendor''s cap; see `cdp-purge vendors`)'
            cand --vendor 'The vendor to delete from (see `cdp-purge vendors`); not needed with --target'
            cand --target 'A target from the config file (see `cdp-purge targets`); flags override its settings. Repeatable'
            cand --base-url 'Override the vendor''s host, e.g. a proxy or the local sandbox (http:// allowed)'
            cand --credentials-file 'Read credentials from this file (KEY=VALUE lines, as the environment variables)'
            cand --table 'Lytics: the table (default: user)'
            cand --field 'Lytics: the identity field deleted by (e.g. email, member_id)'
            cand --pod 'mParticle: pod hosting the account'
            cand --environment 'mParticle: environment_type of the deletion'
            cand --identity-type 'mParticle: identity type of the values (`mpid`, or a unique identity such as customerid, email)'
            cand --id-kind 'CleverTap: what the values are'
            cand --region 'CleverTap or Segment: region of the account'
            cand --space 'Segment: the Unify space ID'
            cand --id-type 'Segment: external-id type of the values (e.g. email, anonymous_id)'
            cand --id-type-column 'Segment / Hightouch: column holding each row''s identifier type'
            cand --user-id-column 'Segment: column holding each row''s lookup user_id'
            cand --graph 'Hightouch: the identity graph ID'
            cand --identifier-type 'Hightouch: identifier name of the values (e.g. email, phone)'
            cand --config 'Config file with named targets [default: $CDP_PURGE_CONFIG, else $XDG_CONFIG_HOME/cdp-purge/cdp-purge.toml]'
            cand --no-header 'The CSV/TSV file has no header row (one identifier per line unless --column-index)'
            cand --lowercase 'Lowercase identifiers before de-duplication (for case-insensitive kinds such as email)'
            cand --no-validate 'Skip per-kind validation (email syntax, MPID range, ...)'
            cand --rejects-include-values 'Also write the raw rejected value to the rejects file (personal data)'
            cand --all-targets 'Every target in the config file (with --vendor: every target of that vendor)'
            cand --no-block 'Hightouch: do not blocklist the values (supercluster repair only, not for deletion)'
            cand --source-data-deleted 'Hightouch: confirm the rows are already gone from the warehouse sources'
            cand --json 'Print the plan as one JSON object on stdout (one line per target)'
            cand -q 'Print only errors (no progress, no summary text; --json output still goes to stdout)'
            cand --quiet 'Print only errors (no progress, no summary text; --json output still goes to stdout)'
            cand -v 'More log output (-v: info, -vv: debug). Identifiers are never logged'
            cand --verbose 'More log output (-v: info, -vv: debug). Identifiers are never logged'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'cdp-purge;delete'= {
            cand -i 'Input file(s); `-` reads stdin; `.gz` is decompressed on the fly. Repeatable'
            cand --input 'Input file(s); `-` reads stdin; `.gz` is decompressed on the fly. Repeatable'
            cand --format 'Input format (default: from the extension; stdin defaults to csv)'
            cand --column 'Column (CSV header name) or key (JSON objects; dotted path for nested keys) holding the identifier'
            cand --column-index '0-based column index holding the identifier (CSV/TSV)'
            cand --delimiter 'Field delimiter for CSV (default: `,`; `\t` for .tsv)'
            cand --null-values 'Values treated as empty, comma-separated; replaces the built-in list [default: null,NULL,Null,None,none,nan,NaN,NAN,undefined,nil,NIL,N/A,n/a,NA,#N/A,0]'
            cand --rejects 'Write one CSV line per rejected row (file, row, column, reason) to FILE'
            cand --batch-size 'Identifiers per request (at most the vendor''s cap; see `cdp-purge vendors`)'
            cand --vendor 'The vendor to delete from (see `cdp-purge vendors`); not needed with --target'
            cand --target 'A target from the config file (see `cdp-purge targets`); flags override its settings. Repeatable'
            cand --base-url 'Override the vendor''s host, e.g. a proxy or the local sandbox (http:// allowed)'
            cand --credentials-file 'Read credentials from this file (KEY=VALUE lines, as the environment variables)'
            cand --table 'Lytics: the table (default: user)'
            cand --field 'Lytics: the identity field deleted by (e.g. email, member_id)'
            cand --pod 'mParticle: pod hosting the account'
            cand --environment 'mParticle: environment_type of the deletion'
            cand --identity-type 'mParticle: identity type of the values (`mpid`, or a unique identity such as customerid, email)'
            cand --id-kind 'CleverTap: what the values are'
            cand --region 'CleverTap or Segment: region of the account'
            cand --space 'Segment: the Unify space ID'
            cand --id-type 'Segment: external-id type of the values (e.g. email, anonymous_id)'
            cand --id-type-column 'Segment / Hightouch: column holding each row''s identifier type'
            cand --user-id-column 'Segment: column holding each row''s lookup user_id'
            cand --graph 'Hightouch: the identity graph ID'
            cand --identifier-type 'Hightouch: identifier name of the values (e.g. email, phone)'
            cand --ledger 'Ledger file (JSON Lines) [default: <first input>.ledger.jsonl, or cdp-purge-stdin.ledger.jsonl]'
            cand --max-rps 'Requests per second (default: the vendor''s quota; above it only with a warning)'
            cand --max-items-per-sec 'Identifiers per second (default: the vendor''s quota; above it only with a warning)'
            cand --concurrency 'Requests in flight at once (default: the vendor''s, enough to reach the quota at ~1 s latency)'
            cand --max-retries 'Retries per batch after the first attempt [default: 8, or the config file''s]'
            cand --max-backoff 'Longest wait between two attempts (also caps Retry-After)'
            cand --timeout 'Per-request timeout (connect and total)'
            cand --breaker-after 'Stop the run when this many first identifiers all failed permanently for the same reason (a refused permission, a misspelt field, a wrong space): the configuration is wrong, not the data. Those identifiers are recorded as retryable, so the same command resends them once fixed'
            cand --config 'Config file with named targets [default: $CDP_PURGE_CONFIG, else $XDG_CONFIG_HOME/cdp-purge/cdp-purge.toml]'
            cand --no-header 'The CSV/TSV file has no header row (one identifier per line unless --column-index)'
            cand --lowercase 'Lowercase identifiers before de-duplication (for case-insensitive kinds such as email)'
            cand --no-validate 'Skip per-kind validation (email syntax, MPID range, ...)'
            cand --rejects-include-values 'Also write the raw rejected value to the rejects file (personal data)'
            cand --all-targets 'Every target in the config file (with --vendor: every target of that vendor)'
            cand --no-block 'Hightouch: do not blocklist the values (supercluster repair only, not for deletion)'
            cand --source-data-deleted 'Hightouch: confirm the rows are already gone from the warehouse sources'
            cand --ledger-include-identifiers 'Store raw identifiers in the ledger (personal data; off by default)'
            cand --retry-failed 'Resend batches the ledger records as permanently failed'
            cand --no-breaker 'Never stop for failures that look systemic (see --breaker-after): use it when the first identifiers really are unknown or invalid'
            cand --json 'Print the final summary as one JSON object on stdout'
            cand -y 'Do not ask for confirmation (required when stdin is not a terminal)'
            cand --yes 'Do not ask for confirmation (required when stdin is not a terminal)'
            cand --dry-run 'Send nothing; print the plan (same as `cdp-purge plan`)'
            cand --sandbox 'Delete from a built-in sandbox of the vendor, started on 127.0.0.1 for this run, with its fake credentials: no account needed and nothing real is touched'
            cand -q 'Print only errors (no progress, no summary text; --json output still goes to stdout)'
            cand --quiet 'Print only errors (no progress, no summary text; --json output still goes to stdout)'
            cand -v 'More log output (-v: info, -vv: debug). Identifiers are never logged'
            cand --verbose 'More log output (-v: info, -vv: debug). Identifiers are never logged'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'cdp-purge;status'= {
            cand --ledger 'The ledger a `delete` run wrote; status records are appended to it'
            cand --base-url 'Poll this host instead of the one recorded in the ledger (mParticle --verify: the Profile API host)'
            cand --credentials-file 'Read credentials from this file (KEY=VALUE lines, as the environment variables)'
            cand --until 'With --watch: give up after this long and exit 1 if jobs are still pending'
            cand --interval 'With --watch: the first wait between two polls; each wait is 1.5 times the last'
            cand --max-interval 'With --watch: the longest wait between two polls'
            cand --sample 'Look up a random sample of N jobs per vendor instead of all of them, and report the 95% confidence interval of the share that is done. The same ledger and --seed pick the same sample'
            cand --seed 'With --sample: the seed that picks the sample [default: from the ledger''s first run]'
            cand --max-rps 'Lookups per second (default: the vendor''s quota, which status polls share with deletions)'
            cand --concurrency 'Lookups in flight at once (default: the vendor''s)'
            cand --max-retries 'Retries per lookup after the first attempt'
            cand --max-backoff 'Longest wait between two attempts (also caps Retry-After)'
            cand --timeout 'Per-request timeout (connect and total)'
            cand --auth-url 'OAuth token endpoint'
            cand --org-id 'mParticle organisation ID'
            cand --account-id 'mParticle account ID'
            cand --workspace-id 'mParticle workspace ID'
            cand -i 'The input the run read, to recover the MPIDs (the ledger holds keyed hashes unless the run used --ledger-include-identifiers). Repeatable'
            cand --input 'The input the run read, to recover the MPIDs (the ledger holds keyed hashes unless the run used --ledger-include-identifiers). Repeatable'
            cand --column 'Column (CSV header) or key (JSON) holding the MPIDs in --input'
            cand --format 'Format of --input (default: from the extension)'
            cand --config 'Config file with named targets [default: $CDP_PURGE_CONFIG, else $XDG_CONFIG_HOME/cdp-purge/cdp-purge.toml]'
            cand --watch 'Keep polling until every job is finished (or --until passes)'
            cand --json 'Print the summary as one JSON object on stdout'
            cand --per-job 'Ask for each job''s status one by one, never through the vendor''s account-wide list (Lytics'' deletestatus/list)'
            cand --verify 'Look every deleted MPID up in the Profile API: "not found" proves the deletion. Needs MPARTICLE_CLIENT_ID and MPARTICLE_CLIENT_SECRET (an API credential with Profile API access)'
            cand -q 'Print only errors (no progress, no summary text; --json output still goes to stdout)'
            cand --quiet 'Print only errors (no progress, no summary text; --json output still goes to stdout)'
            cand -v 'More log output (-v: info, -vv: debug). Identifiers are never logged'
            cand --verbose 'More log output (-v: info, -vv: debug). Identifiers are never logged'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'cdp-purge;report'= {
            cand --ledger 'The ledger to report on (read only)'
            cand --format 'Output format'
            cand --lookup 'What happened to this person? Hashed with the ledger''s key (`<ledger>.key`); the value is never printed. Repeatable'
            cand --lookup-file 'Like --lookup, one value per line (keeps the values out of shell history and `ps`)'
            cand -i 'With --verify: hash this file instead of the input recorded with the same file name (or, when no name matches, the recorded inputs in order). Repeatable'
            cand --input 'With --verify: hash this file instead of the input recorded with the same file name (or, when no name matches, the recorded inputs in order). Repeatable'
            cand --config 'Config file with named targets [default: $CDP_PURGE_CONFIG, else $XDG_CONFIG_HOME/cdp-purge/cdp-purge.toml]'
            cand --verify 'Check the hash chain and the input files'' SHA-256 digests; exit 1 if either does not match'
            cand -q 'Print only errors (no progress, no summary text; --json output still goes to stdout)'
            cand --quiet 'Print only errors (no progress, no summary text; --json output still goes to stdout)'
            cand -v 'More log output (-v: info, -vv: debug). Identifiers are never logged'
            cand --verbose 'More log output (-v: info, -vv: debug). Identifiers are never logged'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'cdp-purge;vendors'= {
            cand --config 'Config file with named targets [default: $CDP_PURGE_CONFIG, else $XDG_CONFIG_HOME/cdp-purge/cdp-purge.toml]'
            cand --json 'Print as JSON'
            cand -q 'Print only errors (no progress, no summary text; --json output still goes to stdout)'
            cand --quiet 'Print only errors (no progress, no summary text; --json output still goes to stdout)'
            cand -v 'More log output (-v: info, -vv: debug). Identifiers are never logged'
            cand --verbose 'More log output (-v: info, -vv: debug). Identifiers are never logged'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'cdp-purge;targets'= {
            cand --config 'Config file with named targets [default: $CDP_PURGE_CONFIG, else $XDG_CONFIG_HOME/cdp-purge/cdp-purge.toml]'
            cand --json 'Print as JSON'
            cand -q 'Print only errors (no progress, no summary text; --json output still goes to stdout)'
            cand --quiet 'Print only errors (no progress, no summary text; --json output still goes to stdout)'
            cand -v 'More log output (-v: info, -vv: debug). Identifiers are never logged'
            cand --verbose 'More log output (-v: info, -vv: debug). Identifiers are never logged'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'cdp-purge;check'= {
            cand --vendor 'The vendor to delete from (see `cdp-purge vendors`); not needed with --target'
            cand --target 'A target from the config file (see `cdp-purge targets`); flags override its settings. Repeatable'
            cand --base-url 'Override the vendor''s host, e.g. a proxy or the local sandbox (http:// allowed)'
            cand --credentials-file 'Read credentials from this file (KEY=VALUE lines, as the environment variables)'
            cand --table 'Lytics: the table (default: user)'
            cand --field 'Lytics: the identity field deleted by (e.g. email, member_id)'
            cand --pod 'mParticle: pod hosting the account'
            cand --environment 'mParticle: environment_type of the deletion'
            cand --identity-type 'mParticle: identity type of the values (`mpid`, or a unique identity such as customerid, email)'
            cand --id-kind 'CleverTap: what the values are'
            cand --region 'CleverTap or Segment: region of the account'
            cand --space 'Segment: the Unify space ID'
            cand --id-type 'Segment: external-id type of the values (e.g. email, anonymous_id)'
            cand --id-type-column 'Segment / Hightouch: column holding each row''s identifier type'
            cand --user-id-column 'Segment: column holding each row''s lookup user_id'
            cand --graph 'Hightouch: the identity graph ID'
            cand --identifier-type 'Hightouch: identifier name of the values (e.g. email, phone)'
            cand --timeout 'Timeout of the preflight call'
            cand --config 'Config file with named targets [default: $CDP_PURGE_CONFIG, else $XDG_CONFIG_HOME/cdp-purge/cdp-purge.toml]'
            cand --all-targets 'Every target in the config file (with --vendor: every target of that vendor)'
            cand --no-block 'Hightouch: do not blocklist the values (supercluster repair only, not for deletion)'
            cand --source-data-deleted 'Hightouch: confirm the rows are already gone from the warehouse sources'
            cand --json 'Print the findings as JSON'
            cand -q 'Print only errors (no progress, no summary text; --json output still goes to stdout)'
            cand --quiet 'Print only errors (no progress, no summary text; --json output still goes to stdout)'
            cand -v 'More log output (-v: info, -vv: debug). Identifiers are never logged'
            cand --verbose 'More log output (-v: info, -vv: debug). Identifiers are never logged'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'cdp-purge;sandbox'= {
            cand --port 'Port on 127.0.0.1 (0 picks a free one)'
            cand --faults 'Faults to inject, e.g. 429=0.1,503=0.05,reset=0.02,seed=7 (see `--help`)'
            cand --config 'Config file with named targets [default: $CDP_PURGE_CONFIG, else $XDG_CONFIG_HOME/cdp-purge/cdp-purge.toml]'
            cand --no-quota 'Do not enforce the vendors'' quotas (no 429 for pace or concurrency)'
            cand -q 'Print only errors (no progress, no summary text; --json output still goes to stdout)'
            cand --quiet 'Print only errors (no progress, no summary text; --json output still goes to stdout)'
            cand -v 'More log output (-v: info, -vv: debug). Identifiers are never logged'
            cand --verbose 'More log output (-v: info, -vv: debug). Identifiers are never logged'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'cdp-purge;completions'= {
            cand --config 'Config file with named targets [default: $CDP_PURGE_CONFIG, else $XDG_CONFIG_HOME/cdp-purge/cdp-purge.toml]'
            cand -q 'Print only errors (no progress, no summary text; --json output still goes to stdout)'
            cand --quiet 'Print only errors (no progress, no summary text; --json output still goes to stdout)'
            cand -v 'More log output (-v: info, -vv: debug). Identifiers are never logged'
            cand --verbose 'More log output (-v: info, -vv: debug). Identifiers are never logged'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'cdp-purge;man'= {
            cand --config 'Config file with named targets [default: $CDP_PURGE_CONFIG, else $XDG_CONFIG_HOME/cdp-purge/cdp-purge.toml]'
            cand -q 'Print only errors (no progress, no summary text; --json output still goes to stdout)'
            cand --quiet 'Print only errors (no progress, no summary text; --json output still goes to stdout)'
            cand -v 'More log output (-v: info, -vv: debug). Identifiers are never logged'
            cand --verbose 'More log output (-v: info, -vv: debug). Identifiers are never logged'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'cdp-purge;help'= {
            cand plan 'Read, clean and batch the input exactly as a real run would; send nothing'
            cand delete 'Delete the profiles: paced to the vendor''s quota, retried, recorded in a ledger'
            cand status 'Poll the vendors for the state of every deletion job a ledger recorded'
            cand report 'Summarise a ledger per run, per input row or per person; check it was not altered'
            cand vendors 'List the supported vendors: per-request cap, quota, identifier kinds, credentials'
            cand targets 'List the targets in the config file: vendor, settings, limits, credential variables'
            cand check 'Preflight: validate a target''s configuration and credentials without deleting anything'
            cand sandbox 'Run a local fake of every vendor API (for trying the tool and for tests)'
            cand completions 'Print a shell completion script'
            cand man 'Print the man page (roff) to stdout'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'cdp-purge;help;plan'= {
        }
        &'cdp-purge;help;delete'= {
        }
        &'cdp-purge;help;status'= {
        }
        &'cdp-purge;help;report'= {
        }
        &'cdp-purge;help;vendors'= {
        }
        &'cdp-purge;help;targets'= {
        }
        &'cdp-purge;help;check'= {
        }
        &'cdp-purge;help;sandbox'= {
        }
        &'cdp-purge;help;completions'= {
        }
        &'cdp-purge;help;man'= {
        }
        &'cdp-purge;help;help'= {
        }
    ]
    $completions[$command]
}
