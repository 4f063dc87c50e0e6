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

// searchRow is one flattened key/value of an entity.
type searchRow struct {
	UID      string  `gorm:"column:uid"`
	Key      string  `gorm:"column:key"`
	Value    *string `gorm:"column:value"`
	Original *string `gorm:"column:original"`
}

// searchRows flattens a descriptor into lowercase dotted keys; every item of
// an array is indexed under the array's key. Relations and status are not
// indexed here: relation filters use the relations table.
func searchRows(uid string, raw Raw) []searchRow {
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
			rows = append(rows, newSearchRow(uid, prefix, v))
		}
	}
	for k, v := range raw {
		if k != "relations" && k != "status" {
			walk(strings.ToLower(k), v)
		}
	}
	return rows
}

func newSearchRow(uid, key string, v any) searchRow {
	row := searchRow{UID: uid, Key: key}
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
	row.Value, row.Original = &lower, &s
	return row
}
