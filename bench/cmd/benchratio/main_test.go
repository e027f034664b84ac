package main

import (
	"bytes"
	"strings"
	"testing"
)

const sample = `goos: linux
goarch: amd64
pkg: github.com/scorelens/scorelens/bench
BenchmarkProcessor/batch=clean/impl=eppscoring-2         	    1000	     50000 ns/op	        50.00 ns/span	         0.002 allocs/span	     120 B/op	       2 allocs/op
BenchmarkProcessor/batch=clean/impl=redaction-2          	     100	    700000 ns/op	       700.0 ns/span	         5.000 allocs/span	  200000 B/op	    5000 allocs/op
BenchmarkProcessor/batch=violations/impl=redaction-2     	     100	    800000 ns/op	       800.0 ns/span	         6.000 allocs/span	  300000 B/op	    6000 allocs/op
BenchmarkProcessor/batch=violations/impl=eppscoring-2    	    1000	     80000 ns/op	        80.00 ns/span	         0 allocs/span	       0 B/op	       0 allocs/op
BenchmarkConnector/batch=scoring/impl=spanmetrics/x=1-2  	     100	     3000 ns/op
BenchmarkConnector/batch=scoring/impl=eppscoring/x=1-2   	     100	     1000 ns/op
BenchmarkConnector/batch=scoring/impl=eppscoring/x=1-2   	     100	     2000 ns/op
BenchmarkOther-2                                         	     100	     1000 ns/op
PASS
`

func TestRun(t *testing.T) {
	var out bytes.Buffer
	if err := run(strings.NewReader(sample), &out, "eppscoring"); err != nil {
		t.Fatal(err)
	}
	got := out.String()
	for _, want := range []string{
		"Processor/batch=clean: redaction/eppscoring ns/op = 14.0x (7e+05 / 5e+04)\n",
		"Processor/batch=clean: redaction/eppscoring ns/span = 14.0x (700 / 50)\n",
		"Processor/batch=clean: redaction/eppscoring allocs/span = 2500.0x (5 / 0.002)\n",
		"Processor/batch=violations: redaction/eppscoring ns/span = 10.0x (800 / 80)\n",
		"Processor/batch=violations: redaction/eppscoring allocs/op = inf (6000 / 0)\n",
		// Repeated runs are averaged: eppscoring 1500 ns/op.
		"Connector/batch=scoring/x=1: spanmetrics/eppscoring ns/op = 2.0x (3000 / 1500)\n",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("output lacks %q; got:\n%s", want, got)
		}
	}
	if strings.Contains(got, "Other") {
		t.Errorf("benchmark without impl segment reported:\n%s", got)
	}
	if strings.Contains(got, "eppscoring/redaction") {
		t.Errorf("baseline flag ignored:\n%s", got)
	}
}

func TestRunOtherBase(t *testing.T) {
	var out bytes.Buffer
	if err := run(strings.NewReader(sample), &out, "redaction"); err != nil {
		t.Fatal(err)
	}
	if want := "Processor/batch=clean: eppscoring/redaction ns/span = 0.07x (50 / 700)\n"; !strings.Contains(out.String(), want) {
		t.Errorf("output lacks %q; got:\n%s", want, out.String())
	}
}

func TestRunErrors(t *testing.T) {
	tests := []struct{ name, in string }{
		{"no benchmarks", "PASS\nok\n"},
		{"bad value", "BenchmarkX/impl=a-2 10 abc ns/op\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := run(strings.NewReader(tt.in), &bytes.Buffer{}, "a"); err == nil {
				t.Fatal("want an error")
			}
		})
	}
}

func TestSplitImpl(t *testing.T) {
	tests := []struct{ in, label, impl string }{
		{"BenchmarkProcessor/batch=clean/impl=eppscoring-2", "Processor/batch=clean", "eppscoring"},
		{"BenchmarkP/impl=x/n=3", "P/n=3", "x"},
		{"BenchmarkP/impl=x-y", "P", "x-y"},
	}
	for _, tt := range tests {
		label, impl, ok := splitImpl(tt.in)
		if !ok || label != tt.label || impl != tt.impl {
			t.Errorf("splitImpl(%q) = %q, %q, %v", tt.in, label, impl, ok)
		}
	}
}
