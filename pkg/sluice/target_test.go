package sluice

import (
	"slices"
	"strings"
	"testing"
	"time"
)

func TestTargetValidation(t *testing.T) {
	s3 := []string{"-s3.buckets=logs", "-s3.endpoint=127.0.0.1:9000"}
	for _, tc := range []struct {
		name    string
		yaml    string
		args    []string
		want    []string // modules, when valid
		wantErr string
	}{
		{name: "default", want: []string{"compactor", "distributor", "ingester", "querier", "query-frontend"}},
		{name: "all on the filesystem", args: []string{"-target=all"}, want: []string{"compactor", "distributor", "ingester", "querier", "query-frontend"}},
		{name: "every group is all", args: []string{"-target=write,read,backend"}, want: []string{"compactor", "distributor", "ingester", "querier", "query-frontend"}},
		{name: "write", args: append([]string{"-target=write"}, s3...), want: []string{"distributor", "ingester"}},
		{name: "read", args: append([]string{"-target=read"}, s3...), want: []string{"querier", "query-frontend"}},
		{name: "backend", args: append([]string{"-target=backend"}, s3...), want: []string{"compactor"}},
		{name: "compactor", args: append([]string{"-target=compactor"}, s3...), want: []string{"compactor"}},
		{name: "querier alone", args: append([]string{"-target=querier"}, s3...), want: []string{"querier"}},
		{name: "module list with spaces", args: append([]string{"-target=distributor, ingester,querier"}, s3...), want: []string{"distributor", "ingester", "querier"}},
		{name: "yaml", yaml: "target: write,read\nstorage_config:\n  aws:\n    bucketnames: logs\n", want: []string{"distributor", "ingester", "querier", "query-frontend"}},
		{name: "flag over yaml", yaml: "target: write\nstorage_config:\n  aws:\n    bucketnames: logs\n", args: []string{"-target=compactor"}, want: []string{"compactor"}},

		{name: "compactor on the filesystem", args: []string{"-target=compactor"}, wantErr: `target: "compactor" runs only part of Sluice, which needs an object store every process shares`},
		{name: "write on the filesystem", args: []string{"-target=write"}, wantErr: "configure S3"},
		{name: "forced filesystem", yaml: "storage_config:\n  object_store: filesystem\n  aws:\n    bucketnames: logs\n", args: []string{"-target=read"}, wantErr: "configure S3"},
		{name: "distributor alone", args: append([]string{"-target=distributor"}, s3...), wantErr: `target: "distributor" runs a distributor without an ingester`},
		{name: "distributor and querier", args: append([]string{"-target=distributor,read"}, s3...), wantErr: "no remote ingesters"},
		{name: "ingester alone", args: append([]string{"-target=ingester"}, s3...), wantErr: `target: "ingester" runs an ingester without a distributor`},
		{name: "frontend alone", args: append([]string{"-target=query-frontend"}, s3...), wantErr: `target: "query-frontend" runs a query frontend without a querier`},
		{name: "unknown", args: append([]string{"-target=ruler"}, s3...), wantErr: `target: unknown name "ruler"`},
		{name: "empty", args: []string{"-target="}, wantErr: "target: \"\" has an empty name"},
		{name: "trailing comma", args: append([]string{"-target=write,"}, s3...), wantErr: "has an empty name"},
		{name: "refresh interval", args: []string{"-compactor.delete-request-store.refresh-interval=0s"}, wantErr: "compactor.delete_request_store_refresh_interval: must be positive"},
		{name: "absolute key prefix", yaml: "compactor:\n  delete_request_store_key_prefix: /deletes/\n", wantErr: "compactor.delete_request_store_key_prefix"},
		{name: "read with ingester addresses", args: append([]string{"-target=read", "-querier.ingester-addresses=10.0.0.1:3100, dns+write.ns.svc:3100"}, s3...), want: []string{"querier", "query-frontend"}},
		{name: "ingester addresses in yaml", yaml: "target: querier\nstorage_config:\n  aws:\n    bucketnames: logs\nquerier:\n  ingester_addresses: [dns+write:3100]\n  query_ingesters_within: 0s\n", want: []string{"querier"}},
		{name: "ingester addresses with an ingester", args: []string{"-querier.ingester-addresses=10.0.0.1:3100"}, wantErr: `querier.ingester_addresses: must be empty when the target ("all") runs an ingester`},
		{name: "ingester addresses with write", args: append([]string{"-target=write", "-querier.ingester-addresses=10.0.0.1:3100"}, s3...), wantErr: "querier.ingester_addresses: must be empty"},
		{name: "bad ingester address", args: append([]string{"-target=read", "-querier.ingester-addresses=write:http"}, s3...), wantErr: `querier.ingester_addresses: "write:http" has no valid port`},
		{name: "ingester address without port", yaml: "target: read\nstorage_config:\n  aws:\n    bucketnames: logs\nquerier:\n  ingester_addresses: [dns+write]\n", wantErr: `querier.ingester_addresses: "dns+write" is not host:port`},
		{name: "negative query_ingesters_within", args: []string{"-querier.query-ingesters-within=-1h"}, wantErr: "querier.query_ingesters_within: must not be negative"},
		{name: "negative chunk_retain_period", args: []string{"-ingester.chunks-retain-period=-1m"}, wantErr: "ingester.chunk_retain_period: must not be negative, got -1m0s"},
		{name: "negative chunk_retain_period in yaml", yaml: "ingester:\n  chunk_retain_period: -30s\n", wantErr: "ingester.chunk_retain_period: must not be negative"},
		{name: "key prefix with ..", yaml: "compactor:\n  delete_request_store_key_prefix: a/../b/\n", wantErr: "compactor.delete_request_store_key_prefix"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := loadYAML(t, tc.yaml, tc.args...)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("LoadConfig(%q, %q) = %v, want an error containing %q", tc.yaml, tc.args, err, tc.wantErr)
				}
				if strings.Count(err.Error(), "\n") > 1 {
					t.Errorf("error %q has more than the heading and one line", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("LoadConfig(%q, %q) = %v", tc.yaml, tc.args, err)
			}
			m, err := parseTarget(cfg.Target)
			if err != nil {
				t.Fatal(err)
			}
			if got := m.Names(); !slices.Equal(got, tc.want) {
				t.Fatalf("modules of %q = %v, want %v", cfg.Target, got, tc.want)
			}
		})
	}
}

func TestQuerierIngesterDefaults(t *testing.T) {
	cfg, err := loadYAML(t, "")
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Querier.QueryIngestersWithin.D() != 3*time.Hour || len(cfg.Querier.IngesterAddresses) != 0 {
		t.Fatalf("querier defaults = %s, %q; want 3h and no addresses", cfg.Querier.QueryIngestersWithin, cfg.Querier.IngesterAddresses)
	}
	y, err := cfg.YAML()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(y), "query_ingesters_within: 3h") || !strings.Contains(string(y), "ingester_addresses: []") {
		t.Fatalf("/config does not show the querier's ingester settings:\n%s", y)
	}
}

func TestDeleteRequestStoreDefaults(t *testing.T) {
	cfg, err := loadYAML(t, "")
	if err != nil {
		t.Fatal(err)
	}
	c := cfg.Compactor
	if c.DeleteRequestStoreKeyPrefix != "index/" || c.DeleteRequestStoreRefreshInterval.D() != time.Minute {
		t.Fatalf("delete request store defaults = %q, %s; want index/, 1m", c.DeleteRequestStoreKeyPrefix, c.DeleteRequestStoreRefreshInterval)
	}
}

func TestUploaderName(t *testing.T) {
	name := uploaderName(moduleSet{Compactor: true})
	if !strings.HasSuffix(name, "-compactor") || strings.ContainsAny(name, "/ ") {
		t.Fatalf("uploaderName(compactor) = %q, want <host>-compactor", name)
	}
	if got := uploaderName(moduleSet{Querier: true, QueryFrontend: true}); !strings.HasSuffix(got, "-querier-query-frontend") {
		t.Fatalf("uploaderName(read) = %q", got)
	}
}
