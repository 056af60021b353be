package shipper

import "testing"

func TestParseKey(t *testing.T) {
	check := func(key string, want shipped, ok bool) {
		t.Helper()
		got, gotOK := parseKey(key)
		if gotOK != ok || (ok && got != want) {
			t.Errorf("parseKey(%q) = %+v, %v, want %+v, %v", key, got, gotOK, want, ok)
		}
	}
	check("index/19723/fake/ingester-0.db", shipped{key: "index/19723/fake/ingester-0.db", day: 19723, tenant: "fake", name: "ingester-0"}, true)
	check("index/-3/t/n.db", shipped{key: "index/-3/t/n.db", day: -3, tenant: "t", name: "n"}, true)
	check("index/19723/fake/ingester-0", shipped{}, false)
	check("index/019723/fake/n.db", shipped{}, false)
	check("index/x/fake/n.db", shipped{}, false)
	check("index/1/fake/a/n.db", shipped{}, false)
	check("index/1/../n.db", shipped{}, false)
	check("chunks/1/fake/n.db", shipped{}, false)
	check("index/1/fake/.db", shipped{}, false)
	check("index/1/fake/a b.db", shipped{}, false)
	if k := tableKey(5, "fake", "n"); k != "index/5/fake/n.db" {
		t.Errorf("tableKey = %q", k)
	}
}

func FuzzParseKey(f *testing.F) {
	for _, s := range []string{"index/19723/fake/ingester-0.db", "index/-1/a/b.db", "index/1//x.db", "index/"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, key string) {
		s, ok := parseKey(key)
		if !ok {
			return
		}
		if back := tableKey(s.day, s.tenant, s.name); back != key {
			t.Fatalf("parseKey(%q) = %+v, which makes key %q", key, s, back)
		}
	})
}

func TestConfigValidate(t *testing.T) {
	for name, tc := range map[string]struct {
		cfg Config
		ok  bool
	}{
		"zero":          {Config{}, true},
		"negative ttl":  {Config{CacheTTL: -1}, false},
		"bad name":      {Config{IngesterName: "a/b"}, false},
		"good name":     {Config{IngesterName: "ingester-0.zone_a"}, true},
		"dot-dot name":  {Config{IngesterName: ".."}, false},
		"negative sync": {Config{ResyncInterval: -1}, false},
	} {
		if err := tc.cfg.Validate(); (err == nil) != tc.ok {
			t.Errorf("%s: Validate() = %v, want ok=%v", name, err, tc.ok)
		}
	}
	if got := sanitizeName("host/name:1"); got != "host_name_1" {
		t.Errorf("sanitizeName = %q", got)
	}
}
