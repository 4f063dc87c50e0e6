package policies

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"

	"github.com/pmezard/go-difflib/difflib"
)

// FileDiff is how one module (or the data) changed between two versions.
type FileDiff struct {
	File string `json:"file"`
	// Status is added, removed or modified.
	Status string `json:"status"`
	// Unified is the change as a unified diff with three lines of context.
	Unified string `json:"unified"`
}

// VersionDiff is every change between two versions of a set; unchanged
// files are left out.
type VersionDiff struct {
	Set   string     `json:"set"`
	From  int        `json:"from"`
	To    int        `json:"to"`
	Files []FileDiff `json:"files"`
}

// dataFile is the name the parameters go by in a diff (and in a bundle).
const dataFile = "data.json"

// Diff compares two versions of a set module by module, and their data.
func Diff(from, to Version) (VersionDiff, error) {
	d := VersionDiff{Set: to.Set, From: from.Version, To: to.Version, Files: []FileDiff{}}
	paths := slices.Sorted(maps.Keys(from.Source.Modules))
	for p := range to.Source.Modules {
		if _, ok := from.Source.Modules[p]; !ok {
			paths = append(paths, p)
		}
	}
	slices.Sort(paths)
	for _, p := range paths {
		a, inA := from.Source.Modules[p]
		b, inB := to.Source.Modules[p]
		if fd, changed := diffFile(p, a, b, inA, inB, from.Version, to.Version); changed {
			d.Files = append(d.Files, fd)
		}
	}
	a, err := prettyData(from.Source.Data)
	if err != nil {
		return VersionDiff{}, err
	}
	b, err := prettyData(to.Source.Data)
	if err != nil {
		return VersionDiff{}, err
	}
	if fd, changed := diffFile(dataFile, a, b, true, true, from.Version, to.Version); changed {
		d.Files = append(d.Files, fd)
	}
	return d, nil
}

func diffFile(path, a, b string, inA, inB bool, from, to int) (FileDiff, bool) {
	if inA && inB && a == b {
		return FileDiff{}, false
	}
	status := "modified"
	switch {
	case !inA:
		status = "added"
	case !inB:
		status = "removed"
	}
	text, _ := difflib.GetUnifiedDiffString(difflib.UnifiedDiff{
		A: difflib.SplitLines(a), B: difflib.SplitLines(b),
		FromFile: fmt.Sprintf("v%d/%s", from, path), ToFile: fmt.Sprintf("v%d/%s", to, path),
		Context: 3,
	})
	return FileDiff{File: path, Status: status, Unified: text}, true
}

func prettyData(data map[string]any) (string, error) {
	if data == nil {
		data = map[string]any{}
	}
	b, err := json.MarshalIndent(data, "", "  ")
	if err != nil {
		return "", fmt.Errorf("encode data: %w", err)
	}
	return string(b) + "\n", nil
}
