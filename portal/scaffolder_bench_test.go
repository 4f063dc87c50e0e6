package portal

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"
	"time"

	"github.com/paved-dev/paved/internal/testsupport"
)

// fortyFiles is a dry-run request of a template whose skeleton has 40
// files of a service's usual kinds (code, manifests, CI, docs), each with
// a few expressions, a loop and a condition.
func fortyFiles() map[string]any {
	var files []any
	add := func(p, content string) {
		files = append(files, map[string]any{"path": p, "base64Content": base64.StdEncoding.EncodeToString([]byte(content))})
	}
	body := `# ${{ values.name }} (${{ values.owner | parseEntityRef | pick('name') }})
{% for env in values.environments %}
- ${{ env }}: replicas ${{ values.replicas }}{% if env == 'prod' %} (protected){% endif %}
{% endfor %}
image: ghcr.io/acme/${{ values.name | lower }}:${{ values.version }}
port: ${{ values.port }}
`
	for i := range 40 {
		dir := []string{"cmd", "internal", "deploy/base", "deploy/overlays", ".github/workflows", "docs"}[i%6]
		add(fmt.Sprintf("skeleton/%s/file-%02d.txt", dir, i), body)
	}
	tpl := map[string]any{"apiVersion": "scaffolder.backstage.io/v1beta3", "kind": "Template", "metadata": map[string]any{"name": "forty"},
		"spec": map[string]any{"owner": "team-a", "type": "service",
			"parameters": []any{map[string]any{"properties": map[string]any{"name": map[string]any{"type": "string"}}}},
			"steps": []any{map[string]any{"id": "fetch", "action": "fetch:template", "input": map[string]any{"url": "./skeleton",
				"values": map[string]any{"name": "${{ parameters.name }}", "owner": "group:default/team-a", "environments": []any{"dev", "staging", "prod"},
					"replicas": 3, "version": "1.0.0", "port": 8080}}}}}}
	return map[string]any{"template": tpl, "values": map[string]any{"name": "payments"}, "secrets": map[string]any{}, "directoryContents": files}
}

// BenchmarkDryRun measures POST /api/scaffolder/v2/dry-run of a 40-file
// template on Paved (through the handler) and on Backstage 4.2 (over
// loopback HTTP, as its clients call it), in one run. The target is p50 ≤
// 20 ms and faster than Backstage.
func BenchmarkDryRun(b *testing.B) {
	body, _ := json.Marshal(fortyFiles())
	b.Run("paved", func(b *testing.B) {
		s := scaffolderServer(b)
		var took []time.Duration
		defer func() { reportP50(b, took) }()
		for b.Loop() {
			start := time.Now()
			req := httptest.NewRequest(http.MethodPost, "/api/scaffolder/v2/dry-run", bytes.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			rec := httptest.NewRecorder()
			s.ServeHTTP(rec, req)
			if rec.Code != http.StatusOK {
				b.Fatalf("%d %s", rec.Code, rec.Body)
			}
			took = append(took, time.Since(start))
		}
	})
	b.Run("backstage", func(b *testing.B) {
		bs := testsupport.StartBackstage(b)
		var took []time.Duration
		defer func() { reportP50(b, took) }()
		for b.Loop() {
			start := time.Now()
			req, _ := http.NewRequest(http.MethodPost, bs.URL+"/api/scaffolder/v2/dry-run", bytes.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Authorization", "Bearer "+bs.Token)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				b.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				b.Fatalf("Backstage: %d", resp.StatusCode)
			}
			took = append(took, time.Since(start))
		}
	})
}

// reportP50 adds the median request time to a benchmark's figures.
func reportP50(b *testing.B, took []time.Duration) {
	if len(took) == 0 {
		return
	}
	slices.Sort(took)
	b.ReportMetric(float64(took[len(took)/2].Microseconds())/1000, "p50-ms")
}
