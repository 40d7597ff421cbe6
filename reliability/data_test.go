package reliability

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"testing"
)

var (
	templatesOnce sync.Once
	templateDocs  []map[string]any
	templatesErr  error
)

// templates are the demo customers as the API returns them (every field filled, no write-only
// one), fetched once from a demo server: the material every organization of the suite is made of.
func templates(t testing.TB) []map[string]any {
	t.Helper()
	templatesOnce.Do(func() {
		dir, err := os.MkdirTemp("", "customer-api-reliability-demo-")
		if err != nil {
			templatesErr = err
			return
		}
		defer os.RemoveAll(dir)
		s := startServer(t, serverConfig{DataDir: dir, Demo: true})
		defer func() { s.cmd.Process.Kill(); <-s.exited }()
		for _, org := range []string{"org-retail", "org-wholesale"} {
			var list []map[string]any
			if templatesErr = getJSON(s.Base+apiPath+org, s.demo, &list); templatesErr != nil {
				return
			}
			templateDocs = append(templateDocs, list...)
		}
	})
	if templatesErr != nil || len(templateDocs) == 0 {
		t.Fatalf("demo customers: %v (%d)", templatesErr, len(templateDocs))
	}
	return templateDocs
}

// getJSON decodes the 200 answer of url into v.
func getJSON(url string, c creds, v any) error {
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", c.Bearer)
	req.Header.Set("token", c.Token)
	req.Header.Set("tenantId", c.Tenant)
	resp, err := plainClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(resp.Body)
		return fmt.Errorf("GET %s: %d %.300s", url, resp.StatusCode, body)
	}
	return json.NewDecoder(resp.Body).Decode(v)
}

// writeOrg writes an organization of n customers made of the demo customers to a file in dir
// and returns its path. Ids are <prefix>-<n>; a variant is appended to every customerName, so
// that two variants of one organization differ in every document.
func writeOrg(t testing.TB, dir, prefix string, n int, variant string) string {
	t.Helper()
	pool := templates(t)
	path := filepath.Join(dir, fmt.Sprintf("%s-%d%s.json", prefix, n, variant))
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	w := bufio.NewWriter(f)
	w.WriteString("[")
	for i := range n {
		c := maps.Clone(pool[i%len(pool)]["customer"].(map[string]any))
		c["id"] = fmt.Sprintf("cus-%s-%06d", prefix, i)
		if variant != "" {
			name, _ := c["customerName"].(string)
			c["customerName"] = name + " " + variant
		}
		doc, err := json.Marshal(map[string]any{"customer": c})
		if err != nil {
			t.Fatal(err)
		}
		if i > 0 {
			w.WriteString(",")
		}
		w.Write(doc)
	}
	w.WriteString("]")
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	return path
}

// seedMixed gives the server the suite's mixed workload: three tenants with organizations of 1,
// 10 and 100 customers, and one of 1 000, and returns one target per organization.
func seedMixed(t testing.TB, s *server) []*target {
	t.Helper()
	dir := t.TempDir()
	var targets []*target
	for _, tenant := range []string{"tenant-a", "tenant-b", "tenant-c"} {
		c := s.credentials(t, tenant)
		sizes := []int{1, 10, 100}
		if tenant == "tenant-a" {
			sizes = append(sizes, 1000)
		}
		for _, n := range sizes {
			org := fmt.Sprintf("org-%s-%d", tenant, n)
			s.importFile(t, tenant, org, writeOrg(t, dir, org, n, ""))
			targets = append(targets, &target{Creds: c, Org: org, Size: n})
		}
	}
	return targets
}
