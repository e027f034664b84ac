package eppscoringprocessor

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/scorelens/scorelens/scheduler/schema"
)

// putSchemaValue sets key to a value of the schema type t that names no
// endpoint.
func putSchemaValue(t *testing.T, m pcommon.Map, key string, typ schema.Type) {
	switch typ {
	case schema.TypeString:
		m.PutStr(key, "llama-3")
	case schema.TypeInt:
		m.PutInt(key, 3)
	case schema.TypeFloat:
		m.PutDouble(key, 0.25)
	case schema.TypeBool:
		m.PutBool(key, true)
	default:
		t.Fatalf("%s: schema type %v has no test value", key, typ)
	}
}

// TestEverySchemaKeySurvives: every key the schema lists for the scoring
// and scorer spans, with its type, passes the strip mode untouched, our
// extensions (schema.Extension: the decision signals) included.
func TestEverySchemaKeySurvives(t *testing.T) {
	b := newTraceBuilder()
	spans := map[schema.SpanKind]ptrace.Span{schema.Scoring: b.scoring(), schema.Scorer: b.scorer(prefixScorer, prefixScorer)}
	extensions := 0
	for kind, sp := range spans {
		sp.Attributes().Clear()
		for _, a := range schema.Attributes(kind) {
			putSchemaValue(t, sp.Attributes(), a.Key, a.Type)
			if schema.Extension(kind, a.Key) != schema.TypeNone {
				extensions++
			}
		}
	}
	require.Equal(t, 3, extensions, "the decision signals are listed by schema.Attributes")
	want := ptrace.NewTraces()
	b.td.CopyTo(want)
	p := newTestProcessor(t, createDefaultConfig())
	var tl tally
	p.apply(b.td, &tl)
	assert.Zero(t, tl.findings())
	assert.Equal(t, want, b.td)
	_, err := p.processTraces(context.Background(), b.td)
	require.NoError(t, err)
	assert.Equal(t, want, b.td)
}
