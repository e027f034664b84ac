#!/usr/bin/env bash
# vs-rev.sh REV [COUNT] [BENCH]: runs a benchmark of bench/ as this tree has
# it and as commit REV had it, alternating the two test binaries COUNT
# times on the same machine, then prints each against this tree's
# eppscoring (benchratio). The rows of REV's binary are renamed impl=<x>@REV.
#
# Contrib's side of a side-by-side run moves by ±15 % between runs on a
# shared machine, so a ratio against contrib taken on another day says
# little about whether ours got slower; this compares our code with our
# earlier code on the same batches, in one run.
set -euo pipefail

rev=${1:?usage: vs-rev.sh REV [COUNT] [BENCH]}
count=${2:-3}
bench=${3:-^BenchmarkConnector/spans=}
root=$(git rev-parse --show-toplevel)
short=$(git -C "$root" rev-parse --short "$rev^{commit}")
work=$(mktemp -d)
trap 'git -C "$root" worktree remove --force "$work/tree" >/dev/null 2>&1 || true; rm -rf "$work"' EXIT

git -C "$root" worktree add --detach "$work/tree" "$short" >/dev/null
(cd "$work/tree/bench" && go test -c -o "$work/rev.test" .)
(cd "$root/bench" && go test -c -o "$work/head.test" .)

mkdir -p "$root/out"
out="$root/out/bench-vs-$short.txt"
: >"$out"
for i in $(seq "$count"); do
	"$work/rev.test" -test.run '^$' -test.bench "$bench" -test.benchmem |
		sed -E "/^Benchmark/ s/impl=([^/[:space:]]*[^/[:space:]0-9-])(-[0-9]+)?([/[:space:]])/impl=\1@$short\2\3/" >>"$out"
	"$work/head.test" -test.run '^$' -test.bench "$bench" -test.benchmem >>"$out"
done
grep '^Benchmark' "$out"
echo
(cd "$root/bench" && go run ./cmd/benchratio -base=eppscoring <"$out") | grep -E ' (ns/span|allocs/span) '
