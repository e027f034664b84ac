// Command benchratio reads `go test -bench` output on stdin and prints, for
// benchmarks whose names differ only in an `impl=<x>` segment, the ratio of
// every implementation to a baseline, per metric unit:
//
//	go test -bench . -benchmem | benchratio -base=eppscoring
//	Processor/batch=clean: redaction/eppscoring ns/span = 14.2x (1234 / 86.9)
//
// Side-by-side ratios from one run are the only performance figures we
// quote: the machines are shared and absolute numbers drift.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
	"strings"
)

func main() {
	base := flag.String("base", "eppscoring", "impl every other impl is compared to")
	flag.Parse()
	if err := run(os.Stdin, os.Stdout, *base); err != nil {
		fmt.Fprintln(os.Stderr, "benchratio:", err)
		os.Exit(1)
	}
}

// result is one benchmark's metrics, averaged over repeated runs (-count).
type result struct {
	impl   string
	units  []string // in first-seen order
	sums   map[string]float64
	counts map[string]int
}

func (r *result) add(unit string, v float64) {
	if _, ok := r.sums[unit]; !ok {
		r.units = append(r.units, unit)
	}
	r.sums[unit] += v
	r.counts[unit]++
}

func (r *result) mean(unit string) (float64, bool) {
	n := r.counts[unit]
	if n == 0 {
		return 0, false
	}
	return r.sums[unit] / float64(n), true
}

// group is the benchmarks that differ only in their impl segment.
type group struct {
	label   string
	results []*result // in first-seen order
}

func run(in io.Reader, out io.Writer, base string) error {
	groups, err := parse(in)
	if err != nil {
		return err
	}
	if len(groups) == 0 {
		return fmt.Errorf("no benchmark lines with an impl=<name> segment on stdin")
	}
	for _, g := range groups {
		baseline := g.results[0]
		for _, r := range g.results {
			if r.impl == base {
				baseline = r
				break
			}
		}
		for _, r := range g.results {
			if r == baseline {
				continue
			}
			for _, unit := range baseline.units {
				bv, _ := baseline.mean(unit)
				v, ok := r.mean(unit)
				if !ok {
					continue
				}
				fmt.Fprintf(out, "%s: %s/%s %s = %s (%s / %s)\n",
					g.label, r.impl, baseline.impl, unit, ratio(v, bv), num(v), num(bv))
			}
		}
	}
	return nil
}

func parse(in io.Reader) ([]*group, error) {
	var groups []*group
	byLabel := map[string]*group{}
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 0, 64*1024), 1024*1024)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 4 || !strings.HasPrefix(fields[0], "Benchmark") {
			continue
		}
		label, impl, ok := splitImpl(fields[0])
		if !ok {
			continue
		}
		g := byLabel[label]
		if g == nil {
			g = &group{label: label}
			byLabel[label] = g
			groups = append(groups, g)
		}
		var r *result
		for _, x := range g.results {
			if x.impl == impl {
				r = x
			}
		}
		if r == nil {
			r = &result{impl: impl, sums: map[string]float64{}, counts: map[string]int{}}
			g.results = append(g.results, r)
		}
		// fields[1] is the iteration count; then value/unit pairs.
		for i := 2; i+1 < len(fields); i += 2 {
			v, err := strconv.ParseFloat(fields[i], 64)
			if err != nil {
				return nil, fmt.Errorf("benchmark %s: value %q: %w", fields[0], fields[i], err)
			}
			r.add(fields[i+1], v)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("reading benchmark output: %w", err)
	}
	return groups, nil
}

// splitImpl takes "BenchmarkX/a=1/impl=foo/b=2-8" apart into the group
// label "X/a=1/b=2" and the impl "foo". The "-8" GOMAXPROCS suffix goes.
func splitImpl(name string) (label, impl string, ok bool) {
	name = strings.TrimPrefix(name, "Benchmark")
	if i := strings.LastIndexByte(name, '-'); i >= 0 {
		if _, err := strconv.Atoi(name[i+1:]); err == nil {
			name = name[:i]
		}
	}
	segs := strings.Split(name, "/")
	kept := segs[:0]
	for _, s := range segs {
		if v, found := strings.CutPrefix(s, "impl="); found {
			impl = v
			continue
		}
		kept = append(kept, s)
	}
	if impl == "" {
		return "", "", false
	}
	return strings.Join(kept, "/"), impl, true
}

func ratio(v, base float64) string {
	switch {
	case base == 0 && v == 0:
		return "1.0x"
	case base == 0:
		return "inf"
	}
	r := v / base
	if r >= 10 || r == math.Trunc(r) {
		return strconv.FormatFloat(r, 'f', 1, 64) + "x"
	}
	return strconv.FormatFloat(r, 'f', 2, 64) + "x"
}

func num(v float64) string {
	return strconv.FormatFloat(v, 'g', 4, 64)
}
