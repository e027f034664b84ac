package upstreamfixture

import (
	"testing"

	"github.com/scorelens/scorelens/scheduler/schema"
)

// TestFixturesMatchUpstreamAttributes checks the schema's listing of
// upstream's keys (schema.UpstreamAttributes) against upstream's own
// traces, both ways, for every scheduling span they hold; and that Compare
// can fail.
func TestFixturesMatchUpstreamAttributes(t *testing.T) {
	for _, file := range []string{Single, Disagg} {
		t.Run(file, func(t *testing.T) {
			shape, err := Load(file)
			if err != nil {
				t.Fatal(err)
			}
			n := 0
			for name, sh := range shape {
				listed := schema.UpstreamAttributes(name)
				if listed == nil {
					continue
				}
				n++
				want := map[string]schema.Type{}
				for _, a := range listed {
					want[a.Key] = a.Type
				}
				for k, typ := range sh.Keys {
					if want[k] != typ {
						t.Errorf("%s: upstream's %s (%v) listed as %v", name, k, typ, want[k])
					}
				}
				for k := range want {
					if _, ok := sh.Keys[k]; !ok {
						t.Errorf("%s: %s listed, not in upstream's traces", name, k)
					}
				}
			}
			if n < 5 {
				t.Errorf("only %d scheduling span names in %s", n, file)
			}

			// A shape compared with itself matches; one with a key more,
			// a key less or a type changed does not.
			if diffs, compared := Compare(shape, shape); len(diffs) > 0 || len(compared) < 5 {
				t.Errorf("fixture against itself: %v (compared %v)", diffs, compared)
			}
			bad := Shape{}
			for name, sh := range shape {
				c := *sh
				c.Keys = map[string]schema.Type{}
				for k, v := range sh.Keys {
					c.Keys[k] = v
				}
				bad[name] = &c
			}
			bad[schema.SpanScoring].Keys[schema.AttrScoringCandidates+".extra"] = schema.TypeInt
			delete(bad[schema.SpanPickEndpoints].Keys, schema.AttrPickerCandidates)
			delete(bad[schema.SpanPickEndpoints].Keys, schema.AttrPickerTopEndpoints) // omitted on purpose: no diff
			bad[schema.ScorerSpanPrefix].Keys[schema.AttrScorerWeight] = schema.TypeInt
			// our extensions pass with their own type only, on their own span
			bad[schema.ScorerSpanPrefix].Keys[schema.AttrScorerDecisive] = schema.TypeBool
			bad[schema.SpanScoring].Keys[schema.AttrScoringTied] = schema.TypeInt
			bad[schema.SpanScoring].Keys[schema.AttrScoringMargin] = schema.TypeInt         // wrong type: a diff
			bad[schema.SpanPickEndpoints].Keys[schema.AttrScorerDecisive] = schema.TypeBool // wrong span: a diff
			if diffs, _ := Compare(shape, bad); len(diffs) != 5 {
				t.Errorf("altered shape: %d differences %v, want 5", len(diffs), diffs)
			}
		})
	}
}
