package catalog_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/paved-dev/paved/catalog"
	"github.com/paved-dev/paved/internal/testsupport"
)

// corpusDir holds real descriptor files with Backstage's verdicts (INDEX.md).
const corpusDir = "testdata/backstage-corpus"

// verdict is Paved's judgement of one file: a YAML error, or one validity
// per entity.
type verdict struct {
	yamlError bool
	valid     []bool
	reasons   [][]catalog.FieldError
}

func (v verdict) fileValid() bool {
	if v.yamlError || len(v.valid) == 0 {
		return false
	}
	for _, ok := range v.valid {
		if !ok {
			return false
		}
	}
	return true
}

func judge(t *testing.T, path string) verdict {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	docs, err := catalog.ParseDocuments(data)
	if err != nil {
		return verdict{yamlError: true}
	}
	var v verdict
	for _, d := range docs {
		errs := catalog.ValidateAssumingPlaceholders(d.Value)
		v.valid = append(v.valid, len(errs) == 0)
		v.reasons = append(v.reasons, errs)
	}
	return v
}

func corpusFiles(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(corpusDir, "[0-9][0-9][0-9]__*"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no corpus files in %s (%v)", corpusDir, err)
	}
	return files
}

var indexRow = regexp.MustCompile(`^\| (\d{3}) \|`)

// Every file gets the verdict Backstage gave it, as recorded in INDEX.md.
func TestCorpusMatchesRecordedVerdicts(t *testing.T) {
	index, err := os.ReadFile(filepath.Join(corpusDir, "INDEX.md"))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]bool{}
	sc := bufio.NewScanner(bytes.NewReader(index))
	for sc.Scan() {
		// | No. | repo | path | commit | bytes | kinds | verdict | note |
		if m := indexRow.FindStringSubmatch(sc.Text()); m != nil {
			cols := strings.Split(sc.Text(), "|")
			want[m[1]] = strings.HasPrefix(strings.TrimSpace(cols[7]), "VALID")
		}
	}
	files := corpusFiles(t)
	if len(want) != len(files) {
		t.Fatalf("INDEX.md has %d verdicts for %d files", len(want), len(files))
	}
	for _, f := range files {
		no := filepath.Base(f)[:3]
		t.Run(no, func(t *testing.T) {
			got := judge(t, f)
			if got.fileValid() != want[no] {
				t.Fatalf("%s: Paved says valid=%v, Backstage said valid=%v; Paved's errors: %v", filepath.Base(f), got.fileValid(), want[no], got.reasons)
			}
		})
	}
}

// backstageResult is one line of hack/backstage/validate.js.
type backstageResult struct {
	File      string `json:"file"`
	YAMLError string `json:"yamlError"`
	Entities  []struct {
		Valid bool   `json:"valid"`
		Error string `json:"error"`
	} `json:"entities"`
}

// Backstage's own validators, run now through npm, and Paved agree on every
// entity of every corpus file.
func TestCorpusMatchesBackstageValidators(t *testing.T) {
	dir := testsupport.BackstageNode(t)
	files := corpusFiles(t)
	abs := make([]string, len(files))
	for i, f := range files {
		abs[i], _ = filepath.Abs(f)
	}
	cmd := exec.Command("node", append([]string{"validate.js"}, abs...)...)
	cmd.Dir = dir
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("node validate.js: %v", err)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) != len(files) {
		t.Fatalf("validate.js judged %d files, want %d", len(lines), len(files))
	}
	for i, line := range lines {
		var bs backstageResult
		if err := json.Unmarshal([]byte(line), &bs); err != nil {
			t.Fatal(err)
		}
		got := judge(t, files[i])
		name := filepath.Base(files[i])
		if got.yamlError != (bs.YAMLError != "") {
			t.Errorf("%s: YAML error: Paved %v, Backstage %q", name, got.yamlError, bs.YAMLError)
			continue
		}
		if len(got.valid) != len(bs.Entities) {
			t.Errorf("%s: Paved found %d entities, Backstage %d", name, len(got.valid), len(bs.Entities))
			continue
		}
		for j, e := range bs.Entities {
			if got.valid[j] != e.Valid {
				t.Errorf("%s entity %d: Paved valid=%v %v; Backstage valid=%v %q", name, j, got.valid[j], got.reasons[j], e.Valid, e.Error)
			}
		}
	}
}
