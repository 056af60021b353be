package validation_test

import (
	"bytes"
	"flag"
	"maps"
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/sluicelog/sluice/pkg/flagext"
	"github.com/sluicelog/sluice/pkg/validation"
)

// defaults returns the limits with their flag defaults, as the server starts from them.
func defaults() validation.Limits {
	var l validation.Limits
	l.RegisterFlags(flag.NewFlagSet("limits", flag.ContinueOnError))
	return l
}

// load decodes a limits block over the defaults as the server does (strictly) and validates it.
func load(t testing.TB, block string) (validation.Limits, error) {
	t.Helper()
	l := defaults()
	dec := yaml.NewDecoder(strings.NewReader(block))
	dec.KnownFields(true)
	if err := dec.Decode(&l); err != nil {
		return l, err
	}
	return l, l.Validate()
}

// loki3Keys returns the keys of testdata/loki3_limits.yaml, the list of Loki 3's limits.
func loki3Keys(t testing.TB) []string {
	t.Helper()
	b, err := os.ReadFile("testdata/loki3_limits.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]yaml.Node
	if err := yaml.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return slices.Sorted(maps.Keys(m))
}

// TestEveryLokiKeyLoads: every key of Loki 3's limits_config loads with a value other than
// Loki's default, the keys Sluice knows are exactly Loki's (no key is forgotten, none is
// invented), and the keys Sluice acts on took their values.
func TestEveryLokiKeyLoads(t *testing.T) {
	b, err := os.ReadFile("testdata/loki3_limits.yaml")
	if err != nil {
		t.Fatal(err)
	}
	l, err := load(t, string(b))
	if err != nil {
		t.Fatalf("Loki 3's limits: %v", err)
	}

	known := validation.LokiOnlyKeys()
	typ := reflect.TypeFor[validation.Limits]()
	for i := range typ.NumField() {
		name, opts, _ := strings.Cut(typ.Field(i).Tag.Get("yaml"), ",")
		if !strings.Contains(opts, "inline") {
			known = append(known, name)
		}
	}
	slices.Sort(known)
	if want := loki3Keys(t); !slices.Equal(known, want) {
		t.Errorf("keys Sluice knows and Loki 3's differ:\n  only Sluice: %v\n  only Loki:   %v", minus(known, want), minus(want, known))
	}

	for _, c := range []struct {
		key       string
		got, want any
	}{
		{"max_cache_freshness_per_query", l.MaxCacheFreshness.D(), 5 * time.Minute},
		{"max_streams_matchers_per_query", l.MaxStreamsMatchersPerQuery, 50},
		{"max_query_range", l.MaxQueryRange.D(), 48 * time.Hour},
		{"required_labels", []string(l.RequiredLabels), []string{"namespace"}},
		{"minimum_labels_number", l.RequiredNumberLabels, 2},
		{"volume_enabled", l.VolumeEnabled, false},
		{"volume_max_series", l.VolumeMaxSeries, 500},
		{"deletion_mode", l.DeletionMode, validation.DeletionFilterOnly},
		{"per_tenant_override_config", l.PerTenantOverrideConfig, "${OVERRIDES_FILE}"},
		{"per_tenant_override_period", l.PerTenantOverridePeriod.D(), time.Second},
		{"ingestion_rate_mb", l.IngestionRateMB, 8.0},
		{"max_chunks_per_query", l.MaxChunksPerQuery, 1000000},
		{"max_query_bytes_read", l.MaxQueryBytesRead, flagext.ByteSize(10 << 30)},
		{"max_querier_bytes_read", l.MaxQuerierBytesRead, flagext.ByteSize(100 << 30)},
	} {
		if !reflect.DeepEqual(c.got, c.want) {
			t.Errorf("%s = %v, want %v", c.key, c.got, c.want)
		}
	}
	if l.DeletesFromStorage() || !l.DeletionEnabled() {
		t.Errorf("filter-only: DeletesFromStorage %v, DeletionEnabled %v; want false, true", l.DeletesFromStorage(), l.DeletionEnabled())
	}
}

func minus(a, b []string) []string {
	var out []string
	for _, s := range a {
		if !slices.Contains(b, s) {
			out = append(out, s)
		}
	}
	return out
}

// TestIgnoredLokiSettings: each ignored key is listed once with its reason; values that are
// what Sluice does anyway and keys Sluice acts on are not.
func TestIgnoredLokiSettings(t *testing.T) {
	l, err := load(t, `
shard_streams: {enabled: true}
bloom_creation_enabled: true
unordered_writes: true
ingestion_rate_strategy: global
max_query_bytes_read: 1GB
volume_enabled: false
`)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, s := range l.IgnoredLokiSettings() {
		key, reason, ok := strings.Cut(s, ": ")
		if !ok || reason == "" {
			t.Errorf("%q has no reason", s)
		}
		got = append(got, key)
	}
	want := []string{"bloom_creation_enabled", "ingestion_rate_strategy", "shard_streams"}
	if !slices.Equal(got, want) {
		t.Errorf("ignored = %v, want %v", got, want)
	}
}

// TestLokiKeyErrors: a value of the wrong type, a value Sluice refuses and a key that is not
// Loki's are errors naming the key; every bad key of a block is reported, not just the first.
func TestLokiKeyErrors(t *testing.T) {
	future := time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
	for _, c := range []struct {
		block string
		want  []string
	}{
		{"split_metadata_queries_by_interval: daily\n", []string{`limits_config.split_metadata_queries_by_interval: invalid duration "daily"`}},
		{"cardinality_limit: lots\n", []string{"limits_config.cardinality_limit: cannot unmarshal !!str `lots` into int"}},
		{"shard_streams: {enabld: true}\n", []string{"limits_config.shard_streams: field enabld not found"}},
		{"bloom_max_block_size: huge\n", []string{"limits_config.bloom_max_block_size: invalid size"}},
		{"ingestion_rate_strategy: regional\n", []string{`limits_config.ingestion_rate_strategy: "regional" is not one of local, global`}},
		{"block_ingestion_until: next tuesday\n", []string{"limits_config.block_ingestion_until: invalid time"}},
		// Keys Sluice acts on are named too, all of them at once.
		{"max_cache_freshness_per_query: soon\nvolume_max_series: many\nmax_query_length: 1x\n", []string{
			`limits_config.max_cache_freshness_per_query: invalid duration "soon"`,
			"limits_config.volume_max_series: cannot unmarshal !!str `many` into int",
			`limits_config.max_query_length: invalid duration "1x"`}},
		{"deletion_mode: shred\n", []string{`limits_config.deletion_mode: "shred" is not one of disabled, filter-only, filter-and-delete`}},
		{"volume_max_series: -1\n", []string{"limits_config.volume_max_series: must not be negative"}},
		// Not Loki's.
		{"max_querry_series: 5\n", []string{"limits_config.max_querry_series: unknown setting"}},
		// Refused.
		{"block_ingestion_until: " + future + "\n", []string{"limits_config.block_ingestion_until: Sluice cannot block ingestion"}},
		{"block_ingestion_policy_until: {finance: " + future + "}\n", []string{"limits_config.block_ingestion_policy_until: Sluice cannot block ingestion"}},
		{"enforced_labels: [team]\n", []string{"limits_config.enforced_labels: Sluice cannot refuse streams that lack these labels"}},
		{"policy_enforced_labels: {'*': [team]}\n", []string{"limits_config.policy_enforced_labels: Sluice cannot refuse streams"}},
		{"s3_sse_type: SSE-KMS\n", []string{"limits_config.s3_sse_type: Sluice cannot encrypt"}},
	} {
		_, err := load(t, c.block)
		if err == nil {
			t.Errorf("%q loaded, want an error", c.block)
			continue
		}
		for _, w := range c.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%q: err = %v, want it to contain %q", c.block, err, w)
			}
		}
	}
}

// TestLokiKeysOfACopy: a tenant's limits start as a copy of the defaults; decoding the
// tenant's block must not add its Loki settings to the defaults', and the copy keeps only its
// own.
func TestLokiKeysOfACopy(t *testing.T) {
	base, err := load(t, "bloom_creation_enabled: true\n")
	if err != nil {
		t.Fatal(err)
	}
	tenant := base
	dec := yaml.NewDecoder(bytes.NewReader([]byte("cardinality_limit: 5\n")))
	dec.KnownFields(true)
	if err := dec.Decode(&tenant); err != nil {
		t.Fatal(err)
	}
	if got := base.IgnoredLokiSettings(); len(got) != 1 || !strings.HasPrefix(got[0], "bloom_creation_enabled:") {
		t.Errorf("defaults' ignored settings after decoding a copy = %v, want only bloom_creation_enabled", got)
	}
	if got := tenant.IgnoredLokiSettings(); len(got) != 1 || !strings.HasPrefix(got[0], "cardinality_limit:") {
		t.Errorf("copy's ignored settings = %v, want only cardinality_limit", got)
	}
}

// TestLimitsYAMLHidesLokiSettings: rendering the limits (GET /config) leaves the ignored Loki
// settings out (the ruler's hold credentials) and keeps the rest.
func TestLimitsYAMLHidesLokiSettings(t *testing.T) {
	l, err := load(t, "ruler_remote_write_sigv4_config: {secret_key: hunter2}\nvolume_max_series: 7\n")
	if err != nil {
		t.Fatal(err)
	}
	out, err := yaml.Marshal(&l)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(out), "hunter2") || !strings.Contains(string(out), "volume_max_series: 7") {
		t.Errorf("YAML of the limits:\n%s\nwant volume_max_series: 7 and no sigv4 secret", out)
	}
}
