package catalog_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/paved-dev/paved/catalog"
)

// Alias bombs are refused quickly, through ParseDocuments, whatever they
// expand to.
func TestParseDocumentsRefusesAliasBombs(t *testing.T) {
	laughs := "a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n"
	prev := "a"
	for _, name := range []string{"b", "c", "d", "e", "f", "g", "h", "i"} {
		laughs += name + ": &" + name + " [*" + prev + ",*" + prev + ",*" + prev + ",*" + prev + ",*" + prev + ",*" + prev + ",*" + prev + ",*" + prev + ",*" + prev + "]\n"
		prev = name
	}
	// Each level doubles a mapping's size: 2^40 values from 40 lines.
	doubling := "x0: &x0 {k: v}\n"
	for i := 1; i <= 40; i++ {
		doubling += fmt.Sprintf("x%d: &x%d {a: *x%d, b: *x%d}\n", i, i, i-1, i-1)
	}
	for name, doc := range map[string]string{"BillionLaughs": laughs, "Doubling": doubling} {
		t.Run(name, func(t *testing.T) {
			start := time.Now()
			_, err := catalog.ParseDocuments([]byte(doc))
			var syn *catalog.SyntaxError
			if !errors.As(err, &syn) || !strings.Contains(err.Error(), "alias bomb") {
				t.Fatalf("ParseDocuments = %v, want a syntax error naming the alias bomb", err)
			}
			if d := time.Since(start); d > 2*time.Second {
				t.Errorf("took %s", d)
			}
		})
	}
	// Ordinary aliases (a shared block used a few times) still work.
	docs, err := catalog.ParseDocuments([]byte("base: &b {owner: team-a, lifecycle: production}\none: *b\ntwo: *b\n"))
	if err != nil || docs[0].Value.(map[string]any)["two"].(map[string]any)["owner"] != "team-a" {
		t.Errorf("ordinary aliases: %v, %v", docs, err)
	}
}
