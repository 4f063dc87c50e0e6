package catalog

import (
	"fmt"
	"strings"

	"github.com/paved-dev/paved"
)

// Filter selects entities: any of its sets matches (OR), and a set matches
// when all its conditions do (AND). The zero Filter matches everything.
type Filter struct {
	Sets [][]Condition
}

// Condition tests one key. With no values it tests that the key exists;
// with several, that it has any of them. Keys and values are lowercase.
type Condition struct {
	Key    string
	Values []string
}

// relationPrefix marks keys that test relations: relations.ownedby=group:x.
const relationPrefix = "relations."

// ParseFilter parses Backstage filter parameters, one per repeated
// ?filter=: "kind=component,spec.type=service" or a bare "spec.owner". It
// returns a CodeInvalid error naming the parameter and the position of the
// first part that does not parse.
func ParseFilter(params []string) (Filter, error) {
	var f Filter
	for i, p := range params {
		set, err := parseFilterSet(p)
		if err != nil {
			return Filter{}, paved.Invalid("invalid filter", paved.Detail{
				Field: fmt.Sprintf("filter[%d]", i), Reason: err.Error(),
			})
		}
		if len(set) > 0 {
			f.Sets = append(f.Sets, set)
		}
	}
	if err := checkFilter(f, "filter"); err != nil {
		return Filter{}, err
	}
	return f, nil
}

func parseFilterSet(s string) ([]Condition, error) {
	var set []Condition
	index := map[string]int{}
	pos := 0
	for _, part := range strings.Split(s, ",") {
		start := pos
		pos += len(part) + 1
		if strings.TrimSpace(part) == "" {
			return nil, fmt.Errorf("position %d: empty condition in %q", start+1, s)
		}
		key, value, hasValue := strings.Cut(part, "=")
		key = strings.ToLower(strings.TrimSpace(key))
		value = strings.ToLower(strings.TrimSpace(value))
		switch {
		case key == "":
			return nil, fmt.Errorf("position %d: missing key before '=' in %q", start+1, s)
		case hasValue && value == "":
			return nil, fmt.Errorf("position %d: missing value after '%s=' in %q", start+len(part)+1, key, s)
		}
		i, ok := index[key]
		if !ok {
			i = len(set)
			index[key] = i
			set = append(set, Condition{Key: key})
		}
		if hasValue {
			set[i].Values = append(set[i].Values, value)
		}
	}
	return set, nil
}

// relationTypes maps lowercase relation types to their stored spelling.
var relationTypes = func() map[string]string {
	m := map[string]string{}
	for t := range inverse {
		m[strings.ToLower(t)] = t
	}
	return m
}()
