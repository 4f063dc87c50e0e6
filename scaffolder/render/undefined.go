package render

import (
	"fmt"
	"slices"

	"github.com/nikolalohinski/gonja/v2/exec"
)

// undefinedKey names a render's log of outputs that printed undefined.
const undefinedKey = "__paved_undefined"

// undefinedLog records which outputs printed an undefined value: on
// Backstage a misspelt ${{ values.nmae }} silently renders empty; here it
// is a warning with its line. Outputs of CI contexts are left to
// ciWarnings.
type undefinedLog struct {
	texts   []string
	lines   []int
	skip    map[int]bool
	printed []int
}

func noteUndefined(e *exec.Evaluator, index int) {
	v, _ := e.Environment.Context.Get(undefinedKey)
	log, ok := v.(*undefinedLog)
	if !ok || index < 0 || index >= len(log.texts) || log.skip[index] || slices.Contains(log.printed, index) {
		return
	}
	log.printed = append(log.printed, index)
}

// undefinedWarnings are the render's outputs that printed undefined, in
// the order of the template.
func undefinedWarnings(ctx *exec.Context) []Warning {
	v, _ := ctx.Get(undefinedKey)
	log, ok := v.(*undefinedLog)
	if !ok {
		return nil
	}
	slices.Sort(log.printed)
	out := make([]Warning, 0, len(log.printed))
	for _, i := range log.printed {
		out = append(out, Warning{Line: log.lines[i], Message: fmt.Sprintf("${{ %s }} rendered empty: it is undefined", log.texts[i])})
	}
	return out
}
