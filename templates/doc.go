// Package templates embeds the built-in golden-path templates as data:
// each a folder with template.yaml and what it fetches (skeleton/,
// tests/). paved serve registers every one in the catalog at start, as
// the location embedded:///FOLDER/template.yaml.
package templates

import (
	"embed"
	"io/fs"
	"slices"
)

// The folders are read whole, dotfiles too (a skeleton's .github/ and
// .dockerignore); this package's Go files come along and are ignored.
//
//go:embed all:*
var files embed.FS

// FS holds the built-in templates.
var FS fs.FS = files

// Dirs lists the folders of FS that hold a template.yaml, sorted.
func Dirs() []string {
	entries, _ := fs.ReadDir(files, ".")
	var out []string
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		if _, err := fs.Stat(files, e.Name()+"/template.yaml"); err == nil {
			out = append(out, e.Name())
		}
	}
	slices.Sort(out)
	return out
}
