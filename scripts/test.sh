#!/usr/bin/env bash
# `npm test`: both halves always run — vitest (TypeScript) and the policy worker's pytest — and the
# command fails when either failed (a failing first half must not hide the second's result).
set -u
cd "$(dirname "$0")/.."
npm run --silent test:ts
ts=$?
npm run --silent test:py
py=$?
word() { if [ "$1" -eq 0 ]; then echo passed; else echo "FAILED (exit $1)"; fi; }
echo "npm test: vitest $(word $ts), pytest $(word $py)"
[ "$ts" -eq 0 ] && [ "$py" -eq 0 ]
