#!/usr/bin/env bash
# Resume an interrupted or partly failed deletion: rerun the same command with the same
# ledger. Identifiers this destination already acknowledged are skipped one by one (keyed
# hashes, not row offsets or batches), so nothing acknowledged is sent twice even if the
# list was edited or re-sorted in between.
#
# Exit codes: 0 all done; 1 some identifiers failed; 2 usage/input; 3 auth; 4 rate limit;
# 130 interrupted.
set -uo pipefail

cmd=(cdp-purge delete --vendor lytics --table user --id-type email
     suppression.csv --column email --ledger suppression.ledger.jsonl --yes)

for attempt in 1 2 3; do
  "${cmd[@]}"
  code=$?
  case $code in
    0) echo "all identifiers deleted"; exit 0 ;;
    1) echo "some identifiers failed permanently; retrying them once"
       "${cmd[@]}" --retry-failed; exit $? ;;
    4|130) echo "attempt $attempt stopped (exit $code); resuming in 60 s"; sleep 60 ;;
    *) echo "not retryable (exit $code): fix the cause, then rerun the same command"; exit "$code" ;;
  esac
done
exit 4
