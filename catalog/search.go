package catalog

import (
	"strconv"
	"strings"
)

// Limits from Backstage's search table: longer keys are not indexed, and
// longer values are indexed as present but without a value.
const (
	maxSearchKey   = 200
	maxSearchValue = 200
)

// searchRow is one flattened key/value of an entity: Value is lowercase,
// nil for a present key without a usable value; Original is the value as
// written when it differs from Value.
type searchRow struct {
	EntityID int64   `gorm:"column:entity_id"`
	Key      string  `gorm:"column:key"`
	Value    *string `gorm:"column:value"`
	Original *string `gorm:"column:original"`
}

// searchRows flattens a descriptor into lowercase dotted keys; every item of
// an array is indexed under the array's key. Relations and status are not
// indexed here: relation filters use the relations table.
func searchRows(raw Raw) []searchRow {
	var rows []searchRow
	var walk func(prefix string, v any)
	walk = func(prefix string, v any) {
		switch t := v.(type) {
		case map[string]any:
			for k, c := range t {
				key := strings.ToLower(k)
				if prefix != "" {
					key = prefix + "." + key
				}
				walk(key, c)
			}
		case []any:
			for _, item := range t {
				walk(prefix, item)
			}
		default:
			if prefix == "" || len(prefix) > maxSearchKey {
				return
			}
			rows = append(rows, newSearchRow(prefix, v))
		}
	}
	for k, v := range raw {
		if k != "relations" && k != "status" {
			walk(strings.ToLower(k), v)
		}
	}
	return rows
}

func newSearchRow(key string, v any) searchRow {
	row := searchRow{Key: key}
	var s string
	switch t := v.(type) {
	case nil:
		return row
	case string:
		s = t
	case bool:
		s = strconv.FormatBool(t)
	case int64:
		s = strconv.FormatInt(t, 10)
	case float64:
		s = strconv.FormatFloat(t, 'f', -1, 64)
	default:
		return row
	}
	if len(s) > maxSearchValue {
		return row
	}
	lower := strings.ToLower(s)
	row.Value = &lower
	if lower != s {
		row.Original = &s
	}
	return row
}

// searchText is what full-text search finds through the trigram index:
// the lowercase name and title. A newline separates them because no search
// term contains one.
func searchText(raw Raw) string {
	meta := raw.Metadata()
	name, _ := meta["name"].(string)
	title, _ := meta["title"].(string)
	return strings.ToLower(name + "\n" + title)
}
