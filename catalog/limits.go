package catalog

import (
	"github.com/paved-dev/paved"
)

// Limits on one query, so that no request can make the database build a
// statement it refuses (SQLite's "too many terms") or spend minutes on
// one. They are documented in docs/api.md.
const (
	// MaxFilterSets bounds the OR'ed filter sets (repeated filter=).
	MaxFilterSets = 100
	// MaxFilterConditions bounds the conditions of all sets together.
	MaxFilterConditions = 200
	// MaxFilterValues bounds the values of all conditions together.
	MaxFilterValues = 1000
	// MaxOrderFields bounds the sort keys.
	MaxOrderFields = 10
	// MaxFullTextFields bounds the fields a full-text term searches.
	MaxFullTextFields = 10
	// MaxFacets bounds the facets of one request.
	MaxFacets = 20
)

// checkFilter refuses filters past the limits, and malformed ones that
// did not come from ParseFilter (a cursor's): empty sets, conditions
// without a key, empty values.
func checkFilter(f Filter, field string) error {
	var d paved.Details
	conditions, values := 0, 0
	if len(f.Sets) > MaxFilterSets {
		d.Add(field, "%d filter sets; at most %d", len(f.Sets), MaxFilterSets)
	}
	for _, set := range f.Sets {
		if len(set) == 0 {
			d.Add(field, "a filter set has no conditions")
		}
		conditions += len(set)
		for _, c := range set {
			values += len(c.Values)
			if c.Key == "" {
				d.Add(field, "a condition has no key")
			}
			for _, v := range c.Values {
				if v == "" {
					d.Add(field, "condition %s has an empty value", c.Key)
				}
			}
		}
	}
	if conditions > MaxFilterConditions {
		d.Add(field, "%d conditions; at most %d", conditions, MaxFilterConditions)
	}
	if values > MaxFilterValues {
		d.Add(field, "%d values; at most %d", values, MaxFilterValues)
	}
	return d.Err("invalid filter")
}

// check refuses a query past the limits; field prefixes the details
// ("cursor" for a decoded cursor, "" for a query built from parameters).
func (q Query) check(field string) error {
	name := func(param string) string {
		if field != "" {
			return field
		}
		return param
	}
	if err := checkFilter(q.Filter, name("filter")); err != nil {
		return err
	}
	var d paved.Details
	if len(q.Order) > MaxOrderFields {
		d.Add(name("orderField"), "%d sort keys; at most %d", len(q.Order), MaxOrderFields)
	}
	for _, o := range q.Order {
		if o.Key == "" {
			d.Add(name("orderField"), "a sort key is empty")
		}
	}
	if len(q.FullTextFields) > MaxFullTextFields {
		d.Add(name("fullTextFilterFields"), "%d fields; at most %d", len(q.FullTextFields), MaxFullTextFields)
	}
	if q.Limit < 0 || q.Offset < 0 {
		d.Add(name("limit"), "limit and offset must not be negative")
	}
	return d.Err("invalid query")
}
